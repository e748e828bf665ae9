package shop

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// EventEffectsRetried is the history's event type for the owner's retry
// of an order's (or a subscription's) failed effects.
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
// order or subscription id that failed (`jampay effects retry`), in one
// conditional write of the item with its history entry (the owner's, by
// actor), then dispatches them. Owed again, each goes through Dispatch's
// claim like any other, so a retry never sends what another dispatcher
// sends. An item with nothing failed is left as it is (Retried 0).
func (s *Service) RetryEffects(ctx context.Context, id, actor string) (RetryReport, error) {
	if subscription.ValidID(id) {
		if s.Subs == nil {
			return RetryReport{}, fmt.Errorf("shop: retrying the effects of %s needs a subscription store", id)
		}
		return retryEffects(ctx, s, s.subscriptionOutboxes(), id, actor)
	}
	return retryEffects(ctx, s, s.orderOutboxes(), id, actor)
}

func retryEffects[T any](ctx context.Context, s *Service, k outboxed[T], id, actor string) (RetryReport, error) {
	var rep RetryReport
	for range dispatchWrites {
		t, err := k.get(ctx, id)
		if err != nil {
			return rep, err
		}
		next := k.clone(*t)
		p := k.parts(&next)
		n := 0
		for i := range *p.Outbox {
			if w := &(*p.Outbox)[i]; w.State == order.EffectFailed {
				// LastError stays, for the owner's look until it is sent.
				w.State, w.Attempts, w.ClaimedUntil, w.Holder = order.EffectOwed, 0, time.Time{}, ""
				n++
			}
		}
		if n == 0 {
			return rep, nil
		}
		now := s.Now()
		*p.Version++
		*p.UpdatedAt = now
		*p.History = order.AppendHistory(*p.History, order.Change{
			At: now, EventID: "effects-retry-v" + strconv.FormatInt(*p.Version, 10), EventType: EventEffectsRetried,
			Source: order.SourceOwner, Actor: actor, From: p.Status, To: p.Status,
		})
		err = k.put(ctx, t, next)
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
		rep.Dispatch, err = s.Dispatch(ctx, id, "owner:"+actor)
		return rep, err
	}
	return rep, &order.StoreError{Err: errors.New(id + " kept changing while retrying its effects")}
}
