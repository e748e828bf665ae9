package memstore

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// The subscriptions' effects, found as the DynamoDB store finds them: a
// final subscription by the effects queue shop.FinalSubscriptionQueue puts
// it in, one not final in the open-subscriptions queue by its outbox. A
// walk over every subscription is fine for `jampay serve` and tests.

var _ shop.SubscriptionEffectsStore = (*Store)(nil)

// The names of the walks, for their cursors.
const (
	subEffectsDue    = "subeffects-due"
	subEffectsFailed = "subeffects-failed"
)

// SubscriptionEffectsDue walks the subscriptions with an effect still to
// send owed before `before`, oldest owed first.
func (s *Store) SubscriptionEffectsDue(ctx context.Context, before time.Time, limit int, after string) ([]subscription.Subscription, string, error) {
	return s.subscriptionEffects(ctx, subEffectsDue, func(sub *subscription.Subscription) (time.Time, bool) {
		at, owes := shop.OldestOwed(sub.Outbox)
		// To the second, as the DynamoDB store compares.
		return at, owes && at.Unix() < before.Unix()
	}, limit, after)
}

// SubscriptionEffectsFailed walks the subscriptions with an effect parked
// as failed, oldest failed first.
func (s *Store) SubscriptionEffectsFailed(ctx context.Context, limit int, after string) ([]subscription.Subscription, string, error) {
	return s.subscriptionEffects(ctx, subEffectsFailed, func(sub *subscription.Subscription) (time.Time, bool) {
		return shop.OldestFailed(sub.Outbox)
	}, limit, after)
}

// subscriptionEffects pages through the subscriptions listed says to
// list, by the date it gives them.
func (s *Store) subscriptionEffects(ctx context.Context, name string, listed func(*subscription.Subscription) (time.Time, bool), limit int, after string) ([]subscription.Subscription, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return queueOf(s.subs, name, limit, after, listed, subscription.Subscription.Clone)
}
