package order

import (
	"errors"
	"fmt"
	"github.com/jampay/jampay/internal/permute"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestCanMove_NothingReturnsToPendingOrLeavesRefunded(t *testing.T) {
	for _, from := range Statuses {
		if CanMove(from, Pending) && from != Failed {
			t.Errorf("%s → pending allowed", from)
		}
		if CanMove(from, from) {
			t.Errorf("%s → itself listed as a move", from)
		}
		if CanMove(Refunded, from) {
			t.Errorf("refunded → %s allowed", from)
		}
	}
	for _, to := range []Status{Processing, Failed, Expired, Pending} {
		if CanMove(Paid, to) {
			t.Errorf("paid → %s allowed: a paid order never goes back", to)
		}
	}
}

func TestTokenMatches(t *testing.T) {
	token, hash := NewToken()
	o := &Order{TokenHash: hash}
	if !TokenMatches(o, token) || TokenMatches(o, token+"a") || TokenMatches(nil, token) || TokenMatches(&Order{}, "") {
		t.Fatal("TokenMatches gave a wrong answer")
	}
}

func TestValidID(t *testing.T) {
	for i := 0; i < 100; i++ {
		if id := NewID(); !ValidID(id) {
			t.Fatalf("NewID() = %q is not ValidID", id)
		}
	}
	for _, bad := range []string{"", "ord_", "ord_../../etc/passwd", "ORD_AAAAAAAAAAAAAAAAAAAAAAAAAA", "ord_aaaaaaaaaaaaaaaaaaaaaaaaa1", "ord_aaaaaaaaaaaaaaaaaaaaaaaaaa\x00"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// scenarios are event sets that really happen together for one order of
// 4000 usd; want is the status once all of them have arrived.
var scenarios = []struct {
	name   string
	events []Event
	want   Status
}{
	{"declined then paid", []Event{decline("ev1"), paid("ev2", 4000, "usd")}, Paid},
	{"abandoned after a decline", []Event{decline("ev1"), expired("ev2")}, Expired},
	{"declined twice", []Event{decline("ev1"), decline("ev2")}, Pending},
	{"declined during an async payment", []Event{processing("ev1"), decline("ev2")}, Processing},
	{"paid twice by two payments", []Event{paid("ev1", 4000, "usd"), paidBy("ev2", "pi_2"), decline("ev3")}, Paid},
	{"paid without a currency", []Event{paid("ev1", 4000, ""), decline("ev2")}, AmountMismatch},
	{"refunded in the presentment currency", []Event{paid("ev1", 4000, "usd"), refundIn("ev2", 3700, "eur", 3700)}, Refunded},
	{"partly refunded in the presentment currency", []Event{paid("ev1", 4000, "usd"), refundIn("ev2", 3700, "eur", 3699)}, PartiallyRefunded},
	{"async then succeeded", []Event{processing("ev1"), paid("ev2", 4000, "usd")}, Paid},
	{"async then failed", []Event{decline("ev0"), processing("ev1"), failed("ev2")}, Failed},
	{"paid then partial then full refund", []Event{paid("ev1", 4000, "usd"), refund("ev2", 1000), refund("ev3", 4000)}, Refunded},
	{"paid then partial refund", []Event{decline("ev0"), paid("ev1", 4000, "usd"), refund("ev2", 1500)}, PartiallyRefunded},
	{"dispute won", []Event{paid("ev1", 4000, "usd"), dispute("ev2", KindDisputeOpened, "dp1"), dispute("ev3", KindDisputeWon, "dp1")}, Paid},
	{"dispute lost", []Event{paid("ev1", 4000, "usd"), dispute("ev2", KindDisputeOpened, "dp1"), dispute("ev3", KindDisputeLost, "dp1")}, Refunded},
	{"dispute open", []Event{processing("ev0"), paid("ev1", 4000, "usd"), refund("ev2", 500), dispute("ev3", KindDisputeOpened, "dp1")}, Disputed},
	{"underpaid", []Event{processing("ev0"), paid("ev1", 3999, "usd"), expired("ev2")}, AmountMismatch},
	{"wrong currency", []Event{paid("ev1", 4000, "inr"), decline("ev2")}, AmountMismatch},
	{"paid and expired", []Event{paid("ev1", 4000, "usd"), expired("ev2")}, Paid},
}

func decline(id string) Event { return Event{ID: id, Kind: KindDeclined, Reason: "card_declined"} }
func failed(id string) Event  { return Event{ID: id, Kind: KindFailed, Reason: "bank_rejected"} }
func expired(id string) Event { return Event{ID: id, Kind: KindExpired} }
func processing(id string) Event {
	return Event{ID: id, Kind: KindProcessing, Amount: 4000, Currency: "usd"}
}
func paid(id string, amount int64, cur string) Event {
	return Event{ID: id, Kind: KindPaid, Amount: amount, Currency: cur, PaymentRef: "pi_1"}
}
func paidBy(id, ref string) Event {
	return Event{ID: id, Kind: KindPaid, Amount: 4000, Currency: "usd", PaymentRef: ref}
}
func refundIn(id string, chargeAmount int64, cur string, cum int64) Event {
	return Event{ID: id, Kind: KindRefunded, Amount: chargeAmount, Currency: cur, Refunded: cum}
}
func refund(id string, cum int64) Event {
	return Event{ID: id, Kind: KindRefunded, Amount: 4000, Currency: "usd", Refunded: cum}
}
func dispute(id string, k Kind, dp string) Event { return Event{ID: id, Kind: k, Dispute: dp} }

// TestApply_AnyOrderSameEnd delivers each scenario's events in every order,
// each one twice, and checks the end status, that every status change is in
// the move table, and that a repeated event changes nothing.
func TestApply_AnyOrderSameEnd(t *testing.T) {
	for _, sc := range scenarios {
		for _, perm := range permute.All(len(sc.events)) {
			o := Order{ID: "ord_x", Status: Pending, Amount: 4000, Currency: "usd"}
			for _, i := range perm {
				e := sc.events[i]
				next, changed := Apply(o, e)
				if changed && next.Status != o.Status && !CanMove(o.Status, next.Status) {
					t.Fatalf("%s %v: %s → %s is not in the move table", sc.name, perm, o.Status, next.Status)
				}
				if again, changed := Apply(next, e); changed {
					t.Fatalf("%s %v: event %s applied twice changed the order again (%s → %s)", sc.name, perm, e.ID, next.Status, again.Status)
				}
				o = next
			}
			if o.Status != sc.want {
				t.Errorf("%s in order %v: ended %s, want %s", sc.name, perm, o.Status, sc.want)
			}
			if o.Evidence.Mismatch && (o.Status == Paid) {
				t.Errorf("%s: mismatched money ended paid", sc.name)
			}
		}
	}
}

func TestApply_DeclineRecordsReasonAndLeavesTheOrderOpen(t *testing.T) {
	o := Order{Status: Pending, Amount: 4000, Currency: "usd"}
	o, _ = Apply(o, decline("e1"))
	if o.Status != Pending || o.FailureReason != "card_declined" {
		t.Fatalf("after decline: %s %q, want pending with the reason", o.Status, o.FailureReason)
	}
	if p, _ := Apply(o, processing("e1b")); p.Status != Processing {
		t.Fatalf("processing after a decline: %s", p.Status)
	}
	o, _ = Apply(o, paid("e2", 4000, "usd"))
	if o.Status != Paid {
		t.Fatalf("retry after decline: %s, want paid", o.Status)
	}
}

func TestApply_ZeroDecimalAmounts(t *testing.T) {
	o := Order{Status: Pending, Amount: 1500, Currency: "jpy"}
	for _, tc := range []struct {
		amount int64
		cur    string
		want   Status
	}{{1500, "jpy", Paid}, {1500, "JPY", Paid}, {150000, "jpy", AmountMismatch}, {15, "jpy", AmountMismatch}} {
		got, _ := Apply(o, paid(fmt.Sprint(tc.amount), tc.amount, tc.cur))
		if got.Status != tc.want {
			t.Errorf("paid %d %s on a 1500 jpy order: %s, want %s", tc.amount, tc.cur, got.Status, tc.want)
		}
	}
}

func TestApply_ExpiredKeepsTheLastReason(t *testing.T) {
	o := Order{Status: Pending, Amount: 4000, Currency: "usd"}
	for _, e := range []Event{decline("e1"), {ID: "e2", Kind: KindDeclined, Reason: "insufficient_funds"}, expired("e3")} {
		o, _ = Apply(o, e)
	}
	if o.Status != Expired || o.FailureReason != "insufficient_funds" {
		t.Fatalf("%s %q, want expired with the last reason", o.Status, o.FailureReason)
	}
	if late, _ := Apply(o, paid("e4", 4000, "usd")); late.Status != Paid {
		t.Fatalf("money after expiry: %s, want paid", late.Status)
	}
}

func TestApply_SecondCaptureIsRecordedNotIgnored(t *testing.T) {
	o := Order{Status: Pending, Amount: 4000, Currency: "usd"}
	// A declined Razorpay attempt, then the payment that paid.
	o, _ = Apply(o, Event{ID: "e0", Kind: KindProcessing, Amount: 4000, Currency: "usd", PaymentRef: "pay_failed"})
	o, _ = Apply(o, paidBy("e1", "pay_ok"))
	if o.PaymentRef != "pay_ok" || o.Evidence.PaidRef != "pay_ok" {
		t.Fatalf("the order's payment is %q (paid by %q), want the captured pay_ok", o.PaymentRef, o.Evidence.PaidRef)
	}
	same, changed := Apply(o, paidBy("e2", "pay_ok"))
	if changed || len(same.Evidence.ExtraPayments) > 0 {
		t.Fatalf("the same payment reported again counted as a second one: %+v", same.Evidence)
	}
	twice, changed := Apply(o, paidBy("e3", "pay_other"))
	if !changed || twice.Status != Paid || !slices.Equal(twice.Evidence.ExtraPayments, []string{"pay_other"}) || twice.PaymentRef != "pay_ok" {
		t.Fatalf("a second capture: changed=%v %s %+v", changed, twice.Status, twice.Evidence)
	}
	if again, changed := Apply(twice, paidBy("e4", "pay_other")); changed {
		t.Fatalf("the second capture counted twice: %+v", again.Evidence)
	}
}

func TestOrder_ExpiresOnlyWhenExpiredWithoutMoney(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		events []Event
		expire bool
	}{
		{"abandoned", []Event{expired("e1")}, true},
		{"declined then abandoned", []Event{decline("e1"), expired("e2")}, true},
		{"pending", nil, false},
		{"paid", []Event{paid("e1", 4000, "usd")}, false},
		{"underpaid then expired", []Event{paid("e1", 10, "usd"), expired("e2")}, false},
		{"paid late", []Event{expired("e1"), paid("e2", 4000, "usd")}, false},
	} {
		o := Order{Status: Pending, Amount: 4000, Currency: "usd", UpdatedAt: at}
		for _, e := range tc.events {
			o, _ = Apply(o, e)
		}
		got := o.ExpiresAt()
		if tc.expire != !got.IsZero() || (tc.expire && !got.Equal(at.Add(ExpiredRetention))) {
			t.Errorf("%s (%s): ExpiresAt = %v", tc.name, o.Status, got)
		}
	}
}

// TestApply_AnOrderStoredFailedByADeclineReopens: releases before invariant
// 11 stored a declined order as failed. The next event for it moves it to
// where its evidence says (pending), and the store accepts that move; an
// order that failed for good never goes back.
func TestApply_AnOrderStoredFailedByADeclineReopens(t *testing.T) {
	old := Order{ID: "ord_x", Status: Failed, Amount: 4000, Currency: "usd", FailureReason: "card_declined",
		Evidence: Evidence{Declined: true}}
	next, changed := Apply(old, Event{ID: "e2", Kind: KindDeclined, Reason: "insufficient_funds"})
	next.Version = 1
	if !changed || next.Status != Pending || next.FailureReason != "insufficient_funds" {
		t.Fatalf("a new decline on an old failed order: %v %s %q", changed, next.Status, next.FailureReason)
	}
	if err := CheckMove(Move{Next: next, From: Failed}); err != nil {
		t.Fatalf("the store would refuse the move: %v", err)
	}
	final := next
	final.Evidence.FailedFinal = true
	if err := CheckMove(Move{Next: final, From: Failed}); !errors.Is(err, ErrForbiddenMove) {
		t.Fatalf("failed for good, back to pending: %v", err)
	}
}

// TestApply_PuttingRightADoubleChargeLeavesTheOrderPaid: the refund or the
// chargeback of a second payment is not the order's; the one that paid it
// still stands.
func TestApply_PuttingRightADoubleChargeLeavesTheOrderPaid(t *testing.T) {
	o := Order{Status: Pending, Amount: 4000, Currency: "usd"}
	for _, e := range []Event{paidBy("e1", "pay_1"), paidBy("e2", "pay_2")} {
		o, _ = Apply(o, e)
	}
	refunded, _ := Apply(o, Event{ID: "e3", Kind: KindRefunded, PaymentRef: "pay_2", Amount: 4000, Currency: "usd", Refunded: 4000})
	if refunded.Status != Paid || refunded.Evidence.Refunded != 0 || !slices.Equal(refunded.Evidence.ExtraRefunded, []string{"pay_2"}) {
		t.Fatalf("the second payment refunded: %s %+v", refunded.Status, refunded.Evidence)
	}
	for _, k := range []Kind{KindDisputeOpened, KindDisputeLost} {
		if d, _ := Apply(refunded, Event{ID: "e4", Kind: k, PaymentRef: "pay_2", Dispute: "disp_2"}); d.Status != Paid {
			t.Fatalf("a %s on the second payment: %s", k, d.Status)
		}
	}
	own, _ := Apply(refunded, Event{ID: "e5", Kind: KindRefunded, PaymentRef: "pay_1", Amount: 4000, Currency: "usd", Refunded: 4000})
	if own.Status != Refunded {
		t.Fatalf("the order's own payment refunded: %s", own.Status)
	}
}

// nonZero returns a value other than the zero value for a field of type
// t, or false for a kind this test (and the stores' codec) does not know.
func nonZero(t reflect.Type) (reflect.Value, bool) {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int64:
		v.SetInt(7)
	case reflect.String:
		v.SetString("x_1")
	case reflect.Slice:
		v.Set(reflect.MakeSlice(t, 2, 2))
		v.Index(0).SetString("a_1")
		v.Index(1).SetString("b_2")
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		k.SetString("dp_1")
		e.SetString(DisputeWon)
		v.SetMapIndex(k, e)
	default:
		return v, false
	}
	return v, true
}

// TestEvidence_EveryFieldCountsAndIsCopied walks every field of Evidence,
// so that a new one cannot be left out: equal notices it, and clone does
// not share it. (storetest checks that both stores keep it.)
func TestEvidence_EveryFieldCountsAndIsCopied(t *testing.T) {
	typ := reflect.TypeFor[Evidence]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		val, ok := nonZero(f.Type)
		if !ok {
			t.Fatalf("Evidence.%s is a %s: teach nonZero a value for it, and the stores' codec to keep it", f.Name, f.Type)
		}
		var ev Evidence
		reflect.ValueOf(&ev).Elem().Field(i).Set(val)
		if ev.equal(Evidence{}) || (Evidence{}).equal(ev) {
			t.Errorf("Evidence.%s: equal does not notice it", f.Name)
		}
		c := ev.clone()
		if !c.equal(ev) {
			t.Errorf("Evidence.%s: the clone differs: %+v", f.Name, c)
		}
		// Change what the clone's field holds: the original must not see it.
		cf := reflect.ValueOf(&c).Elem().Field(i)
		switch cf.Kind() {
		case reflect.Slice:
			cf.Index(0).SetString("changed")
		case reflect.Map:
			for _, k := range cf.MapKeys() {
				cf.SetMapIndex(k, reflect.ValueOf(DisputeLost).Convert(cf.Type().Elem()))
			}
		}
		if again, _ := nonZero(f.Type); !reflect.DeepEqual(reflect.ValueOf(ev).Field(i).Interface(), again.Interface()) {
			t.Errorf("Evidence.%s: the clone shares it with the original: %+v", f.Name, ev)
		}
		// None and empty are the same evidence: a store reads either back
		// as none.
		var empty Evidence
		switch ef := reflect.ValueOf(&empty).Elem().Field(i); ef.Kind() {
		case reflect.Slice:
			ef.Set(reflect.MakeSlice(f.Type, 0, 0))
		case reflect.Map:
			ef.Set(reflect.MakeMap(f.Type))
		}
		if !empty.equal(Evidence{}) {
			t.Errorf("Evidence.%s: empty and none differ", f.Name)
		}
	}
}

// TestRanking_EveryStatusOnce: derive can give every status, each from one
// row, and the last row (an open order) always holds.
func TestRanking_EveryStatusOnce(t *testing.T) {
	seen := map[Status]int{}
	for _, r := range ranking {
		seen[r.status]++
	}
	for _, s := range Statuses {
		if seen[s] != 1 {
			t.Errorf("%s is in the ranking %d times", s, seen[s])
		}
	}
	if len(ranking) != len(Statuses) || ranking[len(ranking)-1].status != Pending || !ranking[len(ranking)-1].holds(Evidence{}, 0) {
		t.Errorf("the ranking must end with pending, which always holds")
	}
}

// TestApply_AnAuthorisationGivenBackEndsTheOrder: authorised, never
// captured, returned by the gateway: failed for good, so the order leaves
// the open queue; a capture that still came would pay it.
func TestApply_AnAuthorisationGivenBackEndsTheOrder(t *testing.T) {
	o := Order{Status: Pending, Amount: 4000, Currency: "usd"}
	o, _ = Apply(o, processing("e1"))
	o, _ = Apply(o, Event{ID: "e2", Kind: KindFailed, Reason: "not captured, returned"})
	if o.Status != Failed || o.FailureReason != "not captured, returned" {
		t.Fatalf("%s %q", o.Status, o.FailureReason)
	}
	if late, _ := Apply(o, paid("e3", 4000, "usd")); late.Status != Paid {
		t.Fatalf("a capture after all: %s", late.Status)
	}
}
