package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// rateLimiter is the checkout rate limit's counter, as pkg/api's
// RateLimiter declares it; every store serves it.
type rateLimiter interface {
	TakeRate(ctx context.Context, key string, limit int, expiresAt time.Time) (bool, error)
}

// testRateLimiter runs the rate limiter's cases on one store.
func testRateLimiter(t *testing.T, s order.Store, clock *Clock) {
	rl, ok := s.(rateLimiter)
	if !ok {
		t.Fatalf("%T does not count checkouts (no TakeRate)", s)
	}
	expires := clock.Now().Add(20 * time.Minute)
	take := func(t *testing.T, key string, limit int) bool {
		t.Helper()
		ok, err := rl.TakeRate(ctx, key, limit, expires)
		if err != nil {
			t.Fatalf("TakeRate(%s, %d): %v", key, limit, err)
		}
		return ok
	}
	t.Run("CountsToTheLimitThenRefuses", func(t *testing.T) {
		var got []bool
		for i := 0; i < 5; i++ {
			got = append(got, take(t, "203.0.113.9#1800000000", 3))
		}
		if want := []bool{true, true, true, false, false}; !slices.Equal(got, want) {
			t.Fatalf("takes = %v, want %v", got, want)
		}
		// The refused takes wrote nothing: one more fits under a limit of 4.
		if !take(t, "203.0.113.9#1800000000", 4) || take(t, "203.0.113.9#1800000000", 4) {
			t.Fatal("a refused take was counted")
		}
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		if !take(t, "198.51.100.1#1800000000", 1) || take(t, "198.51.100.1#1800000000", 1) {
			t.Fatal("limit of 1 not kept")
		}
		for _, other := range []string{"198.51.100.2#1800000000", "198.51.100.1#1800000600", "2001:db8:1:2::/64#1800000000"} {
			if !take(t, other, 1) {
				t.Fatalf("%s was refused for another key's count", other)
			}
		}
	})
	t.Run("FiftyRacersTakeExactlyTheLimit", func(t *testing.T) {
		var wg sync.WaitGroup
		var won, failed atomic.Int64
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := rl.TakeRate(ctx, "192.0.2.50#1800000000", 10, expires)
				if err != nil {
					failed.Add(1)
				} else if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 10 || failed.Load() != 0 {
			t.Fatalf("%d of 50 racers took a limit of 10 (%d errors)", won.Load(), failed.Load())
		}
	})
	t.Run("StoreFailureIsStoreError", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := rl.TakeRate(canceled, "192.0.2.99#1800000000", 5, expires)
		var se *order.StoreError
		if !errors.As(err, &se) {
			t.Fatalf("TakeRate on a failing store = %v, want *order.StoreError", err)
		}
	})
}
