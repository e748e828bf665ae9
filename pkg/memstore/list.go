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
	if limit < 1 {
		return nil, "", fmt.Errorf("memstore: a page of orders must hold at least one, not %d", limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []order.Order
	for _, o := range s.orders {
		if chooses(f, o) {
			all = append(all, o)
		}
	}
	slices.SortFunc(all, newestFirst)
	if after != "" {
		at, id, ok := strings.Cut(strings.TrimPrefix(after, "orders/"), "/")
		n, err := strconv.ParseInt(at, 10, 64)
		if !strings.HasPrefix(after, "orders/") || !ok || err != nil {
			return nil, "", fmt.Errorf("memstore: %q is not where a page of orders ended", after)
		}
		// The first order after the cursor's place in the sort; the
		// cursor's own order may have gone since (TTL), so search for it.
		mark := order.Order{ID: id, CreatedAt: time.Unix(0, n)}
		i, found := slices.BinarySearchFunc(all, mark, newestFirst)
		if found {
			i++
		}
		all = all[i:]
	}
	if len(all) <= limit {
		return cloneAll(all), "", nil
	}
	last := all[limit-1]
	return cloneAll(all[:limit]), "orders/" + strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + "/" + last.ID, nil
}

// chooses reports whether f chooses o, as the DynamoDB store's filter
// does: Since is inclusive, Until exclusive.
func chooses(f shop.OrderFilter, o order.Order) bool {
	return (f.Status == "" || o.Status == f.Status) &&
		(f.Gateway == "" || o.Gateway == f.Gateway) &&
		(f.Since.IsZero() || !o.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || o.CreatedAt.Before(f.Until))
}

// newestFirst orders by creation, newest first, then by id so that orders
// created in the same instant keep one order between pages.
func newestFirst(a, b order.Order) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

func cloneAll(orders []order.Order) []order.Order {
	out := make([]order.Order, len(orders))
	for i, o := range orders {
		out[i] = o.Clone()
	}
	return out
}
