package shop

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// EventEffectsRetried is the history's event type for the owner's retry
// of an order's failed effects.
const EventEffectsRetried = "jampay.effects_retried"

// RetryReport says what RetryEffects did.
type RetryReport struct {
	// Retried is how many failed effects were owed again.
	Retried int
	// Dispatch is what sending them did (nothing without a Renderer: the
	// stream's notify function, or the next reconcile run, sends them).
	Dispatch DispatchReport
}

// RetryEffects owes again, with a fresh count of attempts, every effect of
// order orderID that failed (`jampay effects retry`), in one conditional
// write of the order with its history entry (the owner's, by actor), then
// dispatches them. Owed again, each goes through Dispatch's claim like
// any other, so a retry never sends what another dispatcher sends. An
// order with nothing failed is left as it is (Retried 0).
func (s *Service) RetryEffects(ctx context.Context, orderID, actor string) (RetryReport, error) {
	var rep RetryReport
	for range dispatchWrites {
		o, err := s.Store.GetOrder(ctx, orderID)
		if err != nil {
			return rep, err
		}
		next := o.Clone()
		n := 0
		for i := range next.Outbox {
			if w := &next.Outbox[i]; w.State == order.EffectFailed {
				// LastError stays, for the owner's look until it is sent.
				w.State, w.Attempts, w.ClaimedUntil, w.Holder = order.EffectOwed, 0, time.Time{}, ""
				n++
			}
		}
		if n == 0 {
			return rep, nil
		}
		now := s.Now()
		next.Version, next.UpdatedAt = o.Version+1, now
		next.History = order.AppendHistory(o.History, order.Change{
			At: now, EventID: "effects-retry-v" + strconv.FormatInt(next.Version, 10), EventType: EventEffectsRetried,
			Source: order.SourceOwner, Actor: actor, From: o.Status, To: o.Status,
		})
		err = s.Store.Move(ctx, order.Move{Next: next, From: o.Status, FromVersion: o.Version})
		if errors.Is(err, order.ErrConflict) {
			// Moved meanwhile (an event, a dispatcher): look again.
			if err := ctx.Err(); err != nil {
				return rep, &order.StoreError{Err: err}
			}
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Retried = n
		if s.Renderer == nil {
			return rep, nil
		}
		rep.Dispatch, err = s.Dispatch(ctx, orderID, "owner:"+actor)
		return rep, err
	}
	return rep, &order.StoreError{Err: errors.New(orderID + " kept changing while retrying its effects")}
}
