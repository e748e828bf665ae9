package razorpayhook

import (
	"slices"

	"github.com/jampay/jampay/pkg/order"
)

// EventType is one Razorpay event type jampay handles: what it means for an
// order or a subscription, and the entities its payload carries, which say
// what is read of it (see Decode).
type EventType struct {
	// Type is Razorpay's event type, as registered on the webhook.
	Type string
	// Kind is what the event means for the order or subscription.
	Kind order.Kind
	// Contains is the entities under payload, as Razorpay lists them in the
	// event's "contains". Every order event carries the payment; every
	// subscription event carries the subscription (and goes to one, see
	// Decode), plus the payment when a payment was attempted before it.
	Contains []string
}

// Carries reports whether the event's payload holds the entity.
func (et EventType) Carries(entity string) bool { return slices.Contains(et.Contains, entity) }

// Events is every Razorpay event type jampay handles, the one list of
// them: Decode ignores any other type, and the test payloads, `jampay
// trigger` and the README's list of events to register follow it (tests
// hold each of them to it). Read it; do not change it at run time.
var Events = []EventType{
	// Authorized is not captured: the money is held, not taken.
	{Type: "payment.authorized", Kind: order.KindProcessing, Contains: []string{"payment"}},
	{Type: "payment.captured", Kind: order.KindPaid, Contains: []string{"payment"}},
	{Type: "order.paid", Kind: order.KindPaid, Contains: []string{"payment", "order"}},
	// A failed payment is one attempt: Checkout stays open for another.
	{Type: "payment.failed", Kind: order.KindDeclined, Contains: []string{"payment"}},
	{Type: "refund.processed", Kind: order.KindRefunded, Contains: []string{"refund", "payment"}},
	{Type: "payment.dispute.created", Kind: order.KindDisputeOpened, Contains: []string{"payment", "dispute"}},
	{Type: "payment.dispute.won", Kind: order.KindDisputeWon, Contains: []string{"payment", "dispute"}},
	{Type: "payment.dispute.lost", Kind: order.KindDisputeLost, Contains: []string{"payment", "dispute"}},

	// Subscriptions: each event is a snapshot of the subscription jampay
	// created (its status says what happened: subscription.pending is a
	// failed renewal, subscription.halted retries given up). The payment
	// that subscription.completed and some subscription.activated carry
	// was reported by its own subscription.charged, and is not read again.
	{Type: "subscription.authenticated", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.activated", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	// A paid billing cycle: one event records the renewal and the snapshot.
	{Type: "subscription.charged", Kind: order.KindRenewalPaid, Contains: []string{"subscription", "payment"}},
	{Type: "subscription.pending", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.halted", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.cancelled", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.completed", Kind: order.KindSubscription, Contains: []string{"subscription", "payment"}},
	{Type: "subscription.paused", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.resumed", Kind: order.KindSubscription, Contains: []string{"subscription"}},
	{Type: "subscription.updated", Kind: order.KindSubscription, Contains: []string{"subscription"}},
}

// byType indexes Events for the decoder, which looks up every event;
// types lists them in the table's order.
var byType, types = order.IndexTypes(Events, func(et EventType) string { return et.Type })

// Types returns the Razorpay event types jampay handles, in the table's order.
func Types() []string { return slices.Clone(types) }

// Lookup returns the row of Events for a Razorpay event type, and whether
// jampay handles that type at all.
func Lookup(typ string) (EventType, bool) {
	et, ok := byType[typ]
	return et, ok
}
