package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/memstore"
)

// TestTakeRate_ExpiredCountersAreForgotten: a counter past its expiry is
// dropped, as DynamoDB's TTL deletes it, so a long-running `jampay serve`
// does not keep one per client it ever saw.
func TestTakeRate_ExpiredCountersAreForgotten(t *testing.T) {
	clock := storetest.NewClock()
	s := memstore.New(clock.Now)
	ctx := context.Background()
	expires := clock.Now().Add(10 * time.Minute)
	if ok, _ := s.TakeRate(ctx, "203.0.113.9#w1", 1, expires); !ok {
		t.Fatal("first take refused")
	}
	if ok, _ := s.TakeRate(ctx, "203.0.113.9#w1", 1, expires); ok {
		t.Fatal("limit of 1 not kept")
	}
	clock.Advance(10*time.Minute + time.Second)
	if ok, _ := s.TakeRate(ctx, "203.0.113.9#w1", 1, clock.Now().Add(10*time.Minute)); !ok {
		t.Fatal("an expired counter still counts")
	}
}
