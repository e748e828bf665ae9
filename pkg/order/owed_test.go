package order

import (
	"fmt"
	"testing"
	"time"
)

func TestOwedEffects_WhatEachWriteOwes(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	base := Order{ID: "ord_x", Status: Pending, Amount: 4000, Currency: "usd"}
	step := func(o Order, e Event) Order { n, _ := Apply(o, e); n.Version = o.Version + 1; return n }
	paidO := step(base, paid("e1", 4000, "usd"))
	expiredO := step(base, expired("e0"))
	for _, tc := range []struct {
		name          string
		before, after Order
		want          []string // type/mail
	}{
		{"paid", base, paidO, []string{"order.paid/receipt"}},
		{"declined: nothing", base, step(base, decline("e2")), nil},
		{"expired", base, expiredO, []string{"order.expired/"}},
		{"paid late", expiredO, step(expiredO, paid("e3", 4000, "usd")), []string{"order.paid/receipt", "order.late_payment/late_payment"}},
		{"refunded in part", paidO, step(paidO, refund("e4", 1000)), []string{"order.partially_refunded/refund"}},
		{"a second payment", paidO, step(paidO, paidBy("e5", "pi_2")), []string{"order.duplicate_payment/"}},
		{"the same payment again: nothing", paidO, step(paidO, paid("e6", 4000, "usd")), nil},
		{"underpaid", base, step(base, paid("e7", 10, "usd")), []string{"order.amount_mismatch/"}},
	} {
		var got []string
		for _, e := range OwedEffects(tc.before, tc.after, now) {
			if e.OrderID != "ord_x" || e.Version != tc.after.Version || !e.OwedAt.Equal(now) {
				t.Errorf("%s: %+v", tc.name, e)
			}
			got = append(got, e.Type+"/"+e.Mail)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: owes %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: owes %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestAppendHistory_KeepsTheFirstAndTheMostRecent(t *testing.T) {
	var h []Change
	for i := range MaxHistory + 10 {
		h = AppendHistory(h, Change{EventID: fmt.Sprint(i)})
	}
	if len(h) != MaxHistory || h[0].EventID != "0" || h[1].EventID != "11" || h[len(h)-1].EventID != fmt.Sprint(MaxHistory+9) {
		t.Fatalf("%d entries: %s, %s … %s", len(h), h[0].EventID, h[1].EventID, h[len(h)-1].EventID)
	}
}

func TestAppendOwed_KeepsWhatIsOwedAndTheRecentlySent(t *testing.T) {
	var out []Owed
	for i := range keepSent + 5 {
		out = AppendOwed(out, []Effect{{Version: int64(i), Type: "order.paid"}})
		out[len(out)-1].State = EffectSent
	}
	out = AppendOwed(out, []Effect{{Version: 99, Type: "order.refunded"}})
	if len(out) != keepSent+1 || out[0].Version != 5 || out[len(out)-1].State != EffectOwed {
		t.Fatalf("%d kept, first v%d, last %s", len(out), out[0].Version, out[len(out)-1].State)
	}
}
