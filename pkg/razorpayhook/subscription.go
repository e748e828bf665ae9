package razorpayhook

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
)

// decodeSubscription reads a subscription.* event: the snapshot of the
// subscription in payload.subscription.entity, read by the same mapping as
// the Subscriptions API's answers (razorpaysub), and for
// subscription.charged the payment that paid the billing cycle.
//
// Provenance (invariant 9): jampay's checkout is the Razorpay subscription
// itself, so the event belongs to the subscription whose own SessionRef is
// the subscription id it names, and to no other. OrderID stays empty: the
// subscription's own notes (set by jampay at creation) are not needed to
// find it, and a payment's notes, which Checkout.js takes from the
// browser, are never read.
func decodeSubscription(re rzpEvent, et EventType, e order.Event) (order.Event, error) {
	var sub razorpaysub.Entity
	if sp := re.Payload.Subscription; sp == nil || json.Unmarshal(sp.Entity, &sub) != nil || !strings.HasPrefix(sub.ID, "sub_") {
		return order.Event{}, order.Errorf(order.CodeInvalidPayload, "The %s event has no subscription.", re.Event)
	}
	// A status Razorpay does not document maps to "": the event is still
	// the subscription's (recorded, its period read), without a snapshot.
	facts := sub.Facts(e.Created, false)
	e.Kind, e.SessionRef = et.Kind, sub.ID
	e.Refs = order.Refs(sub.ID)

	var pay *entity
	if p := re.Payload.Payment; p != nil && p.Entity.ID != "" {
		pay = &p.Entity
	}
	switch {
	case et.Kind == order.KindRenewalPaid:
		if pay == nil {
			return order.Event{}, order.Errorf(order.CodeInvalidPayload, "The %s event has no payment.", re.Event)
		}
		// The billing cycle this payment paid for is the entity's current
		// one; the first invoice is the one that starts the subscription.
		e.PaymentRef = pay.ID
		e.Amount, e.Currency = pay.Amount, strings.ToLower(pay.Currency)
		e.Refs = order.Refs(sub.ID, pay.ID, pay.OrderID)
		facts.Renewal = pay.ID
		facts.FirstInvoice = sub.PaidCount == 1
	case facts.Status == "past_due" || facts.Status == "halted":
		// A renewal's charge failed (pending: Razorpay retries it;
		// halted: it stopped). Razorpay's samples carry no payment here;
		// when one comes, its error is the reason.
		reason := "A renewal payment failed; Razorpay will retry it."
		if facts.Status == "halted" {
			reason = "A renewal payment failed and Razorpay has stopped retrying it."
		}
		if pay != nil {
			reason = cmp.Or(pay.ErrorDescription, pay.ErrorReason, reason)
		}
		e.Reason = reason
	}
	e.Sub = &facts
	return e, nil
}

// subscriptionOfPayment sends a payment, order, refund or dispute event
// to the subscription its payment was charged for, when Razorpay names the
// subscription on the payment entity itself. Razorpay's documented
// payloads do not (a subscription's charge carries invoice_id and the
// order Razorpay made for the invoice, both indexed to the subscription
// once its subscription.charged is applied); the field is read only
// because it is Razorpay's to set. The payment's notes are never read:
// a notes.subscription_id there is whatever the browser said.
func subscriptionOfPayment(e *order.Event, pay entity) {
	if !strings.HasPrefix(pay.SubscriptionID, "sub_") {
		return
	}
	e.Sub = &order.SubFacts{Ref: pay.SubscriptionID}
	// It goes to a subscription, never to an order: a receipt on an order
	// Razorpay made for the invoice names none of jampay's orders.
	e.OrderID = ""
	// The subscription is jampay's checkout: the event names it as its
	// session, and the Razorpay order (made by Razorpay for the invoice,
	// not by jampay) is only one more reference.
	e.SessionRef = pay.SubscriptionID
	e.Refs = order.Refs(append([]string{pay.SubscriptionID}, e.Refs...)...)
}
