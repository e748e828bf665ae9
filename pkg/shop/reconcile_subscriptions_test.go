package shop_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// subInquirer is a gateway's API as reconcile sees it for subscriptions:
// what it says of each one's checkout (by subscription id), and, as a
// watcher (Razorpay), of each live one.
type subInquirer struct {
	inquirer
	mu      sync.Mutex
	checks  map[string][]order.Event
	watches map[string][]order.Event
	failing map[string]bool
	asked   []string
}

func (q *subInquirer) InquireSubscription(_ context.Context, s subscription.Subscription, _ time.Time) ([]order.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked = append(q.asked, "checkout "+s.ID)
	if q.failing[s.ID] {
		return nil, errors.New("gateway: 502 bad gateway")
	}
	return q.checks[s.ID], nil
}

func (q *subInquirer) askedAbout() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.asked)
	q.asked = nil
	return out
}

// subWatcher is a subInquirer that also reads live subscriptions again.
type subWatcher struct{ *subInquirer }

func (q subWatcher) WatchSubscription(_ context.Context, s subscription.Subscription, _ time.Time) ([]order.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked = append(q.asked, "watch "+s.ID)
	if q.failing[s.ID] {
		return nil, errors.New("gateway: 503 service unavailable")
	}
	return q.watches[s.ID], nil
}

func newSubInquirer() *subInquirer {
	return &subInquirer{checks: map[string][]order.Event{}, watches: map[string][]order.Event{}, failing: map[string]bool{}}
}

// pendingSub checks out the trial subscription, left pending.
func pendingSub(t *testing.T, svc *shop.Service) *subscription.Subscription {
	t.Helper()
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart, Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Subscription
}

func reconcileOnce(t *testing.T, svc *shop.Service, dry bool) shop.ReconcileReport {
	t.Helper()
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute), Page: 2, DryRun: dry})
	if err != nil {
		t.Fatalf("%+v %v", rep, err)
	}
	return rep
}

func getSub(t *testing.T, st subscription.Store, id string) *subscription.Subscription {
	t.Helper()
	s, err := st.GetSubscription(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReconcile_AnAbandonedSubscriptionCheckoutEndsExpired: past its
// deadline a pending subscription's gateway is asked; an abandoned
// checkout ends expired, a completed one starts the subscription (the
// webhook was missed), one not yet due is not asked about — on both
// stores (DynamoDB Local end to end). A gateway failure leaves its
// subscription as it was and is reported; the next run asks again.
func TestReconcile_AnAbandonedSubscriptionCheckoutEndsExpired(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{}
			svc, st := subDispatchShopOn(t, c, b, newStore(t, c.Now))
			q := newSubInquirer()
			svc.Inquirers = map[string]shop.Inquirer{"stripe": q}
			abandoned, completed, broken := pendingSub(t, svc), pendingSub(t, svc), pendingSub(t, svc)
			c.Advance(2 * time.Hour) // past their deadline (an hour)
			notYet := pendingSub(t, svc)
			q.checks[abandoned.ID] = []order.Event{{Gateway: "stripe", ID: "recon_" + abandoned.SessionRef + "_expired", Type: "checkout.session.expired",
				Kind: order.KindExpired, SessionRef: abandoned.SessionRef, Refs: []string{abandoned.SessionRef}, Created: c.Now(), Sub: &order.SubFacts{}}}
			q.checks[completed.ID] = []order.Event{{Gateway: "stripe", ID: "recon_" + completed.SessionRef + "_complete_paid", Type: "checkout.session.completed",
				Kind: order.KindPaid, SessionRef: completed.SessionRef, Refs: []string{completed.SessionRef, subRef(completed)}, Created: c.Now(),
				Sub: &order.SubFacts{Ref: subRef(completed)}}}
			q.failing[broken.ID] = true

			rep := reconcileOnce(t, svc, false)
			if rep.SubscriptionsAsked != 3 || rep.SubscriptionsExpired != 1 || rep.SubscriptionsMoved != 2 || len(rep.Errors) != 1 ||
				!strings.Contains(rep.Errors[0], "ask stripe about "+broken.ID) {
				t.Fatalf("report %+v", rep)
			}
			if asked := q.askedAbout(); slices.Contains(asked, "checkout "+notYet.ID) || len(asked) != 3 {
				t.Fatalf("asked %v", asked)
			}
			for id, want := range map[string]subscription.Status{abandoned.ID: subscription.Expired, completed.ID: subscription.Trialing,
				broken.ID: subscription.Pending, notYet.ID: subscription.Pending} {
				s := getSub(t, st, id)
				if s.Status != want {
					t.Errorf("%s: %s, want %s", id, s.Status, want)
				}
				if id == abandoned.ID && s.History[len(s.History)-1].Source != order.SourceReconcile {
					t.Errorf("history %+v", s.History)
				}
			}
			// The next run: the one that failed is asked again; the others
			// are settled (expired is final, the started one has its events
			// come by webhook and Missed on Stripe).
			delete(q.failing, broken.ID)
			rep = reconcileOnce(t, svc, false)
			if asked := q.askedAbout(); !slices.Equal(asked, []string{"checkout " + broken.ID}) || rep.SubscriptionsAsked != 1 || len(rep.Errors) != 0 {
				t.Fatalf("second run asked %v: %+v", asked, rep)
			}
		})
	}
}

// TestReconcile_ADryRunChangesNoSubscription: a dry run asks (the
// gateway's inquirer is told it is a dry run), says what it would apply,
// and writes nothing.
func TestReconcile_ADryRunChangesNoSubscription(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	svc, st := subDispatchShop(t, c, b)
	q := newSubInquirer()
	svc.Inquirers = map[string]shop.Inquirer{"stripe": q}
	s := pendingSub(t, svc)
	c.Advance(2 * time.Hour)
	q.checks[s.ID] = []order.Event{{Gateway: "stripe", ID: "recon_x_expired", Type: "checkout.session.expired", Kind: order.KindExpired,
		SessionRef: s.SessionRef, Refs: []string{s.SessionRef}, Created: c.Now(), Sub: &order.SubFacts{}}}
	rep := reconcileOnce(t, svc, true)
	if rep.SubscriptionsExpired != 1 || len(rep.WouldApply) != 1 || rep.WouldApply[0].OrderID != s.ID || rep.WouldApply[0].Source != order.SourceReconcile {
		t.Fatalf("report %+v", rep)
	}
	if got := getSub(t, st, s.ID); got.Status != subscription.Pending || got.Version != s.Version {
		t.Fatalf("a dry run wrote %+v", got)
	}
}

// TestReconcile_AMissedRenewalThenItsWebhookIsRecordedOnce: a watched
// subscription's renewal no webhook reported is found by reconcile (once,
// however many runs read it), then its subscription.charged webhook
// arrives: one renewal, one receipt — on both stores.
func TestReconcile_AMissedRenewalThenItsWebhookIsRecordedOnce(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{}
			svc, st := subDispatchShopOn(t, c, b, newStore(t, c.Now))
			q := newSubInquirer()
			svc.Inquirers = map[string]shop.Inquirer{"stripe": subWatcher{q}}
			s := subscribed(t, svc)
			first := order.Event{Gateway: "stripe", ID: "recon_inv_1_paid", Type: "subscription.charged", Kind: order.KindRenewalPaid,
				Amount: 900, Currency: "usd", Created: c.Now(), PaymentRef: "pay_1",
				Sub: &order.SubFacts{Ref: subRef(s), Renewal: "pay_1", FirstInvoice: true, PeriodStart: c.Now(), PeriodEnd: c.Now().AddDate(0, 1, 0)}}
			c.Advance(31 * 24 * time.Hour)
			second := order.Event{Gateway: "stripe", ID: "recon_inv_2_paid", Type: "subscription.charged", Kind: order.KindRenewalPaid,
				Amount: 900, Currency: "usd", Created: c.Now(), PaymentRef: "pay_2",
				Sub: &order.SubFacts{Ref: subRef(s), Renewal: "pay_2", PeriodStart: c.Now(), PeriodEnd: c.Now().AddDate(0, 1, 0)}}
			q.watches[s.ID] = []order.Event{first, second}
			if rep := reconcileOnce(t, svc, false); rep.RenewalsFound != 2 || rep.SubscriptionsAsked != 1 || len(rep.Errors) != 0 {
				t.Fatalf("first run %+v", rep)
			}
			if rep := reconcileOnce(t, svc, false); rep.RenewalsFound != 0 || len(rep.Errors) != 0 {
				t.Fatalf("read again %+v", rep)
			}
			// The webhook of the second charge, late: nothing new.
			a, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_charged_2", Type: "subscription.charged", Kind: order.KindRenewalPaid,
				OrderID: s.ID, Amount: 900, Currency: "usd", Created: c.Now(), PaymentRef: "pay_2",
				Sub: &order.SubFacts{Ref: subRef(s), Renewal: "pay_2", PeriodStart: c.Now(), PeriodEnd: c.Now().AddDate(0, 1, 0)}})
			if err != nil || a.Outcome != shop.Unchanged {
				t.Fatalf("the webhook after reconcile: %+v %v", a, err)
			}
			got := getSub(t, st, s.ID)
			if len(got.Evidence.Renewals) != 2 {
				t.Fatalf("renewals %+v", got.Evidence.Renewals)
			}
			renewed := 0
			for _, w := range got.Outbox {
				if w.Type == "subscription.renewed" {
					renewed++
				}
			}
			if renewed != 1 {
				t.Fatalf("%d renewal effects, want 1 (the first payment starts it): %+v", renewed, got.Outbox)
			}
			c.Advance(shop.EffectsAfter + time.Second)
			reconcileOnce(t, svc, false)
			mails, _ := b.sent()
			receipts := 0
			for _, m := range mails {
				if strings.HasPrefix(m, subscription.MailRenewalReceipt+" "+s.ID) {
					receipts++
				}
			}
			if receipts != 1 || len(duplicates(mails)) != 0 {
				t.Fatalf("mails %v", mails)
			}
		})
	}
}

// TestReconcile_AWatchThatFailsLeavesTheSubscription: a gateway error
// while reading a live subscription again is reported, and nothing moves.
func TestReconcile_AWatchThatFailsLeavesTheSubscription(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	svc, st := subDispatchShop(t, c, b)
	q := newSubInquirer()
	svc.Inquirers = map[string]shop.Inquirer{"stripe": subWatcher{q}}
	s := subscribed(t, svc)
	before := getSub(t, st, s.ID)
	q.failing[s.ID] = true
	q.watches[s.ID] = []order.Event{{Gateway: "stripe", ID: "x", Kind: order.KindSubscription, Sub: &order.SubFacts{Status: "canceled"}}}
	rep := reconcileOnce(t, svc, false)
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "503") || rep.SubscriptionsMoved != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := getSub(t, st, s.ID); got.Version != before.Version || got.Status != before.Status {
		t.Fatalf("moved by a failure: %+v", got)
	}
}

// TestReconcile_ATrialEndingIsToldOnce: a trial ending within three days
// owes its notice once, whichever gateway (none sends, or the webhook was
// missed); a later trial_will_end of the same trial changes nothing; a
// trial further off is not told yet.
func TestReconcile_ATrialEndingIsToldOnce(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{}
			svc, st := subDispatchShopOn(t, c, b, newStore(t, c.Now))
			svc.Inquirers = map[string]shop.Inquirer{"stripe": newSubInquirer()}
			soon, later := subscribed(t, svc), subscribed(t, svc)
			trialEnd := c.Now().Add(7 * 24 * time.Hour)
			for _, s := range []*subscription.Subscription{soon, later} {
				end := trialEnd
				if s == later {
					end = end.Add(24 * time.Hour)
				}
				applySub(t, svc, s, order.Event{ID: "evt_trial_" + s.ID, Type: "customer.subscription.created", Kind: order.KindSubscription,
					Sub: &order.SubFacts{Status: "trialing", TrialEnd: end, PeriodEnd: end}})
			}
			c.Advance(4*24*time.Hour + time.Hour) // soon's trial ends in under 3 days; later's in 3 days and an hour
			dry := reconcileOnce(t, svc, true)
			if dry.TrialsEnding != 1 || getSub(t, st, soon.ID).Evidence.TrialEnding != 0 {
				t.Fatalf("dry run %+v", dry)
			}
			if rep := reconcileOnce(t, svc, false); rep.TrialsEnding != 1 || len(rep.Errors) != 0 {
				t.Fatalf("first run %+v", rep)
			}
			if rep := reconcileOnce(t, svc, false); rep.TrialsEnding != 0 {
				t.Fatalf("told twice %+v", rep)
			}
			a, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_will_end", Type: "customer.subscription.trial_will_end",
				Kind: order.KindTrialEnding, OrderID: soon.ID, Created: c.Now(), Sub: &order.SubFacts{Ref: subRef(soon), Status: "trialing", TrialEnd: trialEnd, PeriodEnd: trialEnd}})
			if err != nil || a.Outcome == shop.Moved {
				t.Fatalf("the webhook after: %+v %v", a, err)
			}
			count := func(s *subscription.Subscription) int {
				n := 0
				for _, w := range getSub(t, st, s.ID).Outbox {
					if w.Type == "subscription.trial_will_end" {
						n++
					}
				}
				return n
			}
			if count(soon) != 1 || count(later) != 0 {
				t.Fatalf("trial notices: soon %d, later %d", count(soon), count(later))
			}
			if got := getSub(t, st, soon.ID); got.Evidence.TrialEnding != trialEnd.Unix() ||
				got.History[len(got.History)-1].EventID != "trial_ending_"+soon.ID+"_"+strconv.FormatInt(trialEnd.Unix(), 10) && got.History[len(got.History)-2].EventID != "trial_ending_"+soon.ID+"_"+strconv.FormatInt(trialEnd.Unix(), 10) {
				t.Fatalf("evidence %+v, history %+v", got.Evidence, got.History)
			}
		})
	}
}
