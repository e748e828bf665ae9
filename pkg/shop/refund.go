package shop

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// refundInFlight is how long after it was written a refund request with no
// answer yet is taken to be in flight in the process that wrote it.
const refundInFlight = 30 * time.Second

// Refund asks the order's gateway to refund req.Amount of its payment (0:
// all that is still refundable), for the owner (jampay refund, the local
// dashboard).
//
// The request is first written on the order — with its history entry, in
// one conditional write on the order's version — and only then sent to the
// gateway, under the idempotency key order.RefundKey(id, seq). So what is
// refundable always counts the refunds still pending, and two terminals
// asking at once cannot both take the same money: one wins the write, the
// other reads the order again and finds less left. The order's status does
// not move here; it moves when the gateway confirms, by its webhook or by
// reconcile (invariant 3).
//
// A request the gateway never answered (a timeout, a 5xx, a process that
// died between the write and the call) stays on the order. The next call
// for the order asks again for that request, under the same key, before it
// reserves anything new; the gateway refunds it once however often it is
// asked. A request the gateway refused for good (order.CodeRefundRefused)
// is marked so, and stops counting.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if req.Amount < 0 {
		return RefundResult{}, order.Errorf(order.CodeInvalidAmount, "A refund amount must be positive, not %d.", req.Amount)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		o, err := s.Store.GetOrder(ctx, req.OrderID)
		if err != nil {
			return RefundResult{}, err
		}
		rf := s.Refunders[o.Gateway]
		if rf == nil {
			return RefundResult{Order: o}, order.Errorf(order.CodeUnknownGateway, "Order %s was paid through %s, and no refund client for it is configured (its keys are missing).", o.ID, o.Gateway)
		}
		// Checked before a retry too: an order disputed since the request
		// was written is not asked for its refund until the dispute closes.
		if err := o.CheckRefundable(); err != nil {
			return RefundResult{Order: o}, err
		}
		if r, ok := o.UnansweredRefund(); ok {
			if s.Now().Sub(r.At) < refundInFlight {
				// Another terminal wrote it a moment ago and is asking the
				// gateway now: asking again would be safe (the same key),
				// but it is that terminal's answer to give.
				return RefundResult{Order: o, Amount: r.Amount, Seq: r.Seq}, order.Errorf(order.CodeRefundPending,
					"Refund #%d of %d (%s minor units) for order %s is being asked of %s right now (by %s); see its answer in a moment with jampay order %s.",
					r.Seq, r.Amount, o.Currency, o.ID, o.Gateway, r.Actor, o.ID)
			}
			if req.Amount != 0 && req.Amount != r.Amount {
				return RefundResult{Order: o, Amount: r.Amount, Seq: r.Seq}, order.Errorf(order.CodeRefundPending,
					"Refund #%d of %d (%s minor units) for order %s, asked at %s by %s, has no answer from %s yet. Ask again with no amount (or with %d): it is sent under the same idempotency key, so it cannot refund twice. Another amount can be asked once it is answered.",
					r.Seq, r.Amount, o.Currency, o.ID, r.At.UTC().Format("2006-01-02 15:04:05Z"), r.Actor, o.Gateway, r.Amount)
			}
			res, err := s.sendRefund(ctx, o, r, rf, req.Actor)
			res.Retried = true
			return res, err
		}
		next, r, err := o.RequestRefund(req.Amount, req.Actor, s.Now())
		if err != nil {
			return RefundResult{Order: o}, err
		}
		err = s.Store.Move(ctx, order.Move{Next: next, From: o.Status, FromVersion: o.Version})
		switch {
		case err == nil:
			return s.sendRefund(ctx, &next, r, rf, req.Actor)
		case errors.Is(err, order.ErrConflict):
			// Another terminal's request, or a gateway event, was written
			// first: decide again from what the order is now.
		default:
			return RefundResult{Order: o}, err
		}
		if err := ctx.Err(); err != nil {
			return RefundResult{Order: o}, &order.StoreError{Err: err}
		}
	}
	return RefundResult{}, &order.StoreError{Err: fmt.Errorf("order %s kept changing; nothing was asked of the gateway, try again", req.OrderID)}
}

// sendRefund asks the gateway for request r of o, which is stored, and
// records its answer on the order.
func (s *Service) sendRefund(ctx context.Context, o *order.Order, r order.Refund, rf Refunder, actor string) (RefundResult, error) {
	res := RefundResult{Order: o, Amount: r.Amount, Seq: r.Seq}
	id, err := rf.Refund(ctx, *o, r.Amount, order.RefundKey(o.ID, r.Seq))
	if err != nil {
		if order.ErrorCode(err) == order.CodeRefundRefused {
			// The gateway said no for good (more than the charge has left,
			// a payment it does not know): the request no longer holds
			// money back, and the next one is a new request. If this write
			// fails, the next call asks again and hears the same no.
			if next, werr := s.editOrder(ctx, o, func(cur order.Order) (order.Order, bool) {
				return cur.RefuseRefund(r.Seq, order.Clip(err.Error(), 300), actor, s.Now())
			}); werr == nil {
				res.Order = next
			}
			return res, err
		}
		return res, fmt.Errorf("%w: %w", order.Errorf(order.CodeGatewayError,
			"%s did not take refund #%d of order %s; the request is kept, and asking again sends it under the same idempotency key", o.Gateway, r.Seq, o.ID), err)
	}
	res.RefundID = id
	// Best effort: the refund is made whatever happens here. A request
	// left without its id is asked again by the next call, under the same
	// key, and the gateway answers with this same refund.
	next, err := s.editOrder(ctx, o, func(cur order.Order) (order.Order, bool) {
		return cur.RecordRefundID(r.Seq, id, s.Now())
	})
	if err != nil {
		res.Unrecorded = err
		return res, nil
	}
	res.Order = next
	return res, nil
}

// editOrder writes edit's change of o with a conditional write, reading
// the order again and redoing the edit when another write lands first. It
// returns the order as stored after.
func (s *Service) editOrder(ctx context.Context, o *order.Order, edit func(order.Order) (order.Order, bool)) (*order.Order, error) {
	cur := o
	for attempt := 0; attempt < maxAttempts; attempt++ {
		next, changed := edit(*cur)
		if !changed {
			return cur, nil
		}
		err := s.Store.Move(ctx, order.Move{Next: next, From: cur.Status, FromVersion: cur.Version})
		if err == nil {
			return &next, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, err
		}
		if cur, err = s.Store.GetOrder(ctx, o.ID); err != nil {
			return nil, err
		}
	}
	return nil, &order.StoreError{Err: fmt.Errorf("order %s kept changing", o.ID)}
}
