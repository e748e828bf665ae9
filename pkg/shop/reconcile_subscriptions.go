package shop

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// SubscriptionInquirer is what an Inquirer that speaks subscriptions also
// does: say what the gateway knows of a subscription still pending past
// its checkout deadline, through the same evidence path as a webhook.
// Stripe: the Checkout Session, expired first if it is still open (paid:
// the customer subscribed; expired: the subscription ends expired).
// Razorpay: the subscription, cancelled at Razorpay and ended expired when
// it is still created ExpiryGrace past the deadline, else what it says.
// Neither changes anything at the gateway in a dry run (IsDryRun). Reconcile
// finds it by a type assertion: an inquirer without it (a stand-in) leaves
// its gateway's subscriptions to the webhooks, and the run says so.
type SubscriptionInquirer interface {
	InquireSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error)
}

// SubscriptionWatcher is an inquirer for a gateway with no events API
// (Razorpay): every live subscription (neither pending nor final) is read
// again on every run, and what it says — its snapshot, and the renewals
// paid that no webhook reported — is applied like a webhook's, under ids
// stable per state, so a state read twice is a duplicate.
type SubscriptionWatcher interface {
	WatchSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error)
}

// OpenSubscriptionStore lists the subscriptions not in a final status
// without a Scan (both stores' open-subscriptions queue), oldest deadline
// first, paged like ReconcileStore.OpenPastDeadline.
type OpenSubscriptionStore interface {
	OpenSubscriptions(ctx context.Context, limit int, after string) (subs []subscription.Subscription, next string, err error)
}

// TrialEndingLead is how long before a trial ends its subscriber is told:
// Stripe's customer.subscription.trial_will_end lead. Reconcile owes the
// notice itself (Razorpay sends no such event, and a Stripe webhook may be
// missed); Evidence.TrialEnding keeps it to one per trial end.
const TrialEndingLead = 72 * time.Hour

// TrialEndingType is the type of the event reconcile makes for a trial
// about to end.
const TrialEndingType = "jampay.trial_ending"

// subscriptions walks every open subscription once: it sends what each
// has owed longer than EffectsAfter, asks its gateway about it (a pending
// one past its deadline; a live one, where the gateway has no events
// API), and tells the subscriber of a trial about to end. It reports
// whether the store could list them (else the effects sweep finds the
// open ones' effects itself).
func (r *run) subscriptions(ctx context.Context, now time.Time) (bool, error) {
	open, ok := r.s.Subs.(OpenSubscriptionStore)
	if !ok || r.s.Subs == nil {
		return false, nil
	}
	return true, each(ctx, r, func(after string) ([]subscription.Subscription, string, error) {
		return open.OpenSubscriptions(ctx, r.opts.Page, after)
	}, func(sub subscription.Subscription) { r.subscription(ctx, sub, now) })
}

// subscription is one open subscription's turn in a run.
func (r *run) subscription(ctx context.Context, sub subscription.Subscription, now time.Time) {
	if at, owes := OldestOwed(sub.Outbox); owes && at.Unix() < now.Add(-EffectsAfter).Unix() {
		r.dispatchEffects(ctx, sub.ID)
	}
	cur, ok := r.askAbout(ctx, sub, now)
	if ok {
		r.trialEnding(ctx, cur, now)
	}
}

// askAbout asks sub's gateway what it knows, if there is anything to ask,
// and applies the answer. It returns the subscription as it stands after,
// and false when something failed (reported; the next run asks again).
func (r *run) askAbout(ctx context.Context, sub subscription.Subscription, now time.Time) (subscription.Subscription, bool) {
	inq := r.s.Inquirers[sub.Gateway]
	var ask func(context.Context, subscription.Subscription, time.Time) ([]order.Event, error)
	switch {
	case sub.Status == subscription.Pending:
		// To the second, as the open orders' queue compares.
		if sub.Deadline.IsZero() || sub.Deadline.Unix() >= now.Unix() {
			return sub, true
		}
		if inq == nil {
			r.failed("ask about "+sub.ID, errors.New("no client for gateway "+sub.Gateway+" is configured"))
			return sub, false
		}
		si, ok := inq.(SubscriptionInquirer)
		if !ok {
			r.cannotAsk(sub.Gateway)
			return sub, true
		}
		ask = si.InquireSubscription
	default:
		w, ok := inq.(SubscriptionWatcher)
		if !ok {
			return sub, true // its events come by webhook and Missed
		}
		ask = w.WatchSubscription
	}
	r.mu.Lock()
	r.rep.SubscriptionsAsked++
	r.mu.Unlock()
	events, err := ask(ctx, sub, now)
	if err != nil {
		// Never read as "nothing happened": the subscription stays as
		// it is, and the next run asks again.
		r.failed("ask "+sub.Gateway+" about "+sub.ID, err)
		return sub, false
	}
	cur, moved := sub, false
	for _, e := range events {
		// The gateway was asked about this subscription: its answer is
		// this subscription's (provenance is still checked on its
		// checkout, e.SessionRef).
		e.Gateway = cmp.Or(e.Gateway, sub.Gateway)
		if !subscription.ValidID(e.OrderID) {
			e.OrderID = sub.ID
		}
		after, changed, err := r.applySub(ctx, cur, e)
		if err != nil {
			r.failed("apply "+e.ID+" to "+sub.ID, err)
			return cur, false
		}
		if e.Kind == order.KindRenewalPaid && e.Sub != nil && e.Sub.Renewal != "" && !cur.Evidence.Renewed(e.Sub.Renewal) &&
			(r.opts.DryRun || after.Evidence.Renewed(e.Sub.Renewal)) {
			r.mu.Lock()
			r.rep.RenewalsFound++
			r.mu.Unlock()
		}
		moved = moved || changed
		cur = after
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if moved {
		r.rep.SubscriptionsMoved++
	}
	if cur.Status == subscription.Expired && sub.Status != subscription.Expired ||
		r.opts.DryRun && sub.Status == subscription.Pending && anyKind(events, order.KindExpired) {
		r.rep.SubscriptionsExpired++
	}
	return cur, true
}

// cannotAsk notes, once per run, a gateway whose inquirer cannot ask about
// subscriptions.
func (r *run) cannotAsk(gateway string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked["#cannot-ask#"+gateway] {
		return
	}
	r.asked["#cannot-ask#"+gateway] = true
	r.rep.Notes = append(r.rep.Notes, gateway+": this client cannot ask about subscriptions; abandoned checkouts stay pending until one can")
}

func anyKind(events []order.Event, k order.Kind) bool {
	for _, e := range events {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// trialEnding owes the subscriber the notice of a trial that ends within
// TrialEndingLead, once per trial end, whichever gateway: the event's id
// names the subscription and the trial end, and the evidence keeps the
// trial end told of, so a later trial_will_end webhook of the same trial
// changes nothing.
func (r *run) trialEnding(ctx context.Context, sub subscription.Subscription, now time.Time) {
	end := sub.TrialEnd()
	if sub.Status != subscription.Trialing || end.IsZero() || !end.After(now) || end.Sub(now) > TrialEndingLead ||
		sub.Evidence.TrialEnding >= end.Unix() {
		return
	}
	e := order.Event{Gateway: sub.Gateway, ID: "trial_ending_" + sub.ID + "_" + strconv.FormatInt(end.Unix(), 10),
		Type: TrialEndingType, Kind: order.KindTrialEnding, OrderID: sub.ID, Created: now.UTC(),
		Sub: &order.SubFacts{Ref: sub.SubscriptionRef, TrialEnd: end}}
	after, _, err := r.applySub(ctx, sub, e)
	if err != nil {
		r.failed("tell "+sub.ID+" its trial ends", err)
		return
	}
	if r.opts.DryRun || after.Evidence.TrialEnding >= end.Unix() {
		r.mu.Lock()
		r.rep.TrialsEnding++
		r.mu.Unlock()
	}
}

// applySub applies one event reconcile heard about cur, as reconcile and
// its actor, and returns the subscription as it stands after and whether
// this write changed it. A dry run applies nothing and lists the event.
func (r *run) applySub(ctx context.Context, cur subscription.Subscription, e order.Event) (subscription.Subscription, bool, error) {
	e.Source, e.Actor = order.SourceReconcile, r.opts.Actor
	if r.opts.DryRun {
		r.mu.Lock()
		r.rep.WouldApply = append(r.rep.WouldApply, e)
		r.mu.Unlock()
		return cur, false, nil
	}
	a, err := r.s.Apply(ctx, e)
	if err != nil {
		return cur, false, err
	}
	changed := a.Outcome == Moved || a.Outcome == Updated
	if a.Subscription != nil && a.Subscription.ID == cur.ID {
		return *a.Subscription, changed, nil
	}
	return cur, changed, nil
}
