package shop

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/order"
)

// RateLimited is a checkout refused by the rate limit: the client may try
// again after RetryAfter.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string { return "rate limited" }

// Is makes a RateLimited the contract's rate_limited.
func (e *RateLimited) Is(target error) bool {
	t, ok := target.(*order.Error)
	return ok && t.Code == order.CodeRateLimited
}

// takeRate counts a checkout that is about to make an order (or ask the
// gateway again) against its client's fixed window of config.RateWindow.
func (s *Service) takeRate(ctx context.Context, client string, now time.Time) error {
	if s.RateLimit <= 0 {
		return nil
	}
	if s.Limiter == nil {
		return errors.New("shop: a checkout rate limit with nothing to count it")
	}
	window := int64(config.RateWindow / time.Second)
	start := now.Unix() - now.Unix()%window
	end := time.Unix(start+window, 0)
	key := client + "#" + strconv.FormatInt(start, 10)
	// Kept a window past its end, so a clock a little behind still finds it.
	ok, err := s.Limiter.TakeRate(ctx, key, s.RateLimit, end.Add(config.RateWindow))
	if err != nil {
		// A store that cannot count is 503 store_unavailable, not a
		// checkout let through uncounted: the order write that would follow
		// goes to the same table and would most likely fail too, and a
		// flood is what throttles a table, so failing open would lift the
		// limit exactly when it is needed. Invariant 7: a store failure is
		// a 5xx; nothing has been written or sent to a gateway.
		return err
	}
	if !ok {
		return &RateLimited{RetryAfter: end.Sub(now)}
	}
	return nil
}
