package stripehook

import (
	"encoding/json"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Subscriptions are found by what only the account's keys set: checkout
// writes subscription_id in the session's metadata and, through
// subscription_data.metadata, the subscription's, which Stripe shows on
// its invoices as subscription_details.metadata. An order's order_id never
// names a subscription, nor subscription_id an order: each kind of event
// reads its own key only.
const subscriptionKey = "subscription_id"

// statuses maps a Stripe subscription's status to the contract's. A status
// not listed (one Stripe may add) is carried as no snapshot at all.
var statuses = map[string]subscription.Status{
	"trialing":           subscription.Trialing,
	"active":             subscription.Active,
	"past_due":           subscription.PastDue,
	"unpaid":             subscription.Halted, // retries exhausted, the subscription kept
	"paused":             subscription.Paused, // a trial ended without a payment method
	"canceled":           subscription.Canceled,
	"incomplete":         subscription.Pending, // the first invoice is not paid yet
	"incomplete_expired": subscription.Expired, // and never was, within 23 hours
}

// subscriptionFields are what jampay reads of a Subscription object.
type subscriptionFields struct {
	// The current period is on the subscription at API versions before
	// 2025-03-31 ("basil"), and on each of its items from then on.
	CurrentPeriodStart int64 `json:"current_period_start"`
	CurrentPeriodEnd   int64 `json:"current_period_end"`
	Items              struct {
		Data []struct {
			CurrentPeriodStart int64 `json:"current_period_start"`
			CurrentPeriodEnd   int64 `json:"current_period_end"`
		} `json:"data"`
	} `json:"items"`
	TrialEnd          int64 `json:"trial_end"`
	CancelAtPeriodEnd bool  `json:"cancel_at_period_end"`
	// CancelAt is set when the subscription is to end at a given time:
	// the Dashboard and the billing portal may cancel that way instead of
	// with cancel_at_period_end.
	CancelAt int64 `json:"cancel_at"`
}

// invoiceFields are what jampay reads of an Invoice object.
type invoiceFields struct {
	AmountPaid    int64  `json:"amount_paid"`
	BillingReason string `json:"billing_reason"`
	// Before 2025-03-31 an invoice names its subscription in
	// "subscription" (see object) and the subscription's metadata in
	// subscription_details; from then on both are under parent.
	SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	Parent              *struct {
		SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	} `json:"parent"`
	Lines struct {
		Data []struct {
			Period struct {
				Start int64 `json:"start"`
				End   int64 `json:"end"`
			} `json:"period"`
		} `json:"data"`
	} `json:"lines"`
	LastFinalizationError *stripeError `json:"last_finalization_error"`
}

type subscriptionDetails struct {
	Metadata     map[string]string `json:"metadata"`
	Subscription expandable        `json:"subscription"`
}

// Subscription is what jampay reads of a Stripe subscription object, as
// an event carries it or the API answers with it.
type Subscription struct {
	// Facts is the snapshot: the subscription's id, status in the
	// contract's words, current period, trial end and cancellation.
	Facts order.SubFacts
	// ID is jampay's subscription id from the object's metadata, "" when
	// jampay did not make it.
	ID string
	// Customer is Stripe's customer (cus_…).
	Customer string
}

// ReadSubscription reads a Stripe Subscription object (the JSON of
// data.object in a customer.subscription.* event, or of the API's answer)
// with the one mapping the webhooks use, so what the gateway's answer says
// and what Stripe's event says cannot differ.
func ReadSubscription(obj []byte) (Subscription, error) {
	var o object
	if err := json.Unmarshal(obj, &o); err != nil || o.ID == "" || (o.Object != "" && o.Object != "subscription") {
		return Subscription{}, order.Errorf(order.CodeInvalidPayload, "The body is not a Stripe subscription.")
	}
	return Subscription{Facts: o.subscriptionFacts(), ID: o.Metadata[subscriptionKey], Customer: string(o.Customer)}, nil
}

// subscriptionFacts is the snapshot a Subscription object is.
func (o *object) subscriptionFacts() order.SubFacts {
	start, end := o.CurrentPeriodStart, o.CurrentPeriodEnd
	if end == 0 {
		// jampay's subscriptions have one item, so its period is theirs.
		for _, it := range o.Items.Data {
			if it.CurrentPeriodEnd != 0 {
				start, end = it.CurrentPeriodStart, it.CurrentPeriodEnd
				break
			}
		}
	}
	return order.SubFacts{
		Ref:         o.ID,
		Status:      string(statuses[o.Status]),
		PeriodStart: unixTime(start),
		PeriodEnd:   unixTime(end),
		TrialEnd:    unixTime(o.TrialEnd),
		// Either way, the subscription ends and is not renewed.
		CancelAtPeriodEnd: o.CancelAtPeriodEnd || o.CancelAt != 0,
	}
}

// decodeSubscription fills e from a customer.subscription.* event's object.
func decodeSubscription(e *order.Event, o *object) {
	e.OrderID = o.Metadata[subscriptionKey]
	e.Refs = []string{o.ID}
	f := o.subscriptionFacts()
	e.Sub = &f
}

// decodeSubscriptionSession fills e from a Checkout Session in
// subscription mode, the one jampay made for the subscription: it names
// the subscription Stripe made once the customer completed it.
func decodeSubscriptionSession(e *order.Event, o *object) {
	e.OrderID = o.Metadata[subscriptionKey]
	e.Refs = order.Refs(o.ID, string(o.Subscription))
	e.Sub = &order.SubFacts{Ref: string(o.Subscription)}
}

// decodeInvoice fills e from an invoice event's object. An invoice of no
// subscription (one the owner sent by hand) is not jampay's.
func decodeInvoice(e *order.Event, o *object) {
	ref, md := o.Subscription, map[string]string(nil)
	if o.SubscriptionDetails != nil {
		md = o.SubscriptionDetails.Metadata
	}
	if p := o.Parent; p != nil && p.SubscriptionDetails != nil && p.SubscriptionDetails.Subscription != "" {
		ref, md = p.SubscriptionDetails.Subscription, p.SubscriptionDetails.Metadata
	}
	if ref == "" {
		e.Kind = order.KindIgnored
		return
	}
	e.OrderID = md[subscriptionKey]
	e.Refs = []string{string(ref)}
	e.Sub = &order.SubFacts{Ref: string(ref), Renewal: o.ID}
	// The charge's PaymentIntent: indexed with the renewal, so a refund or
	// a dispute of it (named only by it) reaches the subscription.
	e.PaymentRef = o.PaymentIntent.ID
	switch e.Kind {
	case order.KindRenewalPaid:
		e.Amount, e.Currency = o.AmountPaid, o.Currency
		// The subscription's line: the invoice's own period_start and
		// period_end are the previous period's (and on the first invoice,
		// both its creation).
		if len(o.Lines.Data) > 0 {
			p := o.Lines.Data[0].Period
			e.Sub.PeriodStart, e.Sub.PeriodEnd = unixTime(p.Start), unixTime(p.End)
		}
		e.Sub.FirstInvoice = o.BillingReason == "subscription_create"
	case order.KindRenewalFailed:
		const plain = "The subscription's payment did not go through."
		e.Reason = o.LastFinalizationError.reason(o.PaymentIntent.Failure.reason(plain))
	}
}

// unixTime is a Stripe timestamp as a time, zero for none.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
