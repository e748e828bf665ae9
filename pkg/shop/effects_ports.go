package shop

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Mail is one customer email, rendered: what a Mailer sends.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Tags name the order and the kind of mail for the mail service's
	// records (SES tag values: letters, digits, '_' and '-' only).
	Tags map[string]string
}

// Mailer sends customer email (Amazon SES v2 from MAIL_FROM; locally, a
// recorder jampay serve shows at /_jampay/).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// OwnerEvent is one event for the owner's EventBridge bus: source
// "jampay", DetailType the effect's type (order.paid, …), Detail the JSON
// the contract describes (ids, amounts, items, email, version, and a
// stable id for consumers to drop duplicates; never a token).
type OwnerEvent struct {
	DetailType string
	Detail     []byte
}

// Publisher puts owner events on the bus (EventBridge PutEvents on
// EVENT_BUS_NAME; locally, a recorder).
type Publisher interface {
	Publish(ctx context.Context, e OwnerEvent) error
}

// Renderer turns an effect owed by an order, or by a subscription, into
// the customer's mail (nil when the effect owes none) and the owner's
// event.
type Renderer interface {
	Render(o order.Order, e order.Effect) (*Mail, OwnerEvent, error)
	RenderSubscription(s subscription.Subscription, e order.Effect) (*Mail, OwnerEvent, error)
}

// SubscriptionEffectsStore finds the subscriptions whose effects are still
// to send, or failed, without a Scan: what reconcile's sweep and `jampay
// effects` read beside the orders' effects queues. Both stores implement
// it; a store that does not leaves subscriptions to the stream.
type SubscriptionEffectsStore interface {
	// SubscriptionEffectsDue lists subscriptions with an effect still to
	// send (owed, or claimed) owed before `before`, paged like
	// ReconcileStore.EffectsDue; a page may hold fewer than limit, even
	// none, before next is "".
	SubscriptionEffectsDue(ctx context.Context, before time.Time, limit int, after string) (subs []subscription.Subscription, next string, err error)
	// SubscriptionEffectsFailed lists subscriptions with an effect parked
	// as failed, paged the same way.
	SubscriptionEffectsFailed(ctx context.Context, limit int, after string) (subs []subscription.Subscription, next string, err error)
}

// The queues of the store's one index a final subscription with effects
// waits in (one not final waits in the open-subscriptions queue whatever
// its outbox, and is found there).
const (
	QueueSubscriptionEffects       = "subeffects"
	QueueSubscriptionEffectsFailed = "subeffects-failed"
)

// FinalSubscriptionQueue says which queue a subscription in a final status
// waits in, and its date there, or "" for none: with effects still to send,
// the subscription-effects queue dated by the oldest; else, with an effect
// failed, the subscription-effects-failed queue dated by the oldest failed.
// A final subscription leaves the open-subscriptions queue, and a change
// may still owe something then (its own, a renewal paid late), so without
// this nothing would find what it owes.
func FinalSubscriptionQueue(s *subscription.Subscription) (string, time.Time) {
	d := datesOf(s.Outbox)
	switch {
	case d.owes:
		return QueueSubscriptionEffects, d.owed
	case d.fails:
		return QueueSubscriptionEffectsFailed, d.failed
	}
	return "", time.Time{}
}

// outboxDates are when an outbox's oldest effect still to send (owed,
// claimed) and its oldest failed one were owed.
type outboxDates struct {
	owed, failed time.Time
	owes, fails  bool
}

func datesOf(outbox []order.Owed) outboxDates {
	var d outboxDates
	for _, w := range outbox {
		switch w.State {
		case order.EffectOwed, order.EffectClaimed:
			if !d.owes || w.OwedAt.Before(d.owed) {
				d.owed, d.owes = w.OwedAt, true
			}
		case order.EffectFailed:
			if !d.fails || w.OwedAt.Before(d.failed) {
				d.failed, d.fails = w.OwedAt, true
			}
		}
	}
	return d
}

// OldestOwed is when the oldest effect of outbox still to send (owed,
// claimed) was owed; false if there is none.
func OldestOwed(outbox []order.Owed) (time.Time, bool) {
	d := datesOf(outbox)
	return d.owed, d.owes
}

// OldestFailed is when the oldest effect of outbox parked as failed was
// owed; false if there is none.
func OldestFailed(outbox []order.Owed) (time.Time, bool) {
	d := datesOf(outbox)
	return d.failed, d.fails
}
