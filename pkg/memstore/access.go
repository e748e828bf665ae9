package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var (
	_ subscription.SubscriberIndex = (*Store)(nil)
	_ shop.AccessRequests          = (*Store)(nil)
)

func (s *Store) IndexEmail(ctx context.Context, emailKey, id string) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emails == nil {
		s.emails = map[string][]string{}
	}
	if !slices.Contains(s.emails[emailKey], id) {
		s.emails[emailKey] = append(s.emails[emailKey], id)
	}
	return nil
}

func (s *Store) ByEmail(ctx context.Context, emailKey string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.emails[emailKey]), nil
}

// RequestAccess records a request for access links. The in-memory store
// has no stream: jampay serve turns the request into links at once
// (shop.Service.AccessRequested).
func (s *Store) RequestAccess(ctx context.Context, emailKey string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return &order.StoreError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accessRequests == nil {
		s.accessRequests = map[string]time.Time{}
	}
	s.accessRequests[emailKey] = at
	return nil
}
