package memstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// TestListOrders_NewestFirstAcrossPages: unlike DynamoDB's Scan, the
// in-memory store sorts the whole listing, so `jampay serve`'s dashboard
// pages through the newest orders first; orders created in the same
// instant keep one order between pages, each listed once.
func TestListOrders_NewestFirstAcrossPages(t *testing.T) {
	clock := storetest.NewClock()
	s := memstore.New(clock.Now)
	ctx := context.Background()
	var want []order.Order
	for i := range 7 {
		o := storetest.NewOrder(clock)
		// Three pairs created in the same instant, one alone.
		o.CreatedAt = clock.Now().Add(-time.Duration(i/2) * time.Hour)
		if err := s.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		want = append(want, *o)
	}
	slices.SortFunc(want, func(a, b order.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var got []string
	after := ""
	for {
		page, next, err := s.ListOrders(ctx, shop.OrderFilter{}, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			got = append(got, o.ID)
		}
		if after = next; after == "" {
			break
		}
	}
	var wantIDs []string
	for _, o := range want {
		wantIDs = append(wantIDs, o.ID)
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("listed %v\nwant   %v", got, wantIDs)
	}
}
