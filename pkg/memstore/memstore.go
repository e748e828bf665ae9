// Package memstore is the in-memory order store for `jampay serve` and fast
// tests. It keeps the DynamoDB store's semantics exactly (the same
// conditional writes, the same errors) and passes the same conformance
// suite, under one mutex.
package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// Store is an in-memory order.Store. The zero value is not usable; call New.
type Store struct {
	mu     sync.Mutex
	now    func() time.Time
	orders map[string]order.Order
	refs   map[string]string // gateway + "#" + ref → order id
	events map[string]order.EventRecord
	keys   map[string]order.IdempotencyRecord
	parked map[string][]parkedEvent
	// parkedAt is when each reference's parked events started waiting:
	// the order of the parked queue (reconcile.go).
	parkedAt map[string]time.Time
	leases   map[string]lease
	cursors  map[string]string
	rates    rateCounters // checkout rate limit (ratelimit.go); ready at its zero value
}

// parkedEvent is an event parked under a reference, and when it expires.
type parkedEvent struct {
	e       order.Event
	expires time.Time
}

var (
	_ order.Store         = (*Store)(nil)
	_ shop.ReconcileStore = (*Store)(nil)
)

// New returns an empty store. now is the clock records expire by.
func New(now func() time.Time) *Store {
	return &Store{
		now:    now,
		orders: map[string]order.Order{},
		refs:   map[string]string{},
		events: map[string]order.EventRecord{},
		keys:   map[string]order.IdempotencyRecord{},
		parked: map[string][]parkedEvent{},

		parkedAt: map[string]time.Time{},
		leases:   map[string]lease{},
		cursors:  map[string]string{},
	}
}

func (s *Store) CreateOrder(ctx context.Context, o *order.Order) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[o.ID]; ok {
		return order.ErrConflict
	}
	s.orders[o.ID] = o.Clone()
	return nil
}

func (s *Store) GetOrder(ctx context.Context, id string) (*order.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return nil, order.ErrNotFound
	}
	c := o.Clone()
	return &c, nil
}

func (s *Store) FindByRef(ctx context.Context, gateway, ref string) (*order.Order, error) {
	s.mu.Lock()
	id, ok := s.refs[gateway+"#"+ref]
	s.mu.Unlock()
	if !ok {
		return nil, order.ErrNotFound
	}
	return s.GetOrder(ctx, id)
}

func (s *Store) Move(ctx context.Context, m order.Move) error {
	if err := order.CheckMove(m); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.orders[m.Next.ID]
	if !ok || cur.Status != m.From || cur.Version != m.FromVersion {
		return order.ErrConflict
	}
	if m.Event != nil && s.eventTaken(*m.Event) {
		return order.ErrDuplicateEvent
	}
	for _, ref := range m.Refs {
		// A gateway reference belongs to one order, for good.
		if owner, ok := s.refs[m.Next.Gateway+"#"+ref]; ok && owner != m.Next.ID {
			return order.ErrRefTaken
		}
	}
	s.orders[m.Next.ID] = m.Next.Clone()
	if m.Event != nil {
		s.events[eventKey(*m.Event)] = *m.Event
	}
	for _, ref := range m.Refs {
		s.refs[m.Next.Gateway+"#"+ref] = m.Next.ID
	}
	return nil
}

func (s *Store) RecordEvent(ctx context.Context, r order.EventRecord) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventTaken(r) {
		return order.ErrDuplicateEvent
	}
	s.events[eventKey(r)] = r
	return nil
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, r order.IdempotencyRecord) (*order.IdempotencyRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[r.KeyHash]; ok && s.now().Before(old.ExpiresAt) {
		old.SealedToken = bytes.Clone(old.SealedToken)
		return &old, order.ErrIdempotencyKeyExists
	}
	r.SealedToken = bytes.Clone(r.SealedToken)
	s.keys[r.KeyHash] = r
	return nil, nil
}

// eventTaken reports whether r's event is recorded and not yet expired (as
// DynamoDB's TTL would eventually delete it). Callers hold s.mu.
func (s *Store) eventTaken(r order.EventRecord) bool {
	old, ok := s.events[eventKey(r)]
	return ok && s.now().Before(old.ExpiresAt)
}

func eventKey(r order.EventRecord) string { return r.Gateway + "#" + r.ID }

func (s *Store) Park(ctx context.Context, gateway, ref string, e order.Event) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := gateway + "#" + ref
	exp := s.now().Add(order.EventRetention)
	// As in DynamoDB, the whole list's expiry moves out with every park.
	list := s.parked[k][:0:0]
	for _, p := range s.parked[k] {
		if p.e.ID != e.ID {
			list = append(list, parkedEvent{p.e, exp})
		}
	}
	s.parked[k] = append(list, parkedEvent{e, exp})
	if _, ok := s.parkedAt[k]; !ok {
		s.parkedAt[k] = s.now()
	}
	return nil
}

func (s *Store) Parked(ctx context.Context, gateway, ref string) ([]order.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []order.Event
	for _, p := range s.parked[gateway+"#"+ref] {
		if s.now().Before(p.expires) {
			out = append(out, p.e)
		}
	}
	return out, nil
}

func (s *Store) Unpark(ctx context.Context, gateway, ref string, eventIDs []string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := gateway + "#" + ref
	s.parked[k] = slices.DeleteFunc(s.parked[k], func(p parkedEvent) bool { return slices.Contains(eventIDs, p.e.ID) })
	if len(s.parked[k]) == 0 {
		delete(s.parked, k)
		delete(s.parkedAt, k)
	}
	return nil
}

func (s *Store) ClearReplay(ctx context.Context, orderID string, refs []string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return nil
	}
	o.PendingReplay = slices.DeleteFunc(slices.Clone(o.PendingReplay), func(r string) bool { return slices.Contains(refs, r) })
	if len(o.PendingReplay) == 0 {
		o.PendingReplay = nil
	}
	s.orders[orderID] = o
	return nil
}

func (s *Store) GetForEvent(ctx context.Context, orderID, gateway, eventID string) (*order.Order, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.eventTaken(order.EventRecord{Gateway: gateway, ID: eventID})
	o, ok := s.orders[orderID]
	if !ok {
		return nil, seen, nil
	}
	c := o.Clone()
	return &c, seen, nil
}
