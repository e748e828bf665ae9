package shop_test

import (
	"slices"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// paidBy applies o's payment through the service, as a webhook would: the
// move owes the receipt, and nothing sends it (the stream's notify
// function missed it).
func paidBy(t *testing.T, svc *shop.Service, o *order.Order) {
	t.Helper()
	if out, _, err := svc.ApplyEvent(ctx, paidOf(o, "evt_"+o.SessionRef)); err != nil || out != shop.Moved {
		t.Fatalf("pay %s: %v %v", o.ID, out, err)
	}
}

func TestReconcile_SendsEffectsOwedTooLongOnce(t *testing.T) {
	c := newClock(dispatchNow)
	st := memstore.New(c.Now)
	b := &outbox{}
	svc := c.service(st, b)
	svc.Inquirers = map[string]shop.Inquirer{"stripe": &inquirer{}}
	o := customerOrder(t, st, "owed", "ann@example.com")
	paidBy(t, svc, o)
	run := func() shop.ReconcileReport {
		t.Helper()
		rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
		if err != nil || len(rep.Errors) != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		return rep
	}
	// Within EffectsAfter the notify function may still be at it.
	c.Advance(shop.EffectsAfter - time.Second)
	if rep := run(); rep.EffectsDue != 0 || rep.EffectsSent != 0 {
		t.Fatalf("sent before its time: %+v", rep)
	}
	if mails, _ := b.sent(); len(mails) != 0 {
		t.Fatalf("mails %v", mails)
	}
	c.Advance(2 * time.Second)
	if rep := run(); rep.EffectsDue != 1 || rep.EffectsSent != 1 {
		t.Fatalf("owed too long: %+v", rep)
	}
	if mails, events := b.sent(); len(mails) != 1 || len(events) != 1 {
		t.Fatalf("sent mails %v events %v, want the receipt and order.paid once", mails, events)
	}
	if got, _ := st.GetOrder(ctx, o.ID); got.Outbox[0].State != order.EffectSent {
		t.Fatalf("outbox %+v", got.Outbox)
	}
	c.Advance(time.Hour)
	if rep := run(); rep.EffectsDue != 0 {
		t.Fatalf("sent, and due again: %+v", rep)
	}
	if mails, events := b.sent(); len(mails) != 1 || len(events) != 1 {
		t.Fatalf("sent again: mails %v events %v", mails, events)
	}
}

func TestReconcile_EffectsThatKeepFailingAreParked(t *testing.T) {
	c := newClock(dispatchNow)
	st := memstore.New(c.Now)
	b := &outbox{failMail: -1}
	svc := c.service(st, b)
	svc.Inquirers = map[string]shop.Inquirer{"stripe": &inquirer{}}
	o := customerOrder(t, st, "failing", "ann@example.com")
	paidBy(t, svc, o)
	var last shop.ReconcileReport
	for i := range shop.DispatchAttempts {
		c.Advance(shop.EffectsAfter + time.Minute)
		rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		// Each run tries once; the failure short of the last is an error
		// the next run takes up.
		if i < shop.DispatchAttempts-1 && (rep.EffectsDue != 1 || len(rep.Errors) != 1 || rep.EffectsFailed != 0) {
			t.Fatalf("run %d: %+v", i+1, rep)
		}
		last = rep
	}
	if last.EffectsFailed != 1 {
		t.Fatalf("the last attempt: %+v", last)
	}
	failed, _, err := st.EffectsFailed(ctx, 10, "")
	if err != nil || len(failed) != 1 || failed[0].ID != o.ID {
		t.Fatalf("listed as failed: %v %v", failed, err)
	}
	c.Advance(time.Hour)
	if rep, _ := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)}); rep.EffectsDue != 0 {
		t.Fatalf("a failed effect is retried by reconcile, not the owner: %+v", rep)
	}
}

// TestReconcile_AnOpenOrderOwingEffectsIsStillAskedAbout: an open order
// with an effect owed waits in the effects queue, not the open one; the
// run asks about it there, once, even when sending its effects puts it
// back in the open queue (the gateway says nothing new), and even with
// nothing to send them with.
func TestReconcile_AnOpenOrderOwingEffectsIsStillAskedAbout(t *testing.T) {
	for _, tc := range []struct{ sends, paid bool }{{true, true}, {true, false}, {false, true}} {
		sends := tc.sends
		c := newClock(dispatchNow)
		st := memstore.New(c.Now)
		b := &outbox{}
		svc := c.service(st, b)
		if !sends {
			svc.Renderer = nil
		}
		o := customerOrder(t, st, "open", "ann@example.com")
		// Processing (a bank's answer awaited) owes the owner's event.
		proc := order.Event{Gateway: "stripe", ID: "evt_proc", Type: "payment_intent.processing", Kind: order.KindProcessing, OrderID: o.ID,
			Refs: []string{o.SessionRef}, SessionRef: o.SessionRef, PaymentRef: "pi_open", Amount: 4000, Currency: "usd"}
		if out, _, err := svc.ApplyEvent(ctx, proc); err != nil || out != shop.Moved {
			t.Fatalf("processing: %v %v", out, err)
		}
		if open, _, _ := st.OpenPastDeadline(ctx, dispatchNow.Add(2*time.Hour), 10, ""); len(open) != 0 {
			t.Fatalf("the open queue holds an order owing effects: %v", open)
		}
		q := &inquirer{says: map[string][]order.Event{}}
		want, moved := order.Processing, 0
		if tc.paid {
			q.says[o.ID], want, moved = []order.Event{paidOf(o, "recon_paid")}, order.Paid, 1
		}
		svc.Inquirers = map[string]shop.Inquirer{"stripe": q}
		c.Advance(2 * time.Hour) // past its deadline, and EffectsAfter
		rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
		if err != nil || len(rep.Errors) != 0 {
			t.Fatalf("sends %v: %+v %v", sends, rep, err)
		}
		if !slices.Equal(q.asked, []string{o.ID}) || rep.Open != 1 || rep.Moved != moved {
			t.Fatalf("%+v: asked about %v, report %+v; want %s once", tc, q.asked, rep, o.ID)
		}
		if got, _ := st.GetOrder(ctx, o.ID); got.Status != want {
			t.Fatalf("%+v: %s", tc, got.Status)
		}
		if mails, events := b.sent(); sends && (len(events) != 1 || len(mails) != 0 || rep.EffectsSent != 1) {
			t.Fatalf("sent mails %v events %v, report %+v", mails, events, rep)
		}
		if !sends && len(rep.Notes) != 1 {
			t.Fatalf("nothing to send with, and no note: %+v", rep)
		}
	}
}
