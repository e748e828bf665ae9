package order

import (
	"context"
	"errors"
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
	Parked    Outcome = "parked"    // kept until an event names its order
	Ignored   Outcome = "ignored"   // a kind of event jampay does not act on
)

// maxAttempts bounds the read-decide-write loop when other deliveries keep
// winning the conditional write; past it the caller answers 5xx and the
// gateway redelivers later.
const maxAttempts = 8

// ApplyEvent finds the order e is about, applies e to it with a conditional
// write that also records the event, and runs effects if this call's write
// changed the status. A store failure is returned (the gateway will retry);
// nothing is marked processed unless the order change was stored with it.
func ApplyEvent(ctx context.Context, s Store, e Event, now time.Time, effects Effects) (Outcome, *Order, error) {
	rec := EventRecord{
		Gateway: e.Gateway, ID: e.ID, Type: e.Type, PayloadHash: e.PayloadHash,
		ReceivedAt: now, ProcessedAt: now, ExpiresAt: now.Add(EventRetention),
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
			return Duplicate, found, nil
		case found != nil && found.Gateway == e.Gateway:
			o, err = found, nil
		}
	}
	if o == nil {
		o, err = findOrder(ctx, s, e)
	}
	if errors.Is(err, ErrNotFound) && e.OrderID == "" && e.Kind != KindIgnored && len(e.Refs) > 0 {
		// The event names our order only by a gateway reference we have not
		// indexed yet (a Stripe dispute arriving before the completed
		// session that tells us its PaymentIntent). Park it under those
		// references; the move that indexes one replays it.
		if o, err = park(ctx, s, e); err != nil || o == nil {
			return Parked, nil, err
		}
	}
	if errors.Is(err, ErrNotFound) || (err == nil && e.Kind == KindIgnored) {
		outcome := NoOrder
		if err == nil {
			outcome, rec.OrderID = Ignored, o.ID
		}
		if err := s.RecordEvent(ctx, rec); err != nil {
			if errors.Is(err, ErrDuplicateEvent) {
				return Duplicate, o, nil
			}
			return "", o, err
		}
		return outcome, o, nil
	}
	if err != nil {
		return "", nil, err
	}
	rec.OrderID = o.ID
	for attempt := 0; attempt < maxAttempts; attempt++ {
		next, changed := Apply(*o, e)
		if !changed {
			if err := s.RecordEvent(ctx, rec); err != nil {
				if errors.Is(err, ErrDuplicateEvent) {
					return Duplicate, o, nil
				}
				return "", o, err
			}
			return Unchanged, o, nil
		}
		next.Version = o.Version + 1
		next.UpdatedAt = now
		err := MoveIndexing(ctx, s, Move{Next: next, From: o.Status, FromVersion: o.Version, Event: &rec, Refs: newRefs(*o, next)})
		switch {
		case err == nil:
			outcome := Moved
			if next.Status == o.Status {
				outcome = Updated
			} else if effects != nil {
				effects(ctx, *o, next)
			}
			if err := replayParked(ctx, s, next, newRefs(*o, next), now, effects); err != nil {
				return outcome, &next, err
			}
			return outcome, &next, nil
		case errors.Is(err, ErrDuplicateEvent):
			return Duplicate, o, nil
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
// lookup and the park, and then replayParked ran before e was there. With
// consistent reads, one of the two always sees the other.
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

// replayParked applies the events parked under refs, now that they lead to
// o. Replaying is safe more than once: each event is recorded with its move.
func replayParked(ctx context.Context, s Store, o Order, refs []string, now time.Time, effects Effects) error {
	for _, ref := range refs {
		parked, err := s.Parked(ctx, o.Gateway, ref)
		if err != nil {
			return err
		}
		for _, p := range parked {
			if _, _, err := ApplyEvent(ctx, s, p, now, effects); err != nil {
				return err
			}
		}
	}
	return nil
}
