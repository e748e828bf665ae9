package memstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

var _ shop.OrderLister = (*Store)(nil)

// ListOrders lists the orders f chooses, newest first across every page
// (a sort of all of them: fine for `jampay serve` and tests), at most limit
// at a time. after is where the previous page ended; next is "" once a page
// ends the list.
func (s *Store) ListOrders(ctx context.Context, f shop.OrderFilter, limit int, after string) ([]order.Order, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []order.Order
	for _, o := range s.orders {
		if chooses(f, o) {
			all = append(all, o)
		}
	}
	return listPage(all, "orders", limit, after, func(o order.Order) (time.Time, string) { return o.CreatedAt, o.ID }, order.Order.Clone)
}

// listPage is a page of a listing (ListOrders, ListSubscriptions) of all,
// named scan (the plural of what it lists), newest first across every
// page: a sort of all of them, fine for `jampay serve` and tests. created
// is an item's creation time and id.
func listPage[T any](all []T, scan string, limit int, after string, created func(T) (time.Time, string), clone func(T) T) ([]T, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("memstore: a page of %s must hold at least one, not %d", scan, limit)
	}
	slices.SortFunc(all, func(a, b T) int {
		at, aid := created(a)
		bt, bid := created(b)
		return newestFirst(at, aid, bt, bid)
	})
	if after != "" {
		rest, ok := strings.CutPrefix(after, scan+"/")
		at, id, ok2 := strings.Cut(rest, "/")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || !ok2 || err != nil {
			return nil, "", fmt.Errorf("memstore: %q is not where a page of %s ended", after, scan)
		}
		// The first item after the cursor's place in the sort; the
		// cursor's own item may have gone since (TTL), so search for it.
		mark := time.Unix(0, n)
		i, found := slices.BinarySearchFunc(all, id, func(v T, id string) int {
			at, vid := created(v)
			return newestFirst(at, vid, mark, id)
		})
		if found {
			i++
		}
		all = all[i:]
	}
	next := ""
	if len(all) > limit {
		all = all[:limit]
		at, id := created(all[limit-1])
		next = scan + "/" + strconv.FormatInt(at.UnixNano(), 10) + "/" + id
	}
	out := make([]T, len(all))
	for i, v := range all {
		out[i] = clone(v)
	}
	return out, next, nil
}

// chooses reports whether f chooses o, as the DynamoDB store's filter
// does: Since is inclusive, Until exclusive.
func chooses(f shop.OrderFilter, o order.Order) bool {
	return (f.Status == "" || o.Status == f.Status) &&
		(f.Gateway == "" || o.Gateway == f.Gateway) &&
		(f.Since.IsZero() || !o.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || o.CreatedAt.Before(f.Until))
}

// newestFirst orders by creation, newest first, then by id so that items
// created in the same instant keep one order between pages.
func newestFirst(at time.Time, aid string, bt time.Time, bid string) int {
	if c := bt.Compare(at); c != 0 {
		return c
	}
	return strings.Compare(bid, aid)
}
