package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// The case of the owner's listing (shop.OrderLister): `jampay orders` and
// the local dashboard.

// listPages reads every page of the orders f chooses, limit at a time,
// checking what every store promises of a page: at most limit orders, newest
// first, and only the last one may be empty (DynamoDB's Scan learns that it
// reached the end of the table only by asking once more).
func listPages(t *testing.T, l shop.OrderLister, f shop.OrderFilter, limit int) [][]order.Order {
	t.Helper()
	var pages [][]order.Order
	after := ""
	for {
		orders, next, err := l.ListOrders(ctx, f, limit, after)
		if err != nil {
			t.Fatalf("ListOrders(%+v, %d, after %q): %v", f, limit, after, err)
		}
		if len(orders) > limit {
			t.Fatalf("a page of %d holds %d orders", limit, len(orders))
		}
		if len(pages) > 0 && len(pages[len(pages)-1]) == 0 {
			t.Fatalf("page %d is empty but the listing goes on", len(pages))
		}
		if !slices.IsSortedFunc(orders, func(a, b order.Order) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
			t.Fatalf("a page is not newest first: %v", created(orders))
		}
		pages = append(pages, orders)
		if next == "" {
			return pages
		}
		if len(pages) > 200 {
			t.Fatal("ListOrders never ends")
		}
		after = next
	}
}

func created(orders []order.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID + "@" + o.CreatedAt.Format(time.RFC3339Nano)
	}
	return out
}

// testListOrders: the listing returns exactly the orders each filter
// chooses, every one once, across pages of every size, whole; nothing that
// is not an order (event records, keys, parked events) is listed.
func testListOrders(t *testing.T, s order.Store, clock *Clock) {
	l, ok := s.(shop.OrderLister)
	if !ok {
		t.Fatalf("%T is not a shop.OrderLister", s)
	}
	since := clock.Now().Add(-48 * time.Hour)
	until := since.Add(24 * time.Hour)
	type made struct {
		o  *order.Order
		at time.Duration // after since
	}
	var all []made
	// Around each bound, times within its second: the DynamoDB store
	// filters by text, which sorts only to the second.
	for i, c := range []struct {
		at      time.Duration
		status  order.Status
		gateway string
	}{
		{-time.Hour, order.Paid, "stripe"},
		{-500 * time.Millisecond, order.Paid, "stripe"}, // before Since, in its second
		{0, order.Paid, "razorpay"},                     // at Since: chosen
		{250 * time.Millisecond, order.Pending, "stripe"},
		{time.Hour, order.Refunded, "razorpay"},
		{2 * time.Hour, order.Paid, "stripe"},
		{3*time.Hour + 1, order.Expired, "stripe"},
		{5 * time.Hour, order.Paid, "razorpay"},
		{24*time.Hour - 1, order.Paid, "stripe"},                    // just before Until: chosen
		{24 * time.Hour, order.Paid, "stripe"},                      // at Until: not chosen
		{24*time.Hour + 400*time.Millisecond, order.Paid, "stripe"}, // after Until, in its second
		{30 * time.Hour, order.PartiallyRefunded, "stripe"},
	} {
		o := createWith(t, s, clock, func(o *order.Order) {
			o.CreatedAt, o.Status, o.Gateway = since.Add(c.at), c.status, c.gateway
			o.Email = fmt.Sprintf("c%d@example.com", i)
			o.History = history(clock)[:1]
		})
		all = append(all, made{o, c.at})
	}
	// What else the table holds is never listed.
	if err := s.RecordEvent(ctx, *event(clock, "evt_list")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimIdempotencyKey(ctx, order.IdempotencyRecord{KeyHash: "kh", RequestHash: "rh", OrderID: all[0].o.ID,
		CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, "stripe", "pi_list", order.Event{Gateway: "stripe", ID: "evt_parked", Kind: order.KindPaid}); err != nil {
		t.Fatal(err)
	}

	for _, f := range []shop.OrderFilter{
		{},
		{Status: order.Paid},
		{Gateway: "razorpay"},
		{Status: order.Paid, Gateway: "stripe"},
		{Since: since},
		{Until: until},
		{Since: since, Until: until},
		{Since: since.Add(250 * time.Millisecond), Until: since.Add(3*time.Hour + 1)},
		{Status: order.Paid, Since: since, Until: until},
		{Status: order.Failed},
	} {
		var want []string
		for _, m := range all {
			o := m.o
			if (f.Status == "" || o.Status == f.Status) && (f.Gateway == "" || o.Gateway == f.Gateway) &&
				(f.Since.IsZero() || !o.CreatedAt.Before(f.Since)) && (f.Until.IsZero() || o.CreatedAt.Before(f.Until)) {
				want = append(want, o.ID)
			}
		}
		slices.Sort(want)
		for _, limit := range []int{1, 2, 5, 100} {
			pages := listPages(t, l, f, limit)
			got := ids(slices.Concat(pages...))
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("filter %+v, limit %d: listed %v, want %v", f, limit, got, want)
			}
			if fewest := (len(want) + limit - 1) / limit; len(pages) < fewest {
				t.Fatalf("filter %+v, limit %d: %d pages for %d orders", f, limit, len(pages), len(want))
			}
		}
	}

	// The orders come whole: the owner's table and `jampay order` need no
	// second read.
	orders, _, err := l.ListOrders(ctx, shop.OrderFilter{Status: order.Refunded}, 10, "")
	if err != nil || len(orders) != 1 {
		t.Fatalf("refunded orders: %v %v", created(orders), err)
	}
	want := all[4].o
	if got := orders[0]; got.ID != want.ID || got.Amount != want.Amount || got.Currency != want.Currency || got.Email != want.Email ||
		!got.CreatedAt.Equal(want.CreatedAt) || len(got.Items) != 1 || got.Items[0] != want.Items[0] ||
		!slices.EqualFunc(got.History, want.History, sameChange) {
		t.Fatalf("listed %+v\nstored %+v", got, *want)
	}

	if _, _, err := l.ListOrders(ctx, shop.OrderFilter{}, 0, ""); err == nil {
		t.Fatal("a page of 0 orders was accepted")
	}
	if _, _, err := l.ListOrders(ctx, shop.OrderFilter{}, 1, "not-a-cursor"); err == nil {
		t.Fatal("a malformed cursor was accepted")
	}
}
