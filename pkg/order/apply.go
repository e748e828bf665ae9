package order

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Effects is called once for every status change this process won, with the
// order before and after. It is where downstream work (a fulfilment email, a
// ledger line) hangs: it never runs for a duplicate or for a writer that
// lost the conditional write. Two events that win consecutive moves of one
// order run their effects concurrently, in no set order: after.Version
// orders them.
type Effects func(ctx context.Context, before, after Order)

// Outcome says what handling one gateway event did.
type Outcome string

// The outcomes of ApplyEvent.
const (
	Moved     Outcome = "moved"     // the order changed status
	Updated   Outcome = "updated"   // the order changed, its status did not
	Unchanged Outcome = "unchanged" // the event told us nothing new
	Duplicate Outcome = "duplicate" // the event was recorded before
	NoOrder   Outcome = "no_order"  // no order of ours matches the event
	Parked    Outcome = "parked"    // kept until its reference is indexed
	Ignored   Outcome = "ignored"   // a kind of event jampay does not act on
	// Foreign: the event names an order of ours but a checkout that is not
	// that order's own (a session or Razorpay order jampay did not make
	// for it). It moves nothing (invariant 9).
	Foreign Outcome = "foreign"
)

// maxAttempts bounds the read-decide-write loop when other deliveries keep
// winning the conditional write; past it the caller answers 5xx and the
// gateway redelivers later.
const maxAttempts = 8

// attachGrace is how long after an order is created an event naming its
// checkout may arrive before the checkout is recorded on the order: the
// gateway made it, and the write that records it is still on its way. Such
// an event is answered 5xx, so the gateway brings it again. Past it, a
// checkout the order never recorded is not the order's.
const attachGrace = 10 * time.Minute

// ErrCheckoutNotRecorded: an event names an order's checkout before the
// order records it; retryable.
var errCheckoutNotRecorded = errors.New("the order's checkout is not recorded yet; the gateway will redeliver")

// ApplyEvent finds the order e belongs to, applies e to it with a
// conditional write that also records the event, and runs effects if this
// call's write changed the status. A store failure is returned (the gateway
// will retry); nothing is marked processed unless the order change was
// stored with it.
func ApplyEvent(ctx context.Context, s Store, e Event, now time.Time, effects Effects) (Outcome, *Order, error) {
	return applyEvent(ctx, s, e, now, effects, true)
}

// applyEvent is ApplyEvent; replay says whether to take up the parked
// events the order is owed (false while replaying them, so a replayed event
// does not start a replay of its own).
func applyEvent(ctx context.Context, s Store, e Event, now time.Time, effects Effects, replay bool) (Outcome, *Order, error) {
	rec := EventRecord{
		Gateway: e.Gateway, ID: e.ID, Type: e.Type, PayloadHash: e.PayloadHash,
		ReceivedAt: now, ProcessedAt: now, ExpiresAt: now.Add(EventRetention),
	}
	if e.Ignore != "" {
		return record(ctx, s, rec, Ignored, nil)
	}
	var o *Order
	var err error = ErrNotFound
	if e.OrderID != "" && ValidID(e.OrderID) {
		// The usual case: the event names our order. One read tells both
		// the order and whether this delivery is a repeat.
		found, seen, gerr := s.GetForEvent(ctx, e.OrderID, e.Gateway, e.ID)
		switch {
		case gerr != nil:
			return "", nil, gerr
		case seen:
			return Duplicate, found, takeUpReplay(ctx, s, found, now, effects, replay)
		case found != nil && found.Gateway == e.Gateway:
			o, err = found, nil
		}
	}
	if o == nil {
		o, err = findOrder(ctx, s, e)
	}
	if err == nil && e.Kind != KindIgnored && e.SessionRef != "" && o.SessionRef != e.SessionRef {
		// Invariant 9: an event about a checkout moves only the order
		// that checkout was made for.
		if o.SessionRef == "" && now.Sub(o.CreatedAt) < attachGrace {
			return "", o, &StoreError{Err: errCheckoutNotRecorded}
		}
		rec.OrderID = o.ID
		return record(ctx, s, rec, Foreign, o)
	}
	if errors.Is(err, ErrNotFound) && e.OrderID == "" && e.Kind != KindIgnored && slices.ContainsFunc(e.Refs, func(r string) bool { return r != "" }) {
		// The event names our order only by a gateway reference we have not
		// indexed yet (a Stripe dispute arriving before the completed
		// session that tells us its PaymentIntent). Park it under those
		// references; the move that indexes one replays it.
		if o, err = park(ctx, s, e); err != nil || o == nil {
			return Parked, nil, err
		}
		if e.SessionRef != "" && o.SessionRef != e.SessionRef {
			rec.OrderID = o.ID
			return record(ctx, s, rec, Foreign, o)
		}
	}
	if errors.Is(err, ErrNotFound) || (err == nil && e.Kind == KindIgnored) {
		outcome := NoOrder
		if err == nil {
			outcome, rec.OrderID = Ignored, o.ID
		}
		return record(ctx, s, rec, outcome, o)
	}
	if err != nil {
		return "", nil, err
	}
	rec.OrderID = o.ID
	for attempt := 0; attempt < maxAttempts; attempt++ {
		next, changed := Apply(*o, e)
		if !changed {
			outcome, o, err := record(ctx, s, rec, Unchanged, o)
			if err == nil && outcome == Duplicate {
				err = takeUpReplay(ctx, s, o, now, effects, replay)
			}
			return outcome, o, err
		}
		next.Version = o.Version + 1
		next.UpdatedAt = now
		refs := newRefs(*o, next)
		for _, ref := range refs {
			if !slices.Contains(next.PendingReplay, ref) {
				next.PendingReplay = append(slices.Clip(next.PendingReplay), ref)
			}
		}
		err := MoveIndexing(ctx, s, Move{Next: next, From: o.Status, FromVersion: o.Version, Event: &rec, Refs: refs})
		switch {
		case err == nil:
			outcome := Moved
			if next.Status == o.Status {
				outcome = Updated
			} else if effects != nil {
				effects(ctx, *o, next)
			}
			return outcome, &next, takeUpReplay(ctx, s, &next, now, effects, replay)
		case errors.Is(err, ErrDuplicateEvent):
			return Duplicate, o, takeUpReplay(ctx, s, o, now, effects, replay)
		case errors.Is(err, ErrConflict):
			// Another delivery moved the order first: read it again and
			// decide afresh from what it now is.
			if o, err = s.GetOrder(ctx, o.ID); err != nil {
				return "", nil, err
			}
		default:
			return "", o, err
		}
		if err := ctx.Err(); err != nil {
			return "", o, &StoreError{Err: err}
		}
	}
	return "", o, &StoreError{Err: errors.New("order " + o.ID + " kept changing; giving up for a redelivery")}
}

// record records an event that moves nothing and answers outcome, or
// Duplicate if it was recorded before.
func record(ctx context.Context, s Store, rec EventRecord, outcome Outcome, o *Order) (Outcome, *Order, error) {
	if err := s.RecordEvent(ctx, rec); err != nil {
		if errors.Is(err, ErrDuplicateEvent) {
			return Duplicate, o, nil
		}
		return "", o, err
	}
	return outcome, o, nil
}

// findOrder finds e's order by the gateway references it carries.
func findOrder(ctx context.Context, s Store, e Event) (*Order, error) {
	for _, ref := range e.Refs {
		if ref == "" {
			continue
		}
		o, err := s.FindByRef(ctx, e.Gateway, ref)
		if err == nil {
			return o, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return nil, ErrNotFound
}

// newRefs lists the gateway references next has that o did not, to index.
func newRefs(o, next Order) []string {
	var refs []string
	if next.SessionRef != o.SessionRef && next.SessionRef != "" {
		refs = append(refs, next.SessionRef)
	}
	if next.PaymentRef != o.PaymentRef && next.PaymentRef != "" {
		refs = append(refs, next.PaymentRef)
	}
	return refs
}

// park keeps e under each of its references, then looks for its order once
// more: a move indexing one of them may have landed between the first
// lookup and the park, and then that move's replay read the parked events
// before e was there. With consistent reads, one of the two always sees the
// other. Parking the same event twice keeps it once.
func park(ctx context.Context, s Store, e Event) (*Order, error) {
	for _, ref := range e.Refs {
		if ref == "" {
			continue
		}
		if err := s.Park(ctx, e.Gateway, ref, e); err != nil {
			return nil, err
		}
	}
	o, err := findOrder(ctx, s, e)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return o, err
}

// takeUpReplay replays the parked events o is owed, if it is owed any and
// replay is on.
func takeUpReplay(ctx context.Context, s Store, o *Order, now time.Time, effects Effects, replay bool) error {
	if !replay || o == nil || len(o.PendingReplay) == 0 {
		return nil
	}
	return ReplayParked(ctx, s, *o, now, effects)
}

// ReplayParked applies the events parked under o's pending references, now
// that they lead to o, removes each parked event once it is applied, and
// then clears the mark. It is safe to run any number of times, at once
// too: each event is recorded with its move, so a second replay finds it a
// duplicate. A failure leaves the mark, and the next delivery for the
// order (or the reconcile job) takes the replay up again.
func ReplayParked(ctx context.Context, s Store, o Order, now time.Time, effects Effects) error {
	for _, ref := range o.PendingReplay {
		parked, err := s.Parked(ctx, o.Gateway, ref)
		if err != nil {
			return err
		}
		done := make([]string, 0, len(parked))
		for _, p := range parked {
			_, _, err := applyEvent(ctx, s, p, now, effects, false)
			var se *StoreError
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
		}
		if len(done) > 0 {
			if err := s.Unpark(ctx, o.Gateway, ref, done); err != nil {
				return err
			}
		}
	}
	return s.ClearReplay(ctx, o.ID, o.PendingReplay)
}
