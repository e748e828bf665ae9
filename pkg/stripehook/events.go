package stripehook

import (
	"slices"

	"github.com/jampay/jampay/pkg/order"
)

// EventType is one Stripe event type jampay handles: what it means for an
// order or a subscription, and the object it carries in data.object, which says what is read
// of it (see decode).
type EventType struct {
	// Type is Stripe's event type, as registered on the webhook endpoint.
	Type string
	// Object is the type of the object in data.object, as Stripe names it
	// in the object's "object" field.
	Object string
	// Kind is what the event means for the order or subscription.
	Kind order.Kind
	// Field and Unless: when the object's Field holds one of Unless's
	// values, the event means that kind instead of Kind.
	Field  string
	Unless map[string]order.Kind
}

// Events is every Stripe event type jampay handles, the one list of them:
// the decoder ignores any other type, and the test payloads, `jampay
// trigger` and the README's list of events to register follow it (tests
// hold each of them to it). Read it; do not change it at run time.
var Events = []EventType{
	// A session completed with an async method (a bank debit) is not paid
	// yet. "no_payment_required", for a zero total, reads as paid, and the
	// amount check then flags it.
	{Type: "checkout.session.completed", Object: "checkout.session", Kind: order.KindPaid,
		Field: "payment_status", Unless: map[string]order.Kind{"unpaid": order.KindProcessing}},
	{Type: "checkout.session.async_payment_succeeded", Object: "checkout.session", Kind: order.KindPaid,
		Field: "payment_status", Unless: map[string]order.Kind{"unpaid": order.KindProcessing}},
	{Type: "checkout.session.async_payment_failed", Object: "checkout.session", Kind: order.KindFailed},
	{Type: "checkout.session.expired", Object: "checkout.session", Kind: order.KindExpired},
	// A declined attempt: Checkout keeps the session open for another.
	{Type: "payment_intent.payment_failed", Object: "payment_intent", Kind: order.KindDeclined},
	{Type: "charge.refunded", Object: "charge", Kind: order.KindRefunded},
	{Type: "charge.dispute.created", Object: "dispute", Kind: order.KindDisputeOpened},
	// "won" and "warning_closed" (an inquiry that never became a
	// chargeback) leave the money with the merchant; "lost" does not.
	{Type: "charge.dispute.closed", Object: "dispute", Kind: order.KindDisputeWon,
		Field: "status", Unless: map[string]order.Kind{"lost": order.KindDisputeLost}},

	// Subscriptions. The checkout.session rows above serve them too: a
	// session in subscription mode is decoded as the subscription's (see
	// decode), its completion meaning the customer subscribed — "paid", or
	// "no_payment_required" when a trial takes no money now.
	//
	// Each customer.subscription.* event carries the subscription as it
	// stands: a snapshot, whatever the type says happened.
	{Type: "customer.subscription.created", Object: "subscription", Kind: order.KindSubscription},
	{Type: "customer.subscription.updated", Object: "subscription", Kind: order.KindSubscription},
	{Type: "customer.subscription.deleted", Object: "subscription", Kind: order.KindSubscription},
	{Type: "customer.subscription.paused", Object: "subscription", Kind: order.KindSubscription},
	{Type: "customer.subscription.resumed", Object: "subscription", Kind: order.KindSubscription},
	// Sent three days before a trial ends (or when a trial is ended now).
	{Type: "customer.subscription.trial_will_end", Object: "subscription", Kind: order.KindTrialEnding},
	// A subscription's invoice, the first one (billing_reason
	// subscription_create) included. An invoice of no subscription is not
	// jampay's (decode ignores it).
	{Type: "invoice.paid", Object: "invoice", Kind: order.KindRenewalPaid},
	{Type: "invoice.payment_failed", Object: "invoice", Kind: order.KindRenewalFailed},
}

// byType indexes Events for the decoder, which looks up every event;
// types lists them in the table's order.
var byType, types = order.IndexTypes(Events, func(et EventType) string { return et.Type })

// Types returns the Stripe event types jampay handles, in the table's order.
func Types() []string { return slices.Clone(types) }

// Lookup returns the row of Events for a Stripe event type, and whether
// jampay handles that type at all.
func Lookup(typ string) (EventType, bool) {
	et, ok := byType[typ]
	return et, ok
}

// kind is what the event means, given its object.
func (et EventType) kind(obj *object) order.Kind {
	if k, ok := et.Unless[obj.field(et.Field)]; ok {
		return k
	}
	return et.Kind
}
