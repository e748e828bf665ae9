package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Subscriptions are kept beside the orders, under the same mutex, with the
// orders' event records and references (a reference belongs to one order
// or subscription, for good), as the DynamoDB store keeps them in one
// table.

var (
	_ subscription.Store     = (*Store)(nil)
	_ subscription.PlanStore = (*Store)(nil)
)

func (s *Store) CreateSubscription(ctx context.Context, sub *subscription.Subscription) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub.ID]; ok {
		return order.ErrConflict
	}
	s.subs[sub.ID] = sub.Clone()
	return nil
}

func (s *Store) GetSubscription(ctx context.Context, id string) (*subscription.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil, order.ErrNotFound
	}
	c := sub.Clone()
	return &c, nil
}

func (s *Store) GetSubscriptionForEvent(ctx context.Context, id, gateway, eventID string) (*subscription.Subscription, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.eventTaken(order.EventRecord{Gateway: gateway, ID: eventID})
	sub, ok := s.subs[id]
	if !ok {
		return nil, seen, nil
	}
	c := sub.Clone()
	return &c, seen, nil
}

// FindSubscriptionByRef finds the subscription a reference is indexed to;
// one that belongs to an order is an *order.ElsewhereError naming it.
func (s *Store) FindSubscriptionByRef(ctx context.Context, gateway, ref string) (*subscription.Subscription, error) {
	id, err := s.refOwner(ctx, gateway, ref)
	if err != nil {
		return nil, err
	}
	if order.ValidID(id) {
		return nil, &order.ElsewhereError{ID: id}
	}
	return s.GetSubscription(ctx, id)
}

// MoveSubscription writes m if the stored subscription is still m.From at
// m.FromVersion. Its refusals come in the DynamoDB store's order: an event
// already recorded first, then a lost race, then a reference taken.
func (s *Store) MoveSubscription(ctx context.Context, m subscription.Move) error {
	if err := subscription.CheckMove(m); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Event != nil && s.eventTaken(*m.Event) {
		return order.ErrDuplicateEvent
	}
	cur, ok := s.subs[m.Next.ID]
	if !ok || cur.Status != m.From || cur.Version != m.FromVersion {
		return order.ErrConflict
	}
	if s.refsTaken(m.Next.Gateway, m.Next.ID, m.Refs) {
		return order.ErrRefTaken
	}
	s.subs[m.Next.ID] = m.Next.Clone()
	if m.Event != nil {
		s.events[eventKey(*m.Event)] = *m.Event
	}
	for _, ref := range m.Refs {
		s.refs[m.Next.Gateway+"#"+ref] = m.Next.ID
	}
	return nil
}

func (s *Store) ClearSubscriptionReplay(ctx context.Context, id string, refs []string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil
	}
	sub.PendingReplay = withoutRefs(sub.PendingReplay, refs)
	s.subs[id] = sub
	return nil
}

func (s *Store) Plan(ctx context.Context, gateway, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.plans[gateway+"#"+key]
	if !ok {
		return "", order.ErrNotFound
	}
	return id, nil
}

func (s *Store) PutPlan(ctx context.Context, gateway, key, planID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &order.StoreError{Err: err}
	}
	if planID == "" {
		return "", fmt.Errorf("memstore: no plan id to store under %s %q", gateway, key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.plans[gateway+"#"+key]; ok {
		return id, nil
	}
	s.plans[gateway+"#"+key] = planID
	return planID, nil
}

// openSubs is the queue OpenSubscriptions walks, named as the DynamoDB
// store's, whose cursors it mirrors.
const openSubs = "opensub"

// OpenSubscriptions walks every subscription not in a final status in the
// DynamoDB index's order: by its checkout deadline (its creation if it has
// none), to the second, then by id.
func (s *Store) OpenSubscriptions(ctx context.Context, limit int, after string) ([]subscription.Subscription, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return queueOf(s.subs, openSubs, limit, after, func(sub *subscription.Subscription) (time.Time, bool) {
		if sub.Status.Final() {
			return time.Time{}, false
		}
		if sub.Deadline.IsZero() {
			return sub.CreatedAt, true
		}
		return sub.Deadline, true
	}, subscription.Subscription.Clone)
}

// ListSubscriptions lists the subscriptions in status ("" for any), newest
// first across every page, at most limit at a time, as ListOrders lists
// orders.
func (s *Store) ListSubscriptions(ctx context.Context, status subscription.Status, limit int, after string) ([]subscription.Subscription, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []subscription.Subscription
	for _, sub := range s.subs {
		if status == "" || sub.Status == status {
			all = append(all, sub)
		}
	}
	return listPage(all, "subscriptions", limit, after, func(sub subscription.Subscription) (time.Time, string) {
		return sub.CreatedAt, sub.ID
	}, subscription.Subscription.Clone)
}
