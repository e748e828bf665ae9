package shop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// ClaimFor is how long a dispatcher holds an effect it claimed. A sender
// that crashed after claiming leaves the effect claimed; once the claim
// passes, the next dispatcher sends it. It must outlast any one send (SES
// and EventBridge answer in seconds, and a Lambda is stopped well before),
// or a slow sender and its successor would both send.
const ClaimFor = 2 * time.Minute

// DispatchAttempts is how many sending attempts an effect gets before it
// is parked as failed, for the owner to see and retry (`jampay effects`).
// A claim counts as an attempt, so a sender that crashes on one effect
// every time parks it too instead of retrying forever.
const DispatchAttempts = 5

// dispatchWrites bounds the rereads of one claim or mark that keeps losing
// its conditional write to the order's other writers.
const dispatchWrites = 32

// DispatchReport says what one Dispatch did with the order's outbox.
type DispatchReport struct {
	Sent    int // sent (at least one of its mail and event went)
	Skipped int // nothing to send: no address, no MAIL_FROM, no bus
	Retry   int // failed and owed again
	Failed  int // failed DispatchAttempts times: parked
	// Held: it stopped at an effect another dispatcher has claimed. That
	// one sends it, and later effects wait for it (version order); if it
	// crashed, the effect is taken up once its claim passes.
	Held bool
}

// ErrNoRenderer: Dispatch needs a Renderer to know what to send.
var ErrNoRenderer = errors.New("shop: dispatching effects needs a Renderer")

// Dispatch sends what order orderID's outbox owes, in version order: each
// effect is claimed (a conditional write of the order), rendered, sent,
// and marked sent, skipped, owed again or failed (a second conditional
// write). The claim is what makes it exactly once per change among any
// number of dispatchers (the stream's retries, the reconcile sweep,
// jampay serve): none sends an effect another holds or has sent. Only a
// sender that dies between sending and marking causes a second send, once
// its claim passes. holder names the dispatcher in the outbox, for the
// owner's look.
//
// It stops at an effect another dispatcher holds (so a later version is
// never sent before it) and at one that failed and is owed again, with
// the send's error: the caller's retry (a stream redelivery, the next
// sweep) takes it up. An effect parked as failed does not hold up the
// ones after it: they would otherwise wait on the owner.
func (s *Service) Dispatch(ctx context.Context, orderID, holder string) (DispatchReport, error) {
	var rep DispatchReport
	if s.Renderer == nil {
		return rep, ErrNoRenderer
	}
	for {
		o, w, held, err := s.claimEffect(ctx, orderID, holder)
		if err != nil || o == nil {
			rep.Held = held
			return rep, err
		}
		state, sendErr := s.sendEffect(ctx, o, w.Effect)
		state, err = s.markEffect(ctx, orderID, w, state, sendErr)
		if err != nil {
			return rep, err
		}
		switch state {
		case order.EffectSent:
			rep.Sent++
		case order.EffectSkipped:
			rep.Skipped++
		case order.EffectFailed:
			rep.Failed++
		case order.EffectOwed:
			rep.Retry++
			return rep, fmt.Errorf("sending %s v%d %s (attempt %d): %w", orderID, w.Version, w.Type, w.Attempts, sendErr)
		}
		// "" : the claim had passed and another dispatcher took the
		// effect over; the next claim finds where things stand.
	}
}

// claimEffect claims the first effect of the order still to send: owed,
// or claimed by a dispatcher whose claim has passed. It answers the order
// as written with the claim and the claimed entry; a nil order when there
// is nothing to claim, held when the first effect to send is another's.
func (s *Service) claimEffect(ctx context.Context, id, holder string) (*order.Order, order.Owed, bool, error) {
	for range dispatchWrites {
		o, err := s.Store.GetOrder(ctx, id)
		if err != nil {
			return nil, order.Owed{}, false, err
		}
		now := s.Now()
		i := nextToSend(o.Outbox)
		if i < 0 {
			return nil, order.Owed{}, false, nil
		}
		w := o.Outbox[i]
		if w.State == order.EffectClaimed && now.Before(w.ClaimedUntil) {
			return nil, order.Owed{}, true, nil
		}
		next := o.Clone()
		next.Version++
		w.State, w.ClaimedUntil, w.Attempts = order.EffectClaimed, now.Add(ClaimFor), w.Attempts+1
		// Each claim is told apart from every other, even by one holder
		// name: the mark checks it is still this claim.
		w.Holder = holder + "/" + claimTag()
		next.Outbox[i] = w
		// Same status, no event: the write changes only the outbox, and
		// its version condition is what one dispatcher wins.
		err = s.Store.Move(ctx, order.Move{Next: next, From: o.Status, FromVersion: o.Version})
		if err == nil {
			return &next, w, false, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, order.Owed{}, false, err
		}
		// The order moved meanwhile (an event, another dispatcher): that
		// only ever appends to the outbox or claims from it; look again.
		if err := ctx.Err(); err != nil {
			return nil, order.Owed{}, false, &order.StoreError{Err: err}
		}
	}
	return nil, order.Owed{}, false, &order.StoreError{Err: errors.New(id + " kept changing while claiming its effect")}
}

// nextToSend is the index of the first effect neither done nor parked:
// the outbox is in version order, so it is the one to send next.
func nextToSend(outbox []order.Owed) int {
	for i, w := range outbox {
		if w.State == order.EffectOwed || w.State == order.EffectClaimed {
			return i
		}
	}
	return -1
}

// sendEffect renders e and sends it: the owner's event first, the mail
// last. A failure after the event went sends it again on the retry, which
// its stable id lets consumers drop; a mail has no such id, so nothing
// that can fail comes after it.
func (s *Service) sendEffect(ctx context.Context, o *order.Order, e order.Effect) (string, error) {
	mail, ev, err := s.Renderer.Render(*o, e)
	if err != nil {
		return "", err
	}
	state := order.EffectSkipped
	if s.Publisher != nil {
		if err := s.Publisher.Publish(ctx, ev); err != nil {
			return "", err
		}
		state = order.EffectSent
	}
	// No address, or no MAIL_FROM: the mail is skipped, not failed.
	if mail != nil && o.Email != "" && s.MailEnabled && s.Mailer != nil {
		m := *mail
		if m.To == "" {
			m.To = o.Email
		}
		if err := s.Mailer.Send(ctx, m); err != nil {
			return "", err
		}
		state = order.EffectSent
	}
	return state, nil
}

// maxLastError keeps a failure's message from growing the order item.
const maxLastError = 500

// markEffect records how sending the claimed entry w went: state, or on
// sendErr owed again (failed once its attempts are spent). It answers the
// state written, or "" if w's claim is no longer there (it passed and
// another dispatcher took the effect).
func (s *Service) markEffect(ctx context.Context, id string, w order.Owed, state string, sendErr error) (string, error) {
	for range dispatchWrites {
		o, err := s.Store.GetOrder(ctx, id)
		if err != nil {
			return "", err
		}
		i := -1
		for j, x := range o.Outbox {
			if x.Version == w.Version && x.Type == w.Type {
				i = j
				break
			}
		}
		if i < 0 || o.Outbox[i].State != order.EffectClaimed || o.Outbox[i].Holder != w.Holder {
			return "", nil
		}
		next := o.Clone()
		next.Version++
		m := &next.Outbox[i]
		m.ClaimedUntil, m.State, m.LastError = time.Time{}, state, ""
		if sendErr != nil {
			m.State, m.LastError = order.EffectOwed, sendErr.Error()
			if len(m.LastError) > maxLastError {
				m.LastError = m.LastError[:maxLastError]
			}
			if m.Attempts >= DispatchAttempts {
				m.State = order.EffectFailed
			}
		}
		err = s.Store.Move(ctx, order.Move{Next: next, From: o.Status, FromVersion: o.Version})
		if err == nil {
			return m.State, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return "", err
		}
		if err := ctx.Err(); err != nil {
			return "", &order.StoreError{Err: err}
		}
	}
	return "", &order.StoreError{Err: errors.New(id + " kept changing while marking its effect")}
}

// claimTag is a random tag for one claim.
func claimTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
