// Package memstore is the in-memory store of orders and subscriptions for
// `jampay serve` and fast tests. It keeps the DynamoDB store's semantics
// exactly (the same conditional writes, the same errors) and passes the
// same conformance suites, under one mutex.
package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// Store is an in-memory order.Store and subscription.Store. The zero value
// is not usable; call New.
type Store struct {
	mu     sync.Mutex
	now    func() time.Time
	orders map[string]order.Order
	// refs are shared by orders and subscriptions, as in DynamoDB: a
	// reference belongs to one of them, for good.
	refs  map[string]string // gateway + "#" + ref → order or subscription id
	subs  map[string]subscription.Subscription
	plans map[string]string // gateway + "#" + key → plan id
	// emails index subscriptions by subscription.EmailKey, and
	// accessRequests are the last request for links per key (access.go).
	emails         map[string][]string
	accessRequests map[string]time.Time
	events         map[string]order.EventRecord
	keys           map[string]order.IdempotencyRecord
	parked         map[string][]parkedEvent
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
		subs:   map[string]subscription.Subscription{},
		plans:  map[string]string{},
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

// FindByRef finds the order a reference is indexed to; one that belongs
// to a subscription is an *order.ElsewhereError naming it.
func (s *Store) FindByRef(ctx context.Context, gateway, ref string) (*order.Order, error) {
	id, err := s.refOwner(ctx, gateway, ref)
	if err != nil {
		return nil, err
	}
	if !order.ValidID(id) {
		return nil, &order.ElsewhereError{ID: id}
	}
	return s.GetOrder(ctx, id)
}

// refOwner is the id of the order or subscription a reference is indexed
// to; order.ErrNotFound if it is indexed to none.
func (s *Store) refOwner(ctx context.Context, gateway, ref string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.refs[gateway+"#"+ref]
	if !ok {
		return "", order.ErrNotFound
	}
	return id, nil
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
	if s.refsTaken(m.Next.Gateway, m.Next.ID, m.Refs) {
		return order.ErrRefTaken
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

// refsTaken reports whether one of refs already belongs to another order
// or subscription than id. Callers hold s.mu.
func (s *Store) refsTaken(gateway, id string, refs []string) bool {
	for _, ref := range refs {
		// A gateway reference belongs to one order or subscription, for good.
		if owner, ok := s.refs[gateway+"#"+ref]; ok && owner != id {
			return true
		}
	}
	return false
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
	o.PendingReplay = withoutRefs(o.PendingReplay, refs)
	s.orders[orderID] = o
	return nil
}

// withoutRefs is pending without refs, in a new slice (the stored one may
// be shared with a clone handed out), nil when none is left, as a
// DynamoDB set left empty is removed.
func withoutRefs(pending, refs []string) []string {
	out := slices.DeleteFunc(slices.Clone(pending), func(r string) bool { return slices.Contains(refs, r) })
	if len(out) == 0 {
		return nil
	}
	return out
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
