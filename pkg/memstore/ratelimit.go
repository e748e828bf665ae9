package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// rateCounters are the checkout rate limit's counters, under their own
// lock: counting a client never waits on an order write.
type rateCounters struct {
	mu     sync.Mutex
	counts map[string]rateCount
	sweep  time.Time // when expired counters are next dropped
}

type rateCount struct {
	n         int
	expiresAt time.Time
}

// TakeRate counts one under key unless the count has reached limit, as the
// DynamoDB store's conditional ADD does. Counters past their expiry are
// dropped, as DynamoDB's TTL deletes them, at most once a minute: a `jampay
// serve` left running does not keep every client it ever saw.
func (s *Store) TakeRate(ctx context.Context, key string, limit int, expiresAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, &order.StoreError{Err: err}
	}
	now := s.now()
	c := &s.rates
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]rateCount{}
	}
	if !now.Before(c.sweep) {
		for k, v := range c.counts {
			if now.After(v.expiresAt) {
				delete(c.counts, k)
			}
		}
		c.sweep = now.Add(time.Minute)
	}
	cur := c.counts[key]
	if cur.n >= limit {
		return false, nil
	}
	c.counts[key] = rateCount{n: cur.n + 1, expiresAt: expiresAt}
	return true, nil
}
