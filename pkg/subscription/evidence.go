package subscription

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Evidence is what verified gateway events have established about a
// subscription. Like an order's, it only grows — flags once set stay set,
// times only move forward, the snapshot is the latest one under one total
// order — so the status derived from it does not depend on the order the
// events arrive in, nor on how often each one does.
type Evidence struct {
	// Completed: the customer completed the checkout (Stripe's session
	// completed; Razorpay's subscription authenticated or later).
	Completed bool
	// Expired: the checkout expired, never completed.
	Expired bool
	// Canceled and Ended: the gateway said the subscription was canceled,
	// or ran all its billing cycles. Final, whatever arrives after.
	Canceled bool
	Ended    bool
	// Snapshot is the latest subscription snapshot a gateway sent (see
	// Snapshot.after for what "latest" means).
	Snapshot Snapshot
	// PeriodEnd is the furthest end of a paid (or trial) period any event
	// named, in Unix seconds: currentPeriodEnd never moves backwards.
	PeriodEnd int64
	// Renewals are the paid billing periods, one per gateway payment,
	// sorted by Ref.
	Renewals []Renewal
	// Mismatched lists renewals (by Ref) whose amount or currency is not
	// the subscription's: flagged to the owner.
	Mismatched []string
	// TrialEnding is the trial end (Unix seconds) the customer has been
	// told of, so the notice is owed once per trial end.
	TrialEnding int64
	// Failure is the latest failed payment: the gateway's time and its
	// reason, the later one (then the greater reason) kept.
	FailureAt     int64
	FailureReason string
	// CancelScheduled: the gateway's API confirmed a cancel at the period's
	// end (Razorpay's subscription entity has no field for it, and sends
	// no event: only its answer to jampay's request says so).
	CancelScheduled bool
	// Refunded and Disputed are the subscription's payments the gateway
	// reported refunded, and the disputes opened on them: the owner hears
	// of each; the subscription's state is the gateway's to change.
	Refunded []string
	Disputed []string
}

// Snapshot is the state of the gateway's subscription object as one event
// carried it, At the time the gateway stamped the event.
type Snapshot struct {
	At                int64  // Unix seconds; 0: no snapshot yet
	Status            Status // as the event said it, in the contract's words
	TrialEnd          int64
	CancelAtPeriodEnd bool
}

// tieRank breaks ties between snapshots stamped in the same second
// (Stripe's created has one-second resolution): the status further along
// in a subscription's life wins, so a failure and the subscription update
// it caused, sent in one second, end past_due whichever arrives first.
var tieRank = map[Status]int{
	Pending: 0, Trialing: 1, Active: 2, PastDue: 3, Paused: 4, Halted: 5, Expired: 6, Canceled: 7, Completed: 8,
}

// after reports whether snapshot a is later than b under a total order:
// the gateway's time first, then tieRank, then cancellation set over not,
// then the later trial end. Taking the later of two snapshots is then
// commutative and idempotent, which is what makes the status independent
// of delivery order.
func (a Snapshot) after(b Snapshot) bool {
	if c := cmp.Compare(a.At, b.At); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(tieRank[a.Status], tieRank[b.Status]); c != 0 {
		return c > 0
	}
	if a.CancelAtPeriodEnd != b.CancelAtPeriodEnd {
		return a.CancelAtPeriodEnd
	}
	return a.TrialEnd > b.TrialEnd
}

// Renewal is one paid billing period.
type Renewal struct {
	Ref         string // the gateway's payment: Stripe in_…, Razorpay pay_…
	Amount      int64
	Currency    string
	PeriodStart int64 // Unix seconds
	PeriodEnd   int64
	At          int64 // when the gateway said it was paid
	// First: the subscription's first payment (Stripe's subscription_create
	// invoice, Razorpay's first charge): it starts the subscription rather
	// than renewing it.
	First bool
	// Payment is the gateway's payment that paid it when it is not Ref
	// (Stripe's PaymentIntent of the invoice): refunds and disputes name it.
	Payment string
}

func (ev Evidence) clone() Evidence {
	ev.Renewals = slices.Clone(ev.Renewals)
	ev.Mismatched = slices.Clone(ev.Mismatched)
	ev.Refunded = slices.Clone(ev.Refunded)
	ev.Disputed = slices.Clone(ev.Disputed)
	return ev
}

// addToSet inserts v into the sorted set, reporting whether it was new.
func addToSet(set *[]string, v string) bool {
	i, found := slices.BinarySearch(*set, v)
	if v == "" || found {
		return false
	}
	*set = slices.Insert(*set, i, v)
	return true
}

func (ev Evidence) equal(o Evidence) bool {
	return ev.Completed == o.Completed && ev.Expired == o.Expired && ev.Canceled == o.Canceled &&
		ev.Ended == o.Ended && ev.Snapshot == o.Snapshot && ev.PeriodEnd == o.PeriodEnd &&
		slices.Equal(ev.Renewals, o.Renewals) && slices.Equal(ev.Mismatched, o.Mismatched) &&
		ev.TrialEnding == o.TrialEnding && ev.FailureAt == o.FailureAt && ev.FailureReason == o.FailureReason &&
		ev.CancelScheduled == o.CancelScheduled && slices.Equal(ev.Refunded, o.Refunded) && slices.Equal(ev.Disputed, o.Disputed)
}

// Renewed reports whether ref is a recorded renewal.
func (ev Evidence) Renewed(ref string) bool {
	_, found := slices.BinarySearchFunc(ev.Renewals, ref, func(r Renewal, ref string) int { return strings.Compare(r.Ref, ref) })
	return found
}

// derive is the status the evidence amounts to for s (its trial days).
func (ev Evidence) derive(trialDays int64) Status {
	switch {
	case ev.Expired || ev.Canceled && !ev.Completed:
		// The checkout was never completed (Stripe's incomplete_expired
		// too), or the subscription was canceled before it ever started
		// (reconcile cancels an abandoned Razorpay checkout, and Razorpay
		// may say so): expired, whichever is heard first. No money moved.
		return Expired
	case ev.Ended:
		return Completed
	case ev.Canceled:
		return Canceled
	}
	snap := ev.Snapshot.Status
	if snap == "" || (snap == Pending && ev.Completed) {
		// No snapshot yet, or one from before the checkout completed (a
		// Stripe subscription incomplete until its first invoice is paid).
		switch {
		case !ev.Completed:
			return Pending
		case trialDays > 0:
			return Trialing
		default:
			return Active
		}
	}
	return snap
}

// Apply returns s as it stands once e is taken into account, and whether
// anything changed. It is pure: the same subscription and event always give
// the same result, an event applied twice changes nothing the second time,
// and the status does not depend on the order events arrive in.
func Apply(s Subscription, e order.Event) (Subscription, bool) {
	next := s.Clone()
	ev := &next.Evidence
	f := e.Sub
	if f == nil {
		f = &order.SubFacts{}
	}
	if f.Ref != "" && s.SubscriptionRef != "" && f.Ref != s.SubscriptionRef {
		// Invariant 9: an event about another gateway subscription moves
		// nothing of this one, whatever its metadata says.
		return s, false
	}
	mismatched := false
	switch e.Kind {
	case order.KindPaid, order.KindProcessing:
		// The checkout completed: the customer subscribed (the first
		// payment, or the card for a trial, is the gateway's to take).
		// A payment event reaching a subscription by an indexed
		// reference (Razorpay's payment.captured for a renewal) says
		// nothing its renewal did not.
		ev.Completed = true
	case order.KindExpired:
		ev.Expired = true
	case order.KindRenewalPaid:
		if f.Renewal != "" && !ev.Renewed(f.Renewal) {
			r := Renewal{Ref: f.Renewal, Amount: e.Amount, Currency: strings.ToLower(e.Currency),
				PeriodStart: unixOrZero(f.PeriodStart), PeriodEnd: unixOrZero(f.PeriodEnd), At: e.Created.Unix(), First: f.FirstInvoice}
			if e.PaymentRef != f.Renewal {
				r.Payment = e.PaymentRef
			}
			i, _ := slices.BinarySearchFunc(ev.Renewals, r.Ref, func(r Renewal, ref string) int { return strings.Compare(r.Ref, ref) })
			ev.Renewals = slices.Insert(ev.Renewals, i, r)
			trialInvoice := f.FirstInvoice && e.Amount == 0 && s.TrialDays > 0
			mismatched = !trialInvoice && (r.Amount != s.Amount || r.Currency != s.Currency)
			if mismatched {
				// Flagged to the owner; it neither starts the subscription
				// nor pays a period (invariant 6).
				addToSet(&ev.Mismatched, r.Ref)
			} else {
				ev.Completed = true
			}
		}
	case order.KindTrialEnding:
		if te := unixOrZero(f.TrialEnd); te > ev.TrialEnding {
			ev.TrialEnding = te
		}
	case order.KindRefunded:
		addToSet(&ev.Refunded, e.PaymentRef)
	case order.KindDisputeOpened:
		addToSet(&ev.Disputed, e.Dispute)
	}
	switch e.Kind {
	case order.KindDeclined, order.KindRenewalFailed, order.KindFailed, order.KindSubscription:
		// Razorpay's subscription.pending and .halted carry the failed
		// payment's reason with their snapshot.
		if at := e.Created.Unix(); e.Reason != "" && (at > ev.FailureAt || at == ev.FailureAt && e.Reason > ev.FailureReason) {
			ev.FailureAt, ev.FailureReason = at, e.Reason
		}
	}
	if f.Status != "" && Status(f.Status).Valid() && (e.Kind == order.KindSubscription || e.Kind == order.KindRenewalPaid || e.Kind == order.KindTrialEnding) {
		// A snapshot of the gateway's subscription, whatever else the
		// event says (Razorpay's subscription.charged is a renewal and a
		// snapshot; Stripe's trial_will_end carries the subscription).
		snap := Snapshot{At: e.Created.Unix(), Status: Status(f.Status), TrialEnd: unixOrZero(f.TrialEnd), CancelAtPeriodEnd: f.CancelAtPeriodEnd}
		if snap.after(ev.Snapshot) {
			ev.Snapshot = snap
		}
		switch snap.Status {
		case Canceled:
			ev.Canceled = true
		case Completed:
			ev.Ended = true
		case Expired:
			ev.Expired = true
		}
		if snap.Status != Pending && snap.Status != Expired && (snap.Status != Canceled || !f.PeriodEnd.IsZero()) {
			// A subscription past its checkout: the customer subscribed. A
			// canceled one says so only if it had a billing period.
			ev.Completed = true
		}
		if f.CancelAtPeriodEnd && e.Source != "" && e.Source != order.SourceWebhook {
			ev.CancelScheduled = true
		}
		if snap.Status == Trialing && snap.TrialEnd > ev.PeriodEnd {
			// A Razorpay trial has no current period: the trial is it.
			ev.PeriodEnd = snap.TrialEnd
		}
	}
	// currentPeriodEnd is the end of what was paid for (or of the trial):
	// a paid renewal's period, or a snapshot while trialing or active.
	// Stripe moves current_period_end to the next period at the renewal,
	// before it is paid: a past_due or halted snapshot carries a period
	// nobody paid, which must not extend it.
	paidUntil := e.Kind == order.KindRenewalPaid && !mismatched && !slices.Contains(ev.Mismatched, f.Renewal) ||
		e.Kind == order.KindSubscription && (f.Status == string(Trialing) || f.Status == string(Active))
	if pe := unixOrZero(f.PeriodEnd); pe > ev.PeriodEnd && paidUntil {
		ev.PeriodEnd = pe
	}
	if next.SubscriptionRef == "" && f.Ref != "" {
		next.SubscriptionRef = f.Ref
	}
	if next.SessionRef == "" && e.SessionRef != "" {
		next.SessionRef = e.SessionRef
	}
	next.Status = ev.derive(s.TrialDays)
	changed := next.Status != s.Status || !ev.equal(s.Evidence) || next.SubscriptionRef != s.SubscriptionRef ||
		next.SessionRef != s.SessionRef
	if !changed {
		return s, false
	}
	return next, true
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
