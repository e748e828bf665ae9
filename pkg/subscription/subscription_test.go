package subscription

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/permute"
	"github.com/jampay/jampay/pkg/order"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newSub(trialDays int64) Subscription {
	return Subscription{ID: "sbn_aaaaaaaaaaaaaaaaaaaaaaaaaa", Gateway: "stripe", Status: Pending,
		SKU: "club-monthly", Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd",
		Interval: "month", IntervalCount: 1, TrialDays: trialDays, SessionRef: "cs_1"}
}

// at returns t0 plus d days and s seconds.
func at(days, secs int) time.Time {
	return t0.Add(time.Duration(days)*24*time.Hour + time.Duration(secs)*time.Second)
}

func snap(id string, when time.Time, status Status, periodEnd time.Time) order.Event {
	return order.Event{ID: id, Type: "customer.subscription.updated", Kind: order.KindSubscription, Created: when,
		Sub: &order.SubFacts{Ref: "sub_1", Status: string(status), PeriodEnd: periodEnd}}
}

func renewal(id, invoice string, when time.Time, amount int64, periodEnd time.Time, first bool) order.Event {
	return order.Event{ID: id, Type: "invoice.paid", Kind: order.KindRenewalPaid, Created: when, Amount: amount, Currency: "usd",
		Sub: &order.SubFacts{Ref: "sub_1", Renewal: invoice, PeriodStart: periodEnd.AddDate(0, -1, 0), PeriodEnd: periodEnd, FirstInvoice: first}}
}

func failed(id, invoice string, when time.Time, reason string) order.Event {
	return order.Event{ID: id, Type: "invoice.payment_failed", Kind: order.KindRenewalFailed, Created: when, Reason: reason,
		Sub: &order.SubFacts{Ref: "sub_1", Renewal: invoice}}
}

func completed(id string, when time.Time) order.Event {
	return order.Event{ID: id, Type: "checkout.session.completed", Kind: order.KindPaid, Created: when, SessionRef: "cs_1",
		Sub: &order.SubFacts{Ref: "sub_1"}}
}

func applyAll(s Subscription, events []order.Event, perm []int) Subscription {
	for _, i := range perm {
		s, _ = Apply(s, events[i])
	}
	return s
}

// The seeds' scenarios, each a realistic set of Stripe events: whatever
// order they arrive in, and with each delivered twice, the subscription
// ends in the same state.
func TestApply_EveryOrderOfAScenarioEndsTheSame(t *testing.T) {
	scenarios := []struct {
		name      string
		trialDays int64
		events    []order.Event
		want      Status
		entitled  bool
		periodEnd time.Time
		renewals  int
	}{
		{"trial then active then renewed", 7, []order.Event{
			completed("evt_c", at(0, 0)),
			snap("evt_s1", at(0, 0), Trialing, at(7, 0)),
			renewal("evt_i0", "in_0", at(0, 0), 0, at(7, 0), true),
			snap("evt_s2", at(7, 0), Active, at(37, 0)),
			renewal("evt_i1", "in_1", at(7, 0), 900, at(37, 0), false),
			renewal("evt_i2", "in_2", at(37, 0), 900, at(67, 0), false),
		}, Active, true, at(67, 0), 3},
		{"a failed renewal, then recovered", 0, []order.Event{
			completed("evt_c", at(0, 0)),
			renewal("evt_i1", "in_1", at(0, 0), 900, at(30, 0), true),
			failed("evt_f", "in_2", at(30, 0), "Your card was declined."),
			snap("evt_s2", at(30, 0), PastDue, at(30, 0)),
			renewal("evt_i2", "in_2", at(33, 0), 900, at(60, 0), false),
			snap("evt_s3", at(33, 0), Active, at(60, 0)),
		}, Active, true, at(60, 0), 2},
		{"retries exhausted: halted", 0, []order.Event{
			completed("evt_c", at(0, 0)),
			renewal("evt_i1", "in_1", at(0, 0), 900, at(30, 0), true),
			failed("evt_f1", "in_2", at(30, 0), "Your card was declined."),
			snap("evt_s2", at(30, 0), PastDue, at(30, 0)),
			failed("evt_f2", "in_2", at(37, 0), "Your card has insufficient funds."),
			snap("evt_s3", at(44, 0), Halted, at(30, 0)),
		}, Halted, false, at(30, 0), 1},
		{"cancel at period end, then the period ends", 0, []order.Event{
			completed("evt_c", at(0, 0)),
			renewal("evt_i1", "in_1", at(0, 0), 900, at(30, 0), true),
			snap("evt_s1", at(0, 0), Active, at(30, 0)),
			{ID: "evt_s2", Kind: order.KindSubscription, Created: at(10, 0), Sub: &order.SubFacts{Ref: "sub_1", Status: "active", CancelAtPeriodEnd: true, PeriodEnd: at(30, 0)}},
			snap("evt_del", at(30, 0), Canceled, at(30, 0)),
		}, Canceled, false, at(30, 0), 1},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var first Subscription
			for n, perm := range permute.All(len(sc.events)) {
				// Every event twice: the second copy right after the last one.
				perm = append(perm, perm...)
				got := applyAll(newSub(sc.trialDays), sc.events, perm)
				if n == 0 {
					first = got
				}
				if got.Status != sc.want || got.Entitled() != sc.entitled || !got.CurrentPeriodEnd().Equal(sc.periodEnd) || len(got.Evidence.Renewals) != sc.renewals {
					t.Fatalf("order %v: status %s entitled %v period end %v renewals %d; want %s %v %v %d",
						perm[:len(sc.events)], got.Status, got.Entitled(), got.CurrentPeriodEnd(), len(got.Evidence.Renewals), sc.want, sc.entitled, sc.periodEnd, sc.renewals)
				}
				if !got.Evidence.equal(first.Evidence) {
					t.Fatalf("order %v: evidence %+v, the first order gave %+v", perm[:len(sc.events)], got.Evidence, first.Evidence)
				}
			}
		})
	}
}

func TestApply_FinalStatusesAreNeverRevived(t *testing.T) {
	for _, final := range []Status{Canceled, Completed, Expired} {
		s := newSub(0)
		s, _ = Apply(s, completed("evt_c", at(0, 0)))
		if final == Expired {
			s = newSub(0)
		}
		s, _ = Apply(s, snap("evt_end", at(5, 0), final, time.Time{}))
		if s.Status != final {
			t.Fatalf("%s: got %s", final, s.Status)
		}
		// A later active snapshot, a renewal, a completed checkout.
		for _, e := range []order.Event{snap("evt_late", at(9, 0), Active, at(40, 0)), renewal("evt_r", "in_9", at(9, 0), 900, at(40, 0), false), completed("evt_c2", at(9, 0))} {
			next, _ := Apply(s, e)
			if next.Status != final || next.Entitled() {
				t.Fatalf("%s then %s: got %s", final, e.Type, next.Status)
			}
		}
	}
}

func TestApply_ATieInOneSecondIsDecidedByTheStatus(t *testing.T) {
	// A failure and the update it caused, stamped in the same second.
	events := []order.Event{snap("evt_a", at(30, 0), Active, at(30, 0)), snap("evt_p", at(30, 0), PastDue, at(30, 0))}
	for _, perm := range [][]int{{0, 1}, {1, 0}} {
		if got := applyAll(newSub(0), events, perm); got.Status != PastDue {
			t.Fatalf("order %v: %s, want past_due", perm, got.Status)
		}
	}
	// The same second, the same status, one setting the cancel: set wins.
	c := snap("evt_c", at(10, 0), Active, at(30, 0))
	c.Sub.CancelAtPeriodEnd = true
	events = []order.Event{c, snap("evt_n", at(10, 0), Active, at(30, 0))}
	for _, perm := range [][]int{{0, 1}, {1, 0}} {
		if got := applyAll(newSub(0), events, perm); !got.CancelAtPeriodEnd() {
			t.Fatalf("order %v: the cancel was lost", perm)
		}
	}
}

func TestApply_CurrentPeriodEndNeverMovesBackwards(t *testing.T) {
	s := newSub(0)
	s, _ = Apply(s, snap("evt_2", at(30, 0), Active, at(60, 0)))
	s, _ = Apply(s, snap("evt_1", at(0, 0), Active, at(30, 0)))
	s, _ = Apply(s, failed("evt_f", "in_3", at(61, 0), "declined"))
	if !s.CurrentPeriodEnd().Equal(at(60, 0)) {
		t.Fatalf("current period end %v, want %v", s.CurrentPeriodEnd(), at(60, 0))
	}
}

func TestApply_ARenewalIsRecordedOnceAndCheckedAgainstTheSubscription(t *testing.T) {
	s := newSub(7)
	s, _ = Apply(s, completed("evt_c", at(0, 0)))
	// A trial's zero first invoice is expected.
	s, _ = Apply(s, renewal("evt_0", "in_0", at(0, 0), 0, at(7, 0), true))
	// A renewal at another price (the owner changed it at the gateway).
	s, _ = Apply(s, renewal("evt_1", "in_1", at(7, 0), 1200, at(37, 0), false))
	again, changed := Apply(s, renewal("evt_1b", "in_1", at(7, 0), 1200, at(37, 0), false))
	if changed || len(again.Evidence.Renewals) != 2 {
		t.Fatalf("the same invoice twice: changed %v, renewals %d", changed, len(again.Evidence.Renewals))
	}
	if fmt.Sprint(s.Evidence.Mismatched) != "[in_1]" {
		t.Fatalf("mismatched %v, want [in_1]", s.Evidence.Mismatched)
	}
	// A zero invoice that is not the trial's first is a mismatch too.
	s, _ = Apply(s, renewal("evt_2", "in_2", at(37, 0), 0, at(67, 0), false))
	if fmt.Sprint(s.Evidence.Mismatched) != "[in_1 in_2]" {
		t.Fatalf("mismatched %v, want [in_1 in_2]", s.Evidence.Mismatched)
	}
}

func TestApply_AnIncompleteSnapshotDoesNotUndoACompletedCheckout(t *testing.T) {
	for _, perm := range [][]int{{0, 1}, {1, 0}} {
		events := []order.Event{snap("evt_created", at(0, 0), Pending, time.Time{}), completed("evt_c", at(0, 0))}
		if got := applyAll(newSub(0), events, perm); got.Status != Active {
			t.Fatalf("order %v: %s, want active", perm, got.Status)
		}
	}
}

func TestApply_AnExpiredCheckoutIsFinal(t *testing.T) {
	s, _ := Apply(newSub(0), order.Event{ID: "evt_x", Kind: order.KindExpired, Created: at(1, 0), Sub: &order.SubFacts{}})
	if s.Status != Expired || s.Entitled() {
		t.Fatalf("got %s", s.Status)
	}
}

func TestCanMove_EveryPair(t *testing.T) {
	for _, from := range Statuses {
		for _, to := range Statuses {
			want := from != to && !from.Final() && to != Pending
			if CanMove(from, to) != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, !want, want)
			}
		}
	}
}

func TestOwedEffects(t *testing.T) {
	s := newSub(0)
	s.Version = 1
	next, _ := Apply(s, completed("evt_c", at(0, 0)))
	next, _ = Apply(next, renewal("evt_1", "in_1", at(0, 0), 900, at(30, 0), true))
	next.Version = 2
	if got := fmt.Sprint(OwedEffects(s, next, t0)); !strings.Contains(got, "subscription.active") || !strings.Contains(got, MailStarted) || strings.Contains(got, "renewed") {
		t.Fatalf("starting owes %s", got)
	}
	r, _ := Apply(next, renewal("evt_2", "in_2", at(30, 0), 900, at(60, 0), false))
	r.Version = 3
	if got := OwedEffects(next, r, t0); len(got) != 1 || got[0].Type != "subscription.renewed" || got[0].Mail != MailRenewalReceipt {
		t.Fatalf("a renewal owes %v", got)
	}
	p, _ := Apply(r, snap("evt_p", at(60, 0), PastDue, at(60, 0)))
	p.Version = 4
	if got := OwedEffects(r, p, t0); len(got) != 1 || got[0].Type != "subscription.past_due" || got[0].Mail != MailRenewalFailed {
		t.Fatalf("past due owes %v", got)
	}
	te, _ := Apply(p, order.Event{ID: "evt_t", Kind: order.KindTrialEnding, Sub: &order.SubFacts{TrialEnd: at(63, 0)}})
	if got := OwedEffects(p, te, t0); len(got) != 1 || got[0].Mail != MailTrialEnding {
		t.Fatalf("trial ending owes %v", got)
	}
	if again, changed := Apply(te, order.Event{ID: "evt_t2", Kind: order.KindTrialEnding, Sub: &order.SubFacts{TrialEnd: at(63, 0)}}); changed || len(OwedEffects(te, again, t0)) != 0 {
		t.Fatal("the same trial end owes its notice twice")
	}
}

func TestIDs(t *testing.T) {
	id := NewID()
	if !ValidID(id) || order.ValidID(id) || ValidID("ord_"+id[4:]) || ValidID(id+"a") {
		t.Fatalf("id %q: ValidID %v", id, ValidID(id))
	}
	if TokenMatches(nil, "x") || TokenMatches(&Subscription{TokenHash: order.HashToken("x")}, "y") || !TokenMatches(&Subscription{TokenHash: order.HashToken("x")}, "x") {
		t.Fatal("TokenMatches")
	}
}

// Stripe moves current_period_end at the renewal, before it is paid: a
// past_due snapshot's period was never paid for.
func TestApply_AnUnpaidPeriodDoesNotExtendCurrentPeriodEnd(t *testing.T) {
	s := newSub(0)
	s, _ = Apply(s, snap("evt_a", at(0, 0), Active, at(30, 0)))
	for _, st := range []Status{PastDue, Halted, Paused} {
		next, _ := Apply(s, snap("evt_"+string(st), at(30, 0), st, at(60, 0)))
		if !next.CurrentPeriodEnd().Equal(at(30, 0)) {
			t.Fatalf("%s: current period end %v, want %v", st, next.CurrentPeriodEnd(), at(30, 0))
		}
	}
}

// Razorpay's subscription.charged is a renewal and a snapshot in one
// event; .halted carries the failed payment's reason with its snapshot.
func TestApply_RazorpaysChargedAndHaltedSayBoth(t *testing.T) {
	s := newSub(0)
	s.Gateway = "razorpay"
	charged := renewal("evt_ch", "pay_1", at(0, 0), 900, at(30, 0), true)
	charged.Sub.Status = string(Active)
	s, _ = Apply(s, charged)
	if s.Status != Active || !s.Evidence.Renewed("pay_1") || s.Evidence.Snapshot.Status != Active {
		t.Fatalf("charged: %s %+v", s.Status, s.Evidence)
	}
	halted := snap("evt_h", at(40, 0), Halted, time.Time{})
	halted.Reason = "Card expired"
	s, _ = Apply(s, halted)
	if s.Status != Halted || s.FailureReason() != "Card expired" || s.Entitled() {
		t.Fatalf("halted: %s %q", s.Status, s.FailureReason())
	}
}

// Razorpay confirms a cancel at the period's end only in its API's answer;
// its later snapshots do not carry it, and must not undo it. Stripe's do,
// both ways.
func TestApply_ACancelAtPeriodEndRazorpayConfirmedSticks(t *testing.T) {
	for _, gw := range []string{"razorpay", "stripe"} {
		s := newSub(0)
		s.Gateway = gw
		s, _ = Apply(s, snap("evt_a", at(0, 0), Active, at(30, 0)))
		answer := snap("api_1", at(5, 0), Active, at(30, 0))
		answer.Source, answer.Sub.CancelAtPeriodEnd = order.SourceOwner, true
		s, _ = Apply(s, answer)
		if !s.CancelAtPeriodEnd() {
			t.Fatalf("%s: the confirmed cancel is not shown", gw)
		}
		s, _ = Apply(s, snap("evt_later", at(6, 0), Active, at(30, 0)))
		if want := gw == "razorpay"; s.CancelAtPeriodEnd() != want {
			t.Fatalf("%s: after a later snapshot without it: %v, want %v", gw, s.CancelAtPeriodEnd(), want)
		}
	}
}

func TestApply_ARazorpayTrialIsItsCurrentPeriod(t *testing.T) {
	s := newSub(7)
	auth := snap("evt_auth", at(0, 0), Trialing, time.Time{})
	auth.Sub.TrialEnd = at(7, 0)
	s, _ = Apply(s, auth)
	if s.Status != Trialing || !s.CurrentPeriodEnd().Equal(at(7, 0)) || !s.TrialEnd().Equal(at(7, 0)) {
		t.Fatalf("%s %v %v", s.Status, s.CurrentPeriodEnd(), s.TrialEnd())
	}
}

func TestApply_RefundsAndDisputesOfItsPaymentsAreKeptForTheOwner(t *testing.T) {
	s, _ := Apply(newSub(0), completed("evt_c", at(0, 0)))
	s.Version = 1
	r, _ := Apply(s, order.Event{ID: "evt_r", Kind: order.KindRefunded, PaymentRef: "pi_1", Refunded: 900, Amount: 900, Currency: "usd"})
	d, _ := Apply(r, order.Event{ID: "evt_d", Kind: order.KindDisputeOpened, Dispute: "dp_1", PaymentRef: "pi_1"})
	d.Version = 2
	owed := OwedEffects(s, d, t0)
	if fmt.Sprint(d.Evidence.Refunded, d.Evidence.Disputed) != "[pi_1] [dp_1]" || len(owed) != 2 || d.Status != s.Status {
		t.Fatalf("evidence %v %v, owed %v, status %s", d.Evidence.Refunded, d.Evidence.Disputed, owed, d.Status)
	}
}

// Reconcile cancels an abandoned Razorpay checkout and ends it expired;
// Razorpay may then say it was cancelled, or say so first. Either way it
// ends expired: a subscription canceled before it started never started.
func TestApply_CanceledBeforeItStartedIsExpiredWhicheverComesFirst(t *testing.T) {
	expire := order.Event{ID: "recon_x", Kind: order.KindExpired, Created: at(1, 0), Sub: &order.SubFacts{}}
	cancelled := snap("evt_cancelled", at(1, 5), Canceled, time.Time{})
	for _, perm := range [][]int{{0, 1}, {1, 0}} {
		got := applyAll(newSub(0), []order.Event{expire, cancelled}, perm)
		if got.Status != Expired {
			t.Fatalf("order %v: %s, want expired", perm, got.Status)
		}
		// And no move between two final statuses was ever asked for.
		mid := applyAll(newSub(0), []order.Event{expire, cancelled}, perm[:1])
		if mid.Status.Final() && mid.Status != got.Status {
			t.Fatalf("order %v: %s then %s", perm, mid.Status, got.Status)
		}
	}
	// A subscription that ran and was canceled is canceled.
	s, _ := Apply(newSub(0), snap("evt_a", at(0, 0), Active, at(30, 0)))
	s, _ = Apply(s, snap("evt_del", at(30, 0), Canceled, at(30, 0)))
	if s.Status != Canceled {
		t.Fatalf("%s, want canceled", s.Status)
	}
}

// Invariant 9: once the subscription knows its gateway subscription, an
// event about another moves nothing, whatever its metadata says.
func TestApply_AnotherGatewaySubscriptionMovesNothing(t *testing.T) {
	s, _ := Apply(newSub(0), snap("evt_a", at(0, 0), Active, at(30, 0)))
	other := snap("evt_x", at(5, 0), Canceled, at(5, 0))
	other.Sub.Ref = "sub_not_ours"
	if next, changed := Apply(s, other); changed || next.Status != Active {
		t.Fatalf("another subscription's cancel: %s, changed %v", next.Status, changed)
	}
}

// Invariant 6: a renewal of another amount or currency is flagged, and
// neither starts a subscription nor pays a period.
func TestApply_AMismatchedRenewalPaysNothing(t *testing.T) {
	for _, e := range []order.Event{renewal("evt_1c", "in_1", at(0, 0), 1, at(365, 0), false), func() order.Event {
		e := renewal("evt_jpy", "in_2", at(0, 0), 900, at(365, 0), false)
		e.Currency = "jpy"
		return e
	}()} {
		got, _ := Apply(newSub(0), e)
		if got.Status != Pending || got.Entitled() || !got.CurrentPeriodEnd().IsZero() || len(got.Evidence.Mismatched) != 1 {
			t.Fatalf("%s: %s entitled %v period end %v mismatched %v", e.ID, got.Status, got.Entitled(), got.CurrentPeriodEnd(), got.Evidence.Mismatched)
		}
	}
}
