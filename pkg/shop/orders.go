package shop

import (
	"cmp"
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// ApplyEvent applies a verified gateway event to the order it belongs to
// (see apply): one conditional write that records the event, effects once
// for a status change this call won, and the parked events the order is
// owed taken up.
func (s *Service) ApplyEvent(ctx context.Context, e order.Event) (Outcome, *order.Order, error) {
	a, err := s.Apply(ctx, e)
	return a.Outcome, a.Order, err
}

// ReplayParked takes up the parked events o is owed (its PendingReplay):
// for the reconcile job and the owner's tools.
func (s *Service) ReplayParked(ctx context.Context, o *order.Order) error {
	return replayParked(ctx, s.orders(), s.Store, o, s.Now())
}

// orders is the order kind of the event machinery.
func (s *Service) orders() kind[order.Order] {
	st := s.Store
	k := kind[order.Order]{
		get:   st.GetForEvent,
		find:  st.FindByRef,
		named: order.ValidID,
		head: func(o *order.Order) head {
			return head{ID: o.ID, Gateway: o.Gateway, SessionRef: o.SessionRef, Status: string(o.Status),
				Version: o.Version, CreatedAt: o.CreatedAt, PendingReplay: o.PendingReplay}
		},
		decide: order.Apply,
		refs:   newRefs,
		advance: func(next, prev *order.Order, e order.Event, now time.Time, replay []string) {
			next.Version, next.UpdatedAt, next.PendingReplay = prev.Version+1, now, replay
			// The history is written with the change it records: one write.
			next.History = order.AppendHistory(prev.History, order.Change{
				At: now, EventID: e.ID, EventType: e.Type, Source: cmp.Or(e.Source, order.SourceWebhook),
				Actor: e.Actor, From: prev.Status, To: next.Status,
			})
			// And what it owes people, in the same write (invariant 10).
			next.Outbox = order.AppendOwed(prev.Outbox, order.OwedEffects(*prev, *next, now))
		},
		move: func(ctx context.Context, prev *order.Order, next order.Order, rec *order.EventRecord, refs []string) error {
			err := order.MoveIndexing(ctx, st, order.Move{Next: next, From: prev.Status, FromVersion: prev.Version, Event: rec, Refs: refs})
			if err == nil && s.Owed != nil && owesMore(prev, &next) {
				s.Owed(ctx, next)
			}
			return err
		},
		reread:      st.GetOrder,
		clearReplay: st.ClearReplay,
	}
	if s.Effects != nil {
		k.effects = func(ctx context.Context, before, after order.Order) { s.Effects(ctx, before, after) }
	}
	return k
}

// newRefs lists the gateway references next has that prev did not, to index.
func newRefs(prev, next *order.Order) []string {
	var refs []string
	if next.SessionRef != prev.SessionRef && next.SessionRef != "" {
		refs = append(refs, next.SessionRef)
	}
	if next.PaymentRef != prev.PaymentRef && next.PaymentRef != "" {
		refs = append(refs, next.PaymentRef)
	}
	return refs
}

// owesMore reports whether next's outbox holds an effect prev's did not.
func owesMore(prev, next *order.Order) bool {
	for _, o := range next.Outbox {
		if o.Version > prev.Version {
			return true
		}
	}
	return false
}
