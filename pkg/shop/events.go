package shop

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Outcome says what handling one gateway event did.
type Outcome string

// The outcomes of applying an event.
const (
	Moved     Outcome = "moved"     // the target changed status
	Updated   Outcome = "updated"   // the target changed, its status did not
	Unchanged Outcome = "unchanged" // the event told us nothing new
	Duplicate Outcome = "duplicate" // the event was recorded before
	NoOrder   Outcome = "no_order"  // nothing of ours matches the event
	Parked    Outcome = "parked"    // kept until its reference is indexed
	Ignored   Outcome = "ignored"   // a kind of event jampay does not act on
	// Foreign: the event names something of ours but a checkout that is
	// not its own (a session or Razorpay order jampay did not make for
	// it). It moves nothing (invariant 9).
	Foreign Outcome = "foreign"
)

// maxAttempts bounds the read-decide-write loop when other deliveries keep
// winning the conditional write; past it the caller answers 5xx and the
// gateway redelivers later.
const maxAttempts = 8

// attachGrace is how long after a target is created an event naming its
// checkout may arrive before the checkout is recorded on it: the gateway
// made it, and the write that records it is still on its way. Such an event
// is answered 5xx, so the gateway brings it again. Past it, a checkout the
// target never recorded is not its own.
const attachGrace = 10 * time.Minute

var errCheckoutNotRecorded = errors.New("the checkout is not recorded yet; the gateway will redeliver")

// head is what the event machinery reads of a target, whatever it is.
type head struct {
	ID, Gateway string
	// SessionRef is the checkout the target was made with: the only one
	// whose events may move it.
	SessionRef    string
	Status        string
	Version       int64
	CreatedAt     time.Time
	PendingReplay []string
}

// kind is how the event machinery reads, decides and writes one kind of
// target (an order; a subscription next). Everything else — recording,
// dedupe, finding the target, provenance, parking and replay, the
// conditional move with its event record — is written once, in apply.
type kind[T any] struct {
	// get reads, in one request, the target named id and whether the
	// gateway event was recorded before.
	get func(ctx context.Context, id, gateway, eventID string) (*T, bool, error)
	// find finds the target indexed under a gateway reference.
	find func(ctx context.Context, gateway, ref string) (*T, error)
	// named reports whether id has the shape of this kind's ids.
	named func(id string) bool
	head  func(*T) head
	// decide is the pure domain step: the target once e is taken into
	// account, and whether anything changed.
	decide func(T, order.Event) (T, bool)
	// refs lists the gateway references next has that prev did not.
	refs func(prev, next *T) []string
	// replays, when set, says whether a newly indexed reference may have
	// events parked under it worth replaying at once; nil is every one.
	// A reference left out is still indexed, and what is parked under it
	// is applied by the reconcile job's sweep of parked events.
	replays func(next *T, ref string) bool
	// advance stamps next as the write after prev, caused by e: its
	// version, time, history entry and the references whose parked events
	// it still owes.
	advance func(next *T, prev *T, e order.Event, now time.Time, replay []string)
	// move writes next over prev with a conditional write that records rec
	// and indexes refs in the same transaction.
	move func(ctx context.Context, prev *T, next T, rec *order.EventRecord, refs []string) error
	// reread reads the target again after a lost conditional write.
	reread func(ctx context.Context, id string) (*T, error)
	// effects runs once for every status change this process won.
	effects func(ctx context.Context, before, after T)
	// clearReplay takes refs off the target's pending replay.
	clearReplay func(ctx context.Context, id string, refs []string) error
}

// events is the store the machinery keeps event records and parked events
// in, whatever the target.
type events interface {
	RecordEvent(ctx context.Context, r order.EventRecord) error
	Park(ctx context.Context, gateway, ref string, e order.Event) error
	Parked(ctx context.Context, gateway, ref string) ([]order.Event, error)
	Unpark(ctx context.Context, gateway, ref string, eventIDs []string) error
}

// apply finds the target e belongs to, applies e to it with a conditional
// write that also records the event, and runs effects if this call's write
// changed the status. A store failure is returned (the gateway will retry);
// nothing is marked processed unless the change was stored with it. replay
// says whether to take up the parked events the target is owed (off while
// replaying them, so a replayed event does not start a replay of its own).
func apply[T any](ctx context.Context, k kind[T], st events, e order.Event, now time.Time, replay bool) (Outcome, *T, error) {
	rec := order.EventRecord{
		Gateway: e.Gateway, ID: e.ID, Type: e.Type, PayloadHash: e.PayloadHash,
		ReceivedAt: now, ProcessedAt: now, ExpiresAt: now.Add(order.EventRetention),
	}
	if e.Ignore != "" {
		return record[T](ctx, st, rec, Ignored, nil)
	}
	var t *T
	var err error = order.ErrNotFound
	if e.OrderID != "" && k.named(e.OrderID) {
		// The usual case: the event names its target. One read tells both
		// the target and whether this delivery is a repeat.
		found, seen, gerr := k.get(ctx, e.OrderID, e.Gateway, e.ID)
		switch {
		case gerr != nil:
			return "", nil, gerr
		case seen:
			return Duplicate, found, takeUpReplay(ctx, k, st, found, now, replay)
		case found != nil && k.head(found).Gateway == e.Gateway:
			t, err = found, nil
		}
	}
	if t == nil {
		t, err = findByRefs(ctx, k, e)
	}
	if err == nil && e.Kind != order.KindIgnored && e.SessionRef != "" && k.head(t).SessionRef != e.SessionRef {
		// Invariant 9: an event about a checkout moves only what that
		// checkout was made for.
		if h := k.head(t); h.SessionRef == "" && now.Sub(h.CreatedAt) < attachGrace {
			return "", t, &order.StoreError{Err: errCheckoutNotRecorded}
		}
		rec.OrderID = k.head(t).ID
		return record(ctx, st, rec, Foreign, t)
	}
	if errors.Is(err, order.ErrNotFound) && e.OrderID == "" && e.Kind != order.KindIgnored && slices.ContainsFunc(e.Refs, func(r string) bool { return r != "" }) {
		// The event names its target only by a gateway reference we have
		// not indexed yet (a Stripe dispute arriving before the completed
		// session that tells us its PaymentIntent). Park it under those
		// references; the move that indexes one replays it.
		if t, err = park(ctx, k, st, e); err != nil || t == nil {
			return Parked, nil, err
		}
		if e.SessionRef != "" && k.head(t).SessionRef != e.SessionRef {
			rec.OrderID = k.head(t).ID
			return record(ctx, st, rec, Foreign, t)
		}
	}
	if errors.Is(err, order.ErrNotFound) || (err == nil && e.Kind == order.KindIgnored) {
		outcome := NoOrder
		if err == nil {
			outcome, rec.OrderID = Ignored, k.head(t).ID
		}
		return record(ctx, st, rec, outcome, t)
	}
	if err != nil {
		return "", nil, err
	}
	rec.OrderID = k.head(t).ID
	for attempt := 0; attempt < maxAttempts; attempt++ {
		next, changed := k.decide(*t, e)
		if !changed {
			outcome, t, err := record(ctx, st, rec, Unchanged, t)
			if err == nil && outcome == Duplicate {
				err = takeUpReplay(ctx, k, st, t, now, replay)
			}
			return outcome, t, err
		}
		refs := k.refs(t, &next)
		pending := k.head(t).PendingReplay
		for _, ref := range refs {
			if k.replays != nil && !k.replays(&next, ref) {
				continue
			}
			if !slices.Contains(pending, ref) {
				pending = append(slices.Clip(pending), ref)
			}
		}
		k.advance(&next, t, e, now, pending)
		err := k.move(ctx, t, next, &rec, refs)
		switch {
		case err == nil:
			outcome := Moved
			if k.head(&next).Status == k.head(t).Status {
				outcome = Updated
			} else if k.effects != nil {
				k.effects(ctx, *t, next)
			}
			return outcome, &next, takeUpReplay(ctx, k, st, &next, now, replay)
		case errors.Is(err, order.ErrDuplicateEvent):
			return Duplicate, t, takeUpReplay(ctx, k, st, t, now, replay)
		case errors.Is(err, order.ErrConflict):
			// Another delivery moved the target first: read it again and
			// decide afresh from what it now is.
			if t, err = k.reread(ctx, k.head(t).ID); err != nil {
				return "", nil, err
			}
		default:
			return "", t, err
		}
		if err := ctx.Err(); err != nil {
			return "", t, &order.StoreError{Err: err}
		}
	}
	return "", t, &order.StoreError{Err: errors.New(k.head(t).ID + " kept changing; giving up for a redelivery")}
}

// record records an event that moves nothing and answers outcome, or
// Duplicate if it was recorded before.
func record[T any](ctx context.Context, st events, rec order.EventRecord, outcome Outcome, t *T) (Outcome, *T, error) {
	if err := st.RecordEvent(ctx, rec); err != nil {
		if errors.Is(err, order.ErrDuplicateEvent) {
			return Duplicate, t, nil
		}
		return "", t, err
	}
	return outcome, t, nil
}

// findByRefs finds e's target by the gateway references it carries.
func findByRefs[T any](ctx context.Context, k kind[T], e order.Event) (*T, error) {
	for _, ref := range e.Refs {
		if ref == "" {
			continue
		}
		t, err := k.find(ctx, e.Gateway, ref)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, order.ErrNotFound) {
			return nil, err
		}
	}
	return nil, order.ErrNotFound
}

// park keeps e under each of its references, then looks for its target
// once more: a move indexing one of them may have landed between the first
// lookup and the park, and then that move's replay read the parked events
// before e was there. With consistent reads, one of the two always sees the
// other. Parking the same event twice keeps it once.
func park[T any](ctx context.Context, k kind[T], st events, e order.Event) (*T, error) {
	for _, ref := range e.Refs {
		if ref == "" {
			continue
		}
		if err := st.Park(ctx, e.Gateway, ref, e); err != nil {
			return nil, err
		}
	}
	t, err := findByRefs(ctx, k, e)
	if errors.Is(err, order.ErrNotFound) {
		return nil, nil
	}
	return t, err
}

// takeUpReplay replays the parked events t is owed, if it is owed any and
// replay is on.
func takeUpReplay[T any](ctx context.Context, k kind[T], st events, t *T, now time.Time, replay bool) error {
	if !replay || t == nil || len(k.head(t).PendingReplay) == 0 {
		return nil
	}
	return replayParked(ctx, k, st, t, now)
}

// replayParked applies the events parked under t's pending references, now
// that they lead to t, removes each parked event once it is applied, and
// then clears the mark. It is safe to run any number of times, at once
// too: each event is recorded with its move, so a second replay finds it a
// duplicate. A store failure leaves the mark, and the next delivery for t
// (or the reconcile job) takes the replay up again.
func replayParked[T any](ctx context.Context, k kind[T], st events, t *T, now time.Time) error {
	h := k.head(t)
	for _, ref := range h.PendingReplay {
		parked, err := st.Parked(ctx, h.Gateway, ref)
		if err != nil {
			return err
		}
		done := make([]string, 0, len(parked))
		for _, p := range parked {
			_, _, err := apply(ctx, k, st, p, now, false)
			var se *order.StoreError
			if errors.As(err, &se) {
				return err
			}
			if err != nil {
				// Not the store: this event can never apply (the move
				// table refuses it). It stays parked, where it expires,
				// and does not hold up the others.
				continue
			}
			done = append(done, p.ID)
			if err := unparkElsewhere(ctx, st, p, ref); err != nil {
				return err
			}
		}
		if len(done) > 0 {
			if err := st.Unpark(ctx, h.Gateway, ref, done); err != nil {
				return err
			}
		}
	}
	return k.clearReplay(ctx, h.ID, h.PendingReplay)
}

// unparkElsewhere removes an applied event from the other references it
// was parked under (a Razorpay payment parks under its order and itself):
// left there, it would wait for a reference that never leads anywhere and
// be reported as money without an order.
func unparkElsewhere(ctx context.Context, st events, e order.Event, applied string) error {
	for _, ref := range e.Refs {
		if ref != "" && ref != applied {
			if err := st.Unpark(ctx, e.Gateway, ref, []string{e.ID}); err != nil {
				return err
			}
		}
	}
	return nil
}
