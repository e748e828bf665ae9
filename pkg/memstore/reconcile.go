package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// lease is a held lease: who, and until when.
type lease struct {
	holder string
	until  time.Time
}

// queued is one entry of a queue, in the DynamoDB index's order: by the
// second it is dated (the index's sort key is epoch seconds), then by key.
type queued struct {
	at  int64
	key string
}

func (a queued) compare(b queued) int {
	return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.key, b.key))
}

// OpenPastDeadline walks the open orders in deadline order, in the queue
// shop.OrderQueue puts them in, as DynamoDB's index. A sorted walk
// over every order is fine for `jampay serve` and tests; DynamoDB has an
// index for it.
func (s *Store) OpenPastDeadline(ctx context.Context, before time.Time, limit int, after string) ([]order.Order, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orderQueue(shop.QueueOpen, before.Unix(), limit, after)
}

// EffectsDue walks the orders with effects still to send, oldest owed
// first, in the queue shop.OrderQueue puts them in, as DynamoDB's index.
func (s *Store) EffectsDue(ctx context.Context, before time.Time, limit int, after string) ([]order.Order, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orderQueue(shop.QueueEffects, before.Unix(), limit, after)
}

// EffectsFailed walks the orders whose effects ended failed.
func (s *Store) EffectsFailed(ctx context.Context, limit int, after string) ([]order.Order, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orderQueue(shop.QueueEffectsFailed, 0, limit, after)
}

// orderQueue walks the orders in queue name, dated before `before` (epoch
// seconds; 0 for all), the caller holding s.mu.
func (s *Store) orderQueue(name string, before int64, limit int, after string) ([]order.Order, string, error) {
	return queueOf(s.orders, name, limit, after, func(o *order.Order) (time.Time, bool) {
		// To the second, as the DynamoDB store compares.
		q, at := shop.OrderQueue(o)
		return at, q == name && (before == 0 || at.Unix() < before)
	}, order.Order.Clone)
}

// queueOf is a page of the queue name of the orders or subscriptions in
// m: those dated says are in it, by the date it gives them, after
// `after`, cloned. The caller holds s.mu.
func queueOf[T any](m map[string]T, name string, limit int, after string, dated func(*T) (time.Time, bool), clone func(T) T) ([]T, string, error) {
	var all []queued
	for id, v := range m {
		if at, ok := dated(&v); ok {
			all = append(all, queued{at.Unix(), id})
		}
	}
	page, next, err := pageOf(all, name, limit, after)
	if err != nil {
		return nil, "", err
	}
	out := make([]T, len(page))
	for i, q := range page {
		out[i] = clone(m[q.key])
	}
	return out, next, nil
}

// ParkedRefs walks the references with events still parked, oldest first.
func (s *Store) ParkedRefs(ctx context.Context, limit int, after string) ([]shop.ParkedRef, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var waiting []queued
	for k, list := range s.parked {
		// Every event under a reference expires with the last park.
		if len(list) > 0 && s.now().Before(list[0].expires) {
			waiting = append(waiting, queued{s.parkedAt[k].Unix(), k})
		}
	}
	page, next, err := pageOf(waiting, "parked", limit, after)
	if err != nil {
		return nil, "", err
	}
	refs := make([]shop.ParkedRef, len(page))
	for i, q := range page {
		gateway, ref, _ := strings.Cut(q.key, "#")
		refs[i] = shop.ParkedRef{Gateway: gateway, Ref: ref, ParkedAt: time.Unix(q.at, 0).UTC()}
	}
	return refs, next, nil
}

// pageOf sorts a queue and cuts the page after `after`; next is "" when
// the page ends the queue, as in the DynamoDB store.
func pageOf(all []queued, name string, limit int, after string) ([]queued, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("memstore: a page of the %s queue must hold at least one item, not %d", name, limit)
	}
	slices.SortFunc(all, queued.compare)
	if after != "" {
		q, ok := strings.CutPrefix(after, name+"/")
		at, key, ok2 := strings.Cut(q, "/")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || !ok2 || err != nil {
			return nil, "", fmt.Errorf("memstore: %q is not where a page of the %s queue ended", after, name)
		}
		start := queued{n, key}
		i, _ := slices.BinarySearchFunc(all, start, queued.compare)
		if i < len(all) && all[i] == start {
			i++
		}
		all = all[i:]
	}
	if len(all) <= limit {
		return all, "", nil
	}
	last := all[limit-1]
	return all[:limit], name + "/" + strconv.FormatInt(last.at, 10) + "/" + last.key, nil
}

func (s *Store) TakeLease(ctx context.Context, name, holder string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Held through its last second, as the DynamoDB store's epoch-second
	// expiry is.
	if l, ok := s.leases[name]; ok && l.holder != holder && l.until.Unix() >= s.now().Unix() {
		return false, nil
	}
	s.leases[name] = lease{holder, until}
	return true, nil
}

func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[name].holder == holder {
		delete(s.leases, name)
	}
	return nil
}

func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[name], nil
}

func (s *Store) SetCursor(ctx context.Context, name, value string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[name] = value
	return nil
}
