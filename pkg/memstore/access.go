package memstore

import (
	"context"
	"slices"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

var _ subscription.SubscriberIndex = (*Store)(nil)

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
