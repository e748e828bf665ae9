package shop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// ReconcileLease names the lease every entry point of reconcile takes (the
// schedule, the CLI, jampay serve's "Reconcile now"): never two runs at once.
const ReconcileLease = "reconcile"

// FirstSweep is how far back the first sweep for missed events looks, with
// no cursor stored yet: past every gateway's own retries (Stripe's 3 days).
const FirstSweep = 72 * time.Hour

// EffectsAfter is how long an effect is left owed before reconcile sends
// it: the stream's notify function sends within seconds, so one owed this
// long was missed (its retries spent, a host without a stream), and the
// sweep rarely races a sender still at work (the claim settles that race
// anyway).
const EffectsAfter = 2 * time.Minute

// ErrBusy: another run holds the reconcile lease.
var ErrBusy = errors.New("another reconcile run is under way; this one did nothing")

// ReconcileOptions bounds one run.
type ReconcileOptions struct {
	// Holder names this run in the lease (a request id, host and pid).
	Holder string
	// Actor is who runs it, for the history: the AWS principal, or "local".
	Actor string
	// Stop is when the run must have stopped (the Lambda deadline less a
	// margin): what is left is picked up by the next run.
	Stop time.Time
	// DryRun asks the gateways and applies nothing.
	DryRun bool
	// Page is how many orders or events are read at once; Workers how many
	// orders are asked about at once (bounded, for the gateways' limits).
	Page, Workers int
}

// ReconcileReport says what one run did.
type ReconcileReport struct {
	Open     int // open orders past their deadline, asked about
	Moved    int // orders a reconcile event changed
	Missed   int // events the sweeps found
	Replayed int // parked events applied (once each, under however many references parked)
	// WithoutOrder lists references money was paid under that lead to no
	// order of ours ("payment without order").
	WithoutOrder []ParkedRef
	// PaidLate lists orders this run found paid after they had expired (a
	// late authorisation): the owner must hear of them.
	PaidLate []string
	// WouldApply lists, for a dry run, the events a run would apply.
	WouldApply []order.Event
	// Errors are what failed (the gateway, the store); those orders and
	// events are taken up by the next run.
	Errors []string
	// Notes are what the gateways said the sweeps may have missed for good
	// (a cursor older than Stripe's 30 days of events).
	Notes []string
	// Stopped: the run reached its Stop time and left the rest.
	Stopped bool
	// EffectsDue counts the orders and subscriptions with an effect owed
	// longer than EffectsAfter; EffectsSent the effects this run sent (or
	// skipped: nothing to send); EffectsFailed those whose last attempt failed,
	// left for `jampay effects -failed`. An attempt that failed short of
	// the last is in Errors, and the next run tries again.
	EffectsDue, EffectsSent, EffectsFailed int
	// SubscriptionsAsked counts the subscriptions a gateway was asked
	// about: each pending one past its checkout deadline, and each live
	// one of a gateway with no events API (Razorpay), read every run.
	// SubscriptionsMoved those a reconcile event changed;
	// SubscriptionsExpired those whose checkout this run ended expired;
	// RenewalsFound the paid renewals no webhook had reported; TrialsEnding
	// the trial-ending notices this run owed. In a dry run, what it would.
	SubscriptionsAsked, SubscriptionsMoved, SubscriptionsExpired, RenewalsFound, TrialsEnding int
}

// Reconcile asks the gateways about what their webhooks may have missed and
// applies what they say through the same evidence path as a webhook: every
// open order past its checkout deadline, every event since each sweep's
// cursor, and every event still parked. Before them it sends the effects
// left owed longer than EffectsAfter (invariant 10: what the stream's
// notify function missed). It takes the reconcile lease first.
func (s *Service) Reconcile(ctx context.Context, opts ReconcileOptions) (ReconcileReport, error) {
	var rep ReconcileReport
	rs, ok := s.Store.(ReconcileStore)
	if !ok {
		return rep, fmt.Errorf("shop: the store %T cannot reconcile", s.Store)
	}
	opts.Page, opts.Workers = cmp.Or(opts.Page, 25), cmp.Or(opts.Workers, 4)
	now := s.Now()
	if opts.Stop.IsZero() {
		// The wall clock, as stopped() reads it (Now may be a local
		// clock moved ahead).
		opts.Stop = time.Now().Add(5 * time.Minute)
	}
	// The lease outlives the run's own stop a little, so a run that dies
	// frees it soon, and one that runs to its end never overlaps the next.
	taken, err := rs.TakeLease(ctx, ReconcileLease, opts.Holder, opts.Stop.Add(time.Minute))
	if err != nil {
		return rep, err
	}
	if !taken {
		return rep, ErrBusy
	}
	defer func() { _ = rs.ReleaseLease(context.WithoutCancel(ctx), ReconcileLease, opts.Holder) }()

	r := &run{s: s, rs: rs, opts: opts, rep: &rep, asked: map[string]bool{}}
	if opts.DryRun {
		ctx = WithDryRun(ctx)
	}
	// Effects first: an open order owing effects waits in the effects
	// queue, not the open one (shop.OrderQueue), and is asked about there.
	if err := r.effects(ctx, now); err != nil {
		return rep, err
	}
	if err := r.openOrders(ctx, now); err != nil {
		return rep, err
	}
	for _, gw := range s.inquirerNames() {
		if err := r.missed(ctx, gw, now); err != nil {
			return rep, err
		}
	}
	if err := r.parked(ctx); err != nil {
		return rep, err
	}
	// Last: the one-off backfill takes only what time is left, so a large
	// table never keeps reconcile itself from running.
	return rep, r.backfill(ctx)
}

// run is one reconcile run's state.
type run struct {
	s    *Service
	rs   ReconcileStore
	opts ReconcileOptions
	mu   sync.Mutex // guards rep and asked
	rep  *ReconcileReport
	// asked: the open orders the effects sweep asked about. Its dispatch
	// may put them back in the open queue, where the open sweep would
	// otherwise ask again.
	asked map[string]bool
}

func (r *run) stopped() bool {
	if time.Now().Before(r.opts.Stop) {
		return false
	}
	r.mu.Lock()
	r.rep.Stopped = true
	r.mu.Unlock()
	return true
}

func (r *run) failed(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Errors = append(r.rep.Errors, what+": "+err.Error())
}

// apply applies one event reconcile heard, as reconcile and its actor.
func (r *run) apply(ctx context.Context, e order.Event) (Outcome, error) {
	out, _, err := r.applyTo(ctx, e)
	return out, err
}

// applyTo is apply, and the order as it stands after.
func (r *run) applyTo(ctx context.Context, e order.Event) (Outcome, *order.Order, error) {
	e.Source, e.Actor = order.SourceReconcile, r.opts.Actor
	if r.opts.DryRun {
		r.mu.Lock()
		r.rep.WouldApply = append(r.rep.WouldApply, e)
		r.mu.Unlock()
		return Unchanged, nil, nil
	}
	return r.s.ApplyEvent(ctx, e)
}

// backfiller is a store whose open orders of an earlier release must be
// put in the open queue once (DynamoDB: a one-off Scan).
type backfiller interface {
	BackfillOpenQueue(ctx context.Context, from string, stop time.Time) (next string, queued int, err error)
}

// backfillCursor records that the open queue was backfilled.
const backfillCursor = "backfill#open-queue"

// backfill queues, once per store, the open orders a release before the
// queue index wrote. The runs after an upgrade do it with what time they
// have left after their own work, each going on where the last stopped.
func (r *run) backfill(ctx context.Context) error {
	b, ok := r.rs.(backfiller)
	if !ok || r.opts.DryRun || r.stopped() {
		return nil
	}
	at, err := r.rs.Cursor(ctx, backfillCursor)
	if err != nil || at == backfillDone {
		return err
	}
	next, _, err := b.BackfillOpenQueue(ctx, strings.TrimPrefix(at, "at:"), r.opts.Stop)
	if err != nil {
		// The next run goes on from the last position stored; queueing
		// is idempotent.
		r.failed("backfill the open queue", err)
		return nil
	}
	if next == "" {
		return r.rs.SetCursor(ctx, backfillCursor, backfillDone)
	}
	return r.rs.SetCursor(ctx, backfillCursor, "at:"+next)
}

// backfillDone is the backfill cursor once the whole table is done.
const backfillDone = "done"

// openOrders asks each open order's gateway about it, a few at a time.
func (r *run) openOrders(ctx context.Context, now time.Time) error {
	return each(ctx, r, func(after string) ([]order.Order, string, error) {
		return r.rs.OpenPastDeadline(ctx, now, r.opts.Page, after)
	}, func(o order.Order) {
		r.mu.Lock()
		asked := r.asked[o.ID]
		r.mu.Unlock()
		if !asked {
			r.openOrder(ctx, o, now)
		}
	})
}

// each pages through list and does each item (an order, a subscription),
// Workers at a time, until the pages end or the run must stop.
func each[T any](ctx context.Context, r *run, list func(after string) ([]T, string, error), do func(T)) error {
	after := ""
	for !r.stopped() {
		items, next, err := list(after)
		if err != nil {
			return err
		}
		sem, wg := make(chan struct{}, r.opts.Workers), sync.WaitGroup{}
		for _, t := range items {
			if r.stopped() {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				do(t)
			}()
		}
		wg.Wait()
		if after = next; after == "" {
			return nil
		}
	}
	return nil
}

// effects sends what orders and subscriptions have owed longer than
// EffectsAfter, a few at a time, and asks about the orders still open past
// their deadline. The open subscriptions are walked once, for their
// effects and everything else reconcile asks of them (see subscriptions);
// the final ones owing effects are found in their own queue.
func (r *run) effects(ctx context.Context, now time.Time) error {
	err := each(ctx, r, func(after string) ([]order.Order, string, error) {
		return r.rs.EffectsDue(ctx, now.Add(-EffectsAfter), r.opts.Page, after)
	}, func(o order.Order) { r.effectsOf(ctx, o, now) })
	if err != nil {
		return err
	}
	walked, err := r.subscriptions(ctx, now)
	if err != nil {
		return err
	}
	if ss, ok := r.s.Store.(SubscriptionEffectsStore); ok && r.s.Subs != nil {
		due := ss.SubscriptionEffectsDue
		if fs, ok := r.s.Store.(finalSubscriptionEffects); ok && walked {
			due = fs.FinalSubscriptionEffectsDue
		}
		err := each(ctx, r, func(after string) ([]subscription.Subscription, string, error) {
			return due(ctx, now.Add(-EffectsAfter), r.opts.Page, after)
		}, func(sub subscription.Subscription) {
			// One not final was seen by the walk, as it stood then; what
			// the walk made it owe is the stream's for EffectsAfter.
			if !walked || sub.Status.Final() {
				r.dispatchEffects(ctx, sub.ID)
			}
		})
		if err != nil {
			return err
		}
	}
	if r.rep.EffectsDue > 0 && r.s.Renderer == nil && !r.opts.DryRun {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("%d orders or subscriptions owe effects for more than %s, and this run has no renderer to send them", r.rep.EffectsDue, EffectsAfter))
	}
	return nil
}

// finalSubscriptionEffects is a store that lists the final subscriptions
// owing effects apart from the open ones (the DynamoDB store's
// subscription-effects queue alone): with it, a run whose walk of the open
// subscriptions saw theirs reads the open-subscriptions queue once, not
// twice.
type finalSubscriptionEffects interface {
	FinalSubscriptionEffectsDue(ctx context.Context, before time.Time, limit int, after string) (subs []subscription.Subscription, next string, err error)
}

// effectsOf dispatches o's effects, then asks about o if it is open past
// its deadline: the effects queue held it instead of the open one.
func (r *run) effectsOf(ctx context.Context, o order.Order, now time.Time) {
	r.dispatchEffects(ctx, o.ID)
	// To the second, as the open queue compares.
	if (o.Status == order.Pending || o.Status == order.Processing) && !o.Deadline.IsZero() && o.Deadline.Unix() < now.Unix() {
		r.mu.Lock()
		r.asked[o.ID] = true
		r.mu.Unlock()
		r.openOrder(ctx, o, now)
	}
}

// dispatchEffects sends the effects order or subscription id owes (a dry
// run only counts it).
func (r *run) dispatchEffects(ctx context.Context, id string) {
	r.mu.Lock()
	r.rep.EffectsDue++
	r.mu.Unlock()
	if r.opts.DryRun || r.s.Renderer == nil {
		return
	}
	// Dispatch claims each effect on the item read again, so one a notify
	// function is sending meanwhile is left to it.
	d, err := r.s.Dispatch(ctx, id, r.opts.Holder)
	r.mu.Lock()
	r.rep.EffectsSent += d.Sent + d.Skipped
	r.rep.EffectsFailed += d.Failed
	r.mu.Unlock()
	if err != nil {
		r.failed("send the effects of "+id, err)
	}
}

func (r *run) openOrder(ctx context.Context, o order.Order, now time.Time) {
	r.mu.Lock()
	r.rep.Open++
	r.mu.Unlock()
	inq := r.s.Inquirers[o.Gateway]
	if inq == nil {
		r.failed("ask about "+o.ID, errors.New("no client for gateway "+o.Gateway+" is configured"))
		return
	}
	events, err := inq.Inquire(ctx, o, now)
	if err != nil {
		// Never read as "not paid": the order stays as it is, and the
		// next run asks again.
		r.failed("ask "+o.Gateway+" about "+o.ID, err)
		return
	}
	moved, late := false, false
	for _, e := range events {
		out, after, err := r.applyTo(ctx, e)
		if err != nil {
			r.failed("apply "+e.ID+" to "+o.ID, err)
			return
		}
		moved = moved || out == Moved || out == Updated
		late = late || (out == Moved && after != nil && after.PaidLate())
	}
	if late {
		r.mu.Lock()
		r.rep.PaidLate = append(r.rep.PaidLate, o.ID)
		r.mu.Unlock()
	}
	if moved {
		r.mu.Lock()
		r.rep.Moved++
		r.mu.Unlock()
	}
}

// missed sweeps one gateway for events since its cursor. The cursor
// advances past a page only once every event of it is applied, parked or
// ignored: a failure leaves it, and the page is read again next run
// (applying is idempotent).
func (r *run) missed(ctx context.Context, gateway string, now time.Time) error {
	inq, name := r.s.Inquirers[gateway], "missed#"+gateway
	cursor, err := r.rs.Cursor(ctx, name)
	if err != nil {
		return err
	}
	for !r.stopped() {
		events, next, err := inq.Missed(ctx, cursor, now.Add(-FirstSweep), r.opts.Page)
		if err != nil {
			r.failed("sweep "+gateway, err)
			return nil
		}
		r.mu.Lock()
		r.rep.Missed += len(events)
		r.mu.Unlock()
		for _, e := range events {
			if e.Ignore != "" {
				r.mu.Lock()
				r.rep.Notes = append(r.rep.Notes, gateway+": "+e.Ignore)
				r.mu.Unlock()
			}
			out, after, err := r.applyTo(ctx, e)
			var se *order.StoreError
			if err != nil && !errors.As(err, &se) {
				// Not the store: this event can never apply (the move table
				// refuses it). It is reported and stepped over, so one such
				// event does not hold the sweep back for ever.
				r.failed("apply "+e.ID+" (stepped over)", err)
				continue
			}
			if err != nil {
				r.failed("apply "+e.ID, err)
				return nil
			}
			if out == Moved || out == Updated {
				r.mu.Lock()
				r.rep.Moved++
				if out == Moved && after != nil && after.PaidLate() {
					r.rep.PaidLate = append(r.rep.PaidLate, after.ID)
				}
				r.mu.Unlock()
			}
		}
		if next == "" || next == cursor || r.opts.DryRun {
			return nil
		}
		if err := r.rs.SetCursor(ctx, name, next); err != nil {
			return err
		}
		cursor = next
		if len(events) < r.opts.Page {
			return nil
		}
	}
	return nil
}

// parked retries the events still parked: those whose order is now found
// are applied and removed; money still without an order is reported.
func (r *run) parked(ctx context.Context) error {
	after := ""
	for !r.stopped() {
		refs, next, err := r.rs.ParkedRefs(ctx, r.opts.Page, after)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if err := r.parkedRef(ctx, ref); err != nil {
				r.failed("replay what is parked under "+ref.Ref, err)
			}
		}
		if after = next; after == "" {
			return nil
		}
	}
	return nil
}

func (r *run) parkedRef(ctx context.Context, ref ParkedRef) error {
	events, err := r.s.Store.Parked(ctx, ref.Gateway, ref.Ref)
	if err != nil {
		return err
	}
	// Only once the reference leads to an order (or a subscription) is
	// there anything to apply: applying before would park the events
	// again, and push their expiry out for ever.
	_, err = r.s.Store.FindByRef(ctx, ref.Gateway, ref.Ref)
	var elsewhere *order.ElsewhereError
	found := err == nil || errors.As(err, &elsewhere)
	if !found && !errors.Is(err, order.ErrNotFound) {
		return err
	}
	var done []string
	money, replayed := false, 0
	for _, e := range events {
		out := Parked
		// An event parked under several references (a Razorpay payment
		// under its order and itself) may lead somewhere by another one
		// by now (a renewal indexes the payment, never the order Razorpay
		// made for it): then it is applied — a duplicate, if its replay
		// applied it — and leaves this reference too.
		if !found && !r.opts.DryRun && r.ledElsewhere(ctx, ref, e) {
			if out, _, err = r.s.ApplyEvent(ctx, e); err != nil {
				return err
			}
		}
		if found && !r.opts.DryRun {
			if out, _, err = r.s.ApplyEvent(ctx, e); err != nil {
				return err
			}
		}
		if out == Parked {
			money = money || e.Kind == order.KindPaid || e.Kind == order.KindProcessing
			continue
		}
		done = append(done, e.ID)
		if out != Duplicate {
			replayed++
		}
	}
	r.mu.Lock()
	r.rep.Replayed += replayed
	if money {
		r.rep.WithoutOrder = append(r.rep.WithoutOrder, ref)
	}
	r.mu.Unlock()
	if len(done) == 0 {
		return nil
	}
	return r.s.Store.Unpark(ctx, ref.Gateway, ref.Ref, done)
}

// ledElsewhere reports whether one of e's references other than ref
// leads to an order or a subscription.
func (r *run) ledElsewhere(ctx context.Context, ref ParkedRef, e order.Event) bool {
	for _, other := range e.Refs {
		if other == "" || other == ref.Ref {
			continue
		}
		_, err := r.s.Store.FindByRef(ctx, ref.Gateway, other)
		var elsewhere *order.ElsewhereError
		if err == nil || errors.As(err, &elsewhere) {
			return true
		}
	}
	return false
}

func (s *Service) inquirerNames() []string {
	names := make([]string, 0, len(s.Inquirers))
	for n := range s.Inquirers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
