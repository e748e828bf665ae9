package subscription

import (
	"context"
	"errors"
	"strings"

	"github.com/jampay/jampay/pkg/order"
)

// Move is one conditional write of a subscription: it succeeds only if the
// stored subscription still has From status and FromVersion, and (when
// Event is set) the event was never recorded. Next.Version must be
// FromVersion+1.
type Move struct {
	Next        Subscription
	From        Status
	FromVersion int64
	// Event, when set, is recorded in the same atomic write.
	Event *order.EventRecord
	// Refs are gateway references to index the subscription under, in the
	// same write. A reference belongs to one order or subscription, for
	// good: orders and subscriptions share the references' namespace.
	Refs []string
}

// Store keeps subscriptions beside orders, in the same table and with the
// same discipline: every change a conditional write, the package order
// sentinels (ErrConflict, ErrNotFound, ErrDuplicateEvent, ErrForbiddenMove,
// ErrRefTaken) and *order.StoreError for failures of the storage itself.
// Event records, parked events and idempotency keys are order.Store's,
// shared by both.
type Store interface {
	// CreateSubscription writes a new subscription; ErrConflict if its id
	// is taken.
	CreateSubscription(ctx context.Context, s *Subscription) error
	// GetSubscription reads one; order.ErrNotFound if there is none.
	GetSubscription(ctx context.Context, id string) (*Subscription, error)
	// GetSubscriptionForEvent reads, in one request, a subscription (nil
	// if there is none) and whether the gateway event is recorded.
	GetSubscriptionForEvent(ctx context.Context, id, gateway, eventID string) (*Subscription, bool, error)
	// FindSubscriptionByRef finds the subscription indexed under a gateway
	// reference: order.ErrNotFound if none is, and an *order.ElsewhereError
	// if the reference belongs to an order.
	FindSubscriptionByRef(ctx context.Context, gateway, ref string) (*Subscription, error)
	// MoveSubscription writes m.Next if the stored one is still m.From at
	// m.FromVersion (see order.Store.Move).
	MoveSubscription(ctx context.Context, m Move) error
	// ClearSubscriptionReplay takes refs off the subscription's
	// PendingReplay, changing nothing else (see order.Store.ClearReplay).
	ClearSubscriptionReplay(ctx context.Context, id string, refs []string) error
}

// PlanStore remembers the gateway plans jampay made (Razorpay plans: one
// per sku, amount, currency, interval and count), so a plan is made once.
type PlanStore interface {
	// Plan returns the plan id stored under key, or order.ErrNotFound.
	Plan(ctx context.Context, gateway, key string) (string, error)
	// PutPlan stores planID under key unless one is stored already, and
	// returns the stored one: the first of two concurrent first checkouts
	// wins, and the second uses its plan.
	PutPlan(ctx context.Context, gateway, key, planID string) (string, error)
}

// CheckMove validates a Move before any store writes it, so both stores
// refuse the same things the same way.
func CheckMove(m Move) error {
	if m.Next.Version != m.FromVersion+1 {
		return order.Errorf(order.CodeConflict, "move of %s must write version %d, not %d", m.Next.ID, m.FromVersion+1, m.Next.Version)
	}
	if m.Next.Status != m.From && !CanMove(m.From, m.Next.Status) {
		return &order.Error{Code: order.CodeForbiddenMove, Message: "cannot move a subscription from " + string(m.From) + " to " + string(m.Next.Status)}
	}
	return nil
}

// MoveIndexing writes m; if one of its references already belongs to
// something else (ErrRefTaken), it writes the move without indexing them.
func MoveIndexing(ctx context.Context, s Store, m Move) error {
	err := s.MoveSubscription(ctx, m)
	if errors.Is(err, order.ErrRefTaken) {
		m.Refs = nil
		err = s.MoveSubscription(ctx, m)
	}
	return err
}

// SubscriberIndex finds a customer's subscriptions by their email, for
// access links (a subscriber on another device), without a Scan.
type SubscriberIndex interface {
	// IndexEmail adds id to the subscriptions under emailKey (EmailKey of
	// the address). Indexing twice keeps one.
	IndexEmail(ctx context.Context, emailKey, id string) error
	// ByEmail lists the subscription ids under emailKey, in no set order.
	ByEmail(ctx context.Context, emailKey string) ([]string, error)
}

// EmailKey is what a subscriber's address is indexed by: the hex SHA-256 of
// the address, trimmed and lower-cased, so the index's keys hold no
// address and "A@x.com" finds what "a@x.com" subscribed.
func EmailKey(email string) string {
	return order.HashToken(strings.ToLower(strings.TrimSpace(email)))
}
