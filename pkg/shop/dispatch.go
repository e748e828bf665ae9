package shop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
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
// its conditional write to the item's other writers.
const dispatchWrites = 32

// DispatchReport says what one Dispatch did with the outbox.
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

// outboxed is how the dispatcher reaches one kind of item that carries an
// outbox — an order, a subscription —: the claim, send and mark logic is
// written once over it, so both kinds keep invariant 10 the same way.
type outboxed[T any] struct {
	// get reads the item strongly (order.ErrNotFound if there is none).
	get func(ctx context.Context, id string) (*T, error)
	// parts points into t's fields the dispatcher reads and writes.
	parts func(t *T) outboxParts
	clone func(T) T
	// render is the Renderer's method for the kind (an access link also
	// makes its token: see accessLinkMail).
	render func(ctx context.Context, t T, e order.Effect) (*Mail, OwnerEvent, error)
	// put writes next — prev with its outbox (and history) changed and
	// its version one up, nothing else — conditional on prev's status and
	// version: order.ErrConflict if either moved.
	put func(ctx context.Context, prev *T, next T) error
}

// outboxParts are an item's fields the dispatcher touches.
type outboxParts struct {
	Outbox    *[]order.Owed
	History   *[]order.Change
	Version   *int64
	UpdatedAt *time.Time
	Status    order.Status
	Email     string
}

// orderOutboxes is the order kind of outboxed.
func (s *Service) orderOutboxes() outboxed[order.Order] {
	return outboxed[order.Order]{
		get: s.Store.GetOrder,
		parts: func(o *order.Order) outboxParts {
			return outboxParts{&o.Outbox, &o.History, &o.Version, &o.UpdatedAt, o.Status, o.Email}
		},
		clone: order.Order.Clone,
		render: func(_ context.Context, o order.Order, e order.Effect) (*Mail, OwnerEvent, error) {
			return s.Renderer.Render(o, e)
		},
		put: func(ctx context.Context, prev *order.Order, next order.Order) error {
			return s.Store.Move(ctx, order.Move{Next: next, From: prev.Status, FromVersion: prev.Version})
		},
	}
}

// subscriptionOutboxes is the subscription kind of outboxed.
func (s *Service) subscriptionOutboxes() outboxed[subscription.Subscription] {
	return outboxed[subscription.Subscription]{
		get: s.Subs.GetSubscription,
		parts: func(t *subscription.Subscription) outboxParts {
			return outboxParts{&t.Outbox, &t.History, &t.Version, &t.UpdatedAt, order.Status(t.Status), t.Email}
		},
		clone: subscription.Subscription.Clone,
		render: func(ctx context.Context, t subscription.Subscription, e order.Effect) (*Mail, OwnerEvent, error) {
			if e.Mail == subscription.MailAccessLink {
				return s.accessLinkMail(ctx, t)
			}
			return s.Renderer.RenderSubscription(t, e)
		},
		put: func(ctx context.Context, prev *subscription.Subscription, next subscription.Subscription) error {
			// Same status: CheckMove lets it through whatever the status,
			// final ones included.
			return s.Subs.MoveSubscription(ctx, subscription.Move{Next: next, From: prev.Status, FromVersion: prev.Version})
		},
	}
}

// Dispatch sends what the outbox of order or subscription id owes (a
// subscription id, subscription.ValidID, names a subscription), in version
// order: each effect is claimed (a conditional write of the item),
// rendered, sent, and marked sent, skipped, owed again or failed (a second
// conditional write). The claim is what makes it exactly once per change
// among any number of dispatchers (the stream's retries, the reconcile
// sweep, jampay serve): none sends an effect another holds or has sent.
// Only a sender that dies between sending and marking causes a second
// send, once its claim passes. holder names the dispatcher in the outbox,
// for the owner's look.
//
// It stops at an effect another dispatcher holds (so a later version is
// never sent before it) and at one that failed and is owed again, with
// the send's error: the caller's retry (a stream redelivery, the next
// sweep) takes it up. An effect parked as failed does not hold up the
// ones after it: they would otherwise wait on the owner.
func (s *Service) Dispatch(ctx context.Context, id, holder string) (DispatchReport, error) {
	if s.Renderer == nil {
		return DispatchReport{}, ErrNoRenderer
	}
	if subscription.ValidID(id) {
		if s.Subs == nil {
			return DispatchReport{}, fmt.Errorf("shop: dispatching %s needs a subscription store", id)
		}
		return dispatch(ctx, s, s.subscriptionOutboxes(), id, holder)
	}
	return dispatch(ctx, s, s.orderOutboxes(), id, holder)
}

func dispatch[T any](ctx context.Context, s *Service, k outboxed[T], id, holder string) (DispatchReport, error) {
	var rep DispatchReport
	for {
		t, w, held, err := claimEffect(ctx, s, k, id, holder)
		if err != nil || t == nil {
			rep.Held = held
			return rep, err
		}
		state, sendErr := sendEffect(ctx, s, k, t, w.Effect)
		state, err = markEffect(ctx, k, id, w, state, sendErr)
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
			return rep, fmt.Errorf("sending %s v%d %s (attempt %d): %w", id, w.Version, w.Type, w.Attempts, sendErr)
		}
		// "" : the claim had passed and another dispatcher took the
		// effect over; the next claim finds where things stand.
	}
}

// claimEffect claims the first effect of the item still to send: owed, or
// claimed by a dispatcher whose claim has passed. It answers the item as
// written with the claim and the claimed entry; a nil item when there is
// nothing to claim, held when the first effect to send is another's.
func claimEffect[T any](ctx context.Context, s *Service, k outboxed[T], id, holder string) (*T, order.Owed, bool, error) {
	for range dispatchWrites {
		t, err := k.get(ctx, id)
		if err != nil {
			return nil, order.Owed{}, false, err
		}
		now := s.Now()
		outbox := *k.parts(t).Outbox
		i := nextToSend(outbox)
		if i < 0 {
			return nil, order.Owed{}, false, nil
		}
		w := outbox[i]
		if w.State == order.EffectClaimed && now.Before(w.ClaimedUntil) {
			return nil, order.Owed{}, true, nil
		}
		next := k.clone(*t)
		p := k.parts(&next)
		*p.Version++
		w.State, w.ClaimedUntil, w.Attempts = order.EffectClaimed, now.Add(ClaimFor), w.Attempts+1
		// Each claim is told apart from every other, even by one holder
		// name: the mark checks it is still this claim.
		w.Holder = holder + "/" + claimTag()
		(*p.Outbox)[i] = w
		// Same status, no event: the write changes only the outbox, and
		// its version condition is what one dispatcher wins.
		err = k.put(ctx, t, next)
		if err == nil {
			return &next, w, false, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, order.Owed{}, false, err
		}
		// The item moved meanwhile (an event, another dispatcher): that
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
func sendEffect[T any](ctx context.Context, s *Service, k outboxed[T], t *T, e order.Effect) (string, error) {
	mail, ev, err := k.render(ctx, *t, e)
	if err != nil {
		return "", err
	}
	state := order.EffectSkipped
	if s.Publisher != nil && ev.DetailType != "" {
		// An effect with no detail-type owes the owner nothing (an access
		// link is the subscriber's alone).
		if err := s.Publisher.Publish(ctx, ev); err != nil {
			return "", err
		}
		state = order.EffectSent
	}
	// No address, or no MAIL_FROM: the mail is skipped, not failed.
	email := k.parts(t).Email
	if mail != nil && email != "" && s.MailEnabled && s.Mailer != nil {
		m := *mail
		if m.To == "" {
			m.To = email
		}
		if err := s.Mailer.Send(ctx, m); err != nil {
			return "", err
		}
		state = order.EffectSent
	}
	return state, nil
}

// maxLastError keeps a failure's message from growing the item.
const maxLastError = 500

// markEffect records how sending the claimed entry w went: state, or on
// sendErr owed again (failed once its attempts are spent). It answers the
// state written, or "" if w's claim is no longer there (it passed and
// another dispatcher took the effect).
func markEffect[T any](ctx context.Context, k outboxed[T], id string, w order.Owed, state string, sendErr error) (string, error) {
	for range dispatchWrites {
		t, err := k.get(ctx, id)
		if err != nil {
			return "", err
		}
		outbox := *k.parts(t).Outbox
		i := -1
		for j, x := range outbox {
			if x.Version == w.Version && x.Type == w.Type {
				i = j
				break
			}
		}
		if i < 0 || outbox[i].State != order.EffectClaimed || outbox[i].Holder != w.Holder {
			return "", nil
		}
		next := k.clone(*t)
		p := k.parts(&next)
		*p.Version++
		m := &(*p.Outbox)[i]
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
		err = k.put(ctx, t, next)
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
