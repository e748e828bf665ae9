package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// A subscription's effects are found without a Scan, through the queue
// index. One not final waits in the open-subscriptions queue whatever its
// outbox (reconcile walks every live subscription there anyway), and its
// effects are read off the items the walk returns. One final has left
// that queue, yet a change may still owe something then (the change that
// ended it, a renewal paid late): it waits in the subscription-effects
// queue while an effect is still to send, dated by the oldest, and in the
// subscription-effects-failed queue while one is parked as failed
// (shop.FinalSubscriptionQueue), and leaves the index once all are sent.

var _ shop.SubscriptionEffectsStore = (*Store)(nil)

const (
	// queueSubEffects holds every final subscription with an effect still
	// to send, dated by the oldest.
	queueSubEffects = shop.QueueSubscriptionEffects
	// queueSubEffectsFailed holds every final subscription with nothing
	// to send and an effect parked as failed, dated by the oldest failed.
	queueSubEffectsFailed = shop.QueueSubscriptionEffectsFailed
)

// finalSubscriptionQueue is the queue a subscription in a final status
// waits in (subscriptionQueue), or "" for none.
func finalSubscriptionQueue(s *subscription.Subscription) (string, time.Time) {
	return shop.FinalSubscriptionQueue(s)
}

// SubscriptionEffectsDue lists the subscriptions with an effect still to
// send owed before `before` (to the second): the final ones from their
// queue, oldest owed first, then the open ones. What the index returns may
// be a moment old; Dispatch claims each effect on the subscription read
// again, so a stale listing sends nothing twice.
func (s *Store) SubscriptionEffectsDue(ctx context.Context, before time.Time, limit int, after string) ([]subscription.Subscription, string, error) {
	return s.subscriptionEffects(ctx, queueSubEffects, before.Unix(), func(sub *subscription.Subscription) bool {
		at, owes := shop.OldestOwed(sub.Outbox)
		return owes && at.Unix() < before.Unix()
	}, limit, after)
}

// SubscriptionEffectsFailed lists the subscriptions with an effect parked
// as failed: the final ones from their queue, oldest first, then the open
// ones.
func (s *Store) SubscriptionEffectsFailed(ctx context.Context, limit int, after string) ([]subscription.Subscription, string, error) {
	return s.subscriptionEffects(ctx, queueSubEffectsFailed, 0, func(sub *subscription.Subscription) bool {
		_, fails := shop.OldestFailed(sub.Outbox)
		return fails
	}, limit, after)
}

// subscriptionEffects walks the final subscriptions' queue q (dated before
// `before`, epoch seconds, when it is not 0), then the open
// subscriptions' queue, keeping those listed says to. A page of the second
// walk holds only what it keeps of a page read, which may be nothing.
func (s *Store) subscriptionEffects(ctx context.Context, q string, before int64, listed func(*subscription.Subscription) bool, limit int, after string) ([]subscription.Subscription, string, error) {
	w := walk{List: q, Queue: q}
	if after != "" {
		var err error
		if w, err = decodeWalk(q, after); err != nil {
			return nil, "", err
		}
	}
	if w.Queue == q {
		items, next, err := s.queue(ctx, q, before, limit, w.Page)
		if err != nil {
			return nil, "", err
		}
		subs, err := unmarshalEach(items, unmarshalSubscription, listed)
		if err != nil {
			return nil, "", err
		}
		// Once the final ones are done, the open ones from their start.
		w.Page = next
		if next == "" {
			w.Queue = queueOpenSubs
		}
		return subs, encodeWalk(w), nil
	}
	open, next, err := s.OpenSubscriptions(ctx, limit, w.Page)
	if err != nil {
		return nil, "", err
	}
	var subs []subscription.Subscription
	for i := range open {
		if listed(&open[i]) {
			subs = append(subs, open[i])
		}
	}
	if next == "" {
		return subs, "", nil
	}
	w.Page = next
	return subs, encodeWalk(w), nil
}

// walk is where a listing of subscriptions' effects stands: which listing
// (so one's cursor is refused by the other), which queue it is in, and
// the page of that queue it goes on from.
type walk struct {
	List  string `json:"l"`
	Queue string `json:"q"`
	Page  string `json:"p,omitempty"`
}

func encodeWalk(w walk) string {
	b, _ := json.Marshal(w)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeWalk(list, cursor string) (walk, error) {
	var w walk
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &w) != nil || w.List != list || (w.Queue != list && w.Queue != queueOpenSubs) {
		return walk{}, fmt.Errorf("dynamostore: %q is not where a page of the %s listing ended", cursor, list)
	}
	return w, nil
}
