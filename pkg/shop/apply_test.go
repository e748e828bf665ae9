package shop_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

var ctx = context.Background()

// service is the use cases over store s, at the time now.
func service(s order.Store, now time.Time, effects order.Effects) *shop.Service {
	return shop.New(shop.Service{Store: s, Now: func() time.Time { return now }, Effects: effects})
}

func newOrder(t *testing.T, s order.Store, created time.Time, sessionRef string) *order.Order {
	t.Helper()
	o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		CreatedAt: created, UpdatedAt: created, SessionRef: sessionRef}
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o
}

func paidBySession(o *order.Order, session string) order.Event {
	return order.Event{Gateway: "stripe", ID: "evt_" + session, Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: o.ID, Refs: []string{session}, SessionRef: session, PaymentRef: "pi_" + session, Amount: 4000, Currency: "usd"}
}

// TestApplyEvent_ASessionEventBeforeTheCheckoutIsRecorded: the gateway made
// the session, and the write that records it on the order has not landed.
// Shortly after creation that is retryable (5xx, the gateway redelivers);
// long after, a session the order never recorded is not its own.
func TestApplyEvent_ASessionEventBeforeTheCheckoutIsRecorded(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	young := newOrder(t, s, now.Add(-time.Minute), "")
	_, _, err := service(s, now, nil).ApplyEvent(ctx, paidBySession(young, "cs_young"))
	var se *order.StoreError
	if !errors.As(err, &se) {
		t.Fatalf("an event before the checkout is recorded: %v, want a retryable store error", err)
	}
	old := newOrder(t, s, now.Add(-time.Hour), "")
	if out, _, err := service(s, now, nil).ApplyEvent(ctx, paidBySession(old, "cs_old")); err != nil || out != shop.Foreign {
		t.Fatalf("an hour later: %s %v, want foreign", out, err)
	}
	for _, o := range []*order.Order{young, old} {
		if got, _ := s.GetOrder(ctx, o.ID); got.Status != order.Pending || got.Version != 0 {
			t.Fatalf("%s moved: %s v%d", o.ID, got.Status, got.Version)
		}
	}
}

func TestApplyEvent_OnlyTheOrdersOwnSessionMovesIt(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_own")
	out, _, err := service(s, now, nil).ApplyEvent(ctx, paidBySession(o, "cs_other"))
	if err != nil || out != shop.Foreign {
		t.Fatalf("another session naming the order: %s %v", out, err)
	}
	// Its redelivery is a duplicate, and still moves nothing.
	if out, _, _ := service(s, now, nil).ApplyEvent(ctx, paidBySession(o, "cs_other")); out != shop.Duplicate {
		t.Fatalf("redelivered: %s", out)
	}
	var moved int
	effects := func(context.Context, order.Order, order.Order) { moved++ }
	if out, got, err := service(s, now, effects).ApplyEvent(ctx, paidBySession(o, "cs_own")); err != nil || out != shop.Moved || got.Status != order.Paid || moved != 1 {
		t.Fatalf("its own session: %s %v %v, effects %d", out, got, err, moved)
	}
}

func TestApplyEvent_IgnoredEventsLookForNoOrder(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_own")
	e := paidBySession(o, "cs_own")
	e.Ignore = "the event's livemode is true and STRIPE_MODE is test"
	if out, _, err := service(s, now, nil).ApplyEvent(ctx, e); err != nil || out != shop.Ignored {
		t.Fatalf("%s %v", out, err)
	}
	if got, _ := s.GetOrder(ctx, o.ID); got.Status != order.Pending {
		t.Fatalf("moved by an ignored event: %s", got.Status)
	}
}

// TestApplyEvent_ReplayRunsAgainUntilItFinishes parks a refund, indexes its
// PaymentIntent with a move, and leaves the replay undone (as a process
// that died after the move would): the next delivery for the order, a
// duplicate, replays it, removes it and clears the mark.
func TestApplyEvent_ReplayRunsAgainUntilItFinishes(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_r")
	refund := order.Event{Gateway: "stripe", ID: "evt_refund", Kind: order.KindRefunded, Refs: []string{"pi_cs_r"}, Amount: 4000, Currency: "usd", Refunded: 4000}
	if out, _, err := service(s, now, nil).ApplyEvent(ctx, refund); err != nil || out != shop.Parked {
		t.Fatalf("refund before its payment: %s %v", out, err)
	}
	paid := paidBySession(o, "cs_r")
	// The move alone, as ApplyEvent writes it, with nothing after it.
	next, _ := order.Apply(*o, paid)
	next.Version, next.PendingReplay = 1, []string{"pi_cs_r"}
	rec := &order.EventRecord{Gateway: "stripe", ID: paid.ID, ExpiresAt: now.Add(order.EventRetention)}
	if err := s.Move(ctx, order.Move{Next: next, From: order.Pending, FromVersion: 0, Event: rec, Refs: []string{"pi_cs_r"}}); err != nil {
		t.Fatal(err)
	}
	out, got, err := service(s, now, nil).ApplyEvent(ctx, paid)
	if err != nil || out != shop.Duplicate {
		t.Fatalf("redelivery: %s %v", out, err)
	}
	got, _ = s.GetOrder(ctx, o.ID)
	if got.Status != order.Refunded || len(got.PendingReplay) != 0 {
		t.Fatalf("after the redelivery: %s, mark %v", got.Status, got.PendingReplay)
	}
	if left, _ := s.Parked(ctx, "stripe", "pi_cs_r"); len(left) != 0 {
		t.Fatalf("still parked: %+v", left)
	}
}

// TestApplyEvent_AParkedEventThatCanNeverApplyDoesNotBlockTheOthers: a
// replay gives up on an event only the move table refuses, applies the
// rest, and clears the mark, so later deliveries are not held up.
func TestApplyEvent_AParkedEventThatCanNeverApplyDoesNotBlockTheOthers(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_p")
	refund := order.Event{Gateway: "stripe", ID: "evt_refund", Kind: order.KindRefunded, Refs: []string{"pi_cs_p"}, Amount: 4000, Currency: "usd", Refunded: 1000}
	stuck := &refusingStore{Store: s, refuse: "evt_stuck"}
	for _, e := range []order.Event{refund, {Gateway: "stripe", ID: "evt_stuck", Kind: order.KindDisputeOpened, Refs: []string{"pi_cs_p"}, Dispute: "dp_1"}} {
		if out, _, err := service(stuck, now, nil).ApplyEvent(ctx, e); err != nil || out != shop.Parked {
			t.Fatalf("%s: %s %v", e.ID, out, err)
		}
	}
	if out, _, err := service(stuck, now, nil).ApplyEvent(ctx, paidBySession(o, "cs_p")); err != nil || out != shop.Moved {
		t.Fatalf("the paid event: %s %v", out, err)
	}
	got, _ := s.GetOrder(ctx, o.ID)
	if got.Status != order.PartiallyRefunded || len(got.PendingReplay) != 0 {
		t.Fatalf("%s, mark %v: want the refund applied and the mark cleared", got.Status, got.PendingReplay)
	}
	if left, _ := s.Parked(ctx, "stripe", "pi_cs_p"); len(left) != 1 || left[0].ID != "evt_stuck" {
		t.Fatalf("parked now: %+v, want only the one that cannot apply", left)
	}
}

func TestApplyEvent_AnEventWithOnlyEmptyReferencesIsNoOrder(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	e := order.Event{Gateway: "stripe", ID: "evt_empty", Kind: order.KindRefunded, Refs: []string{""}, Amount: 4000, Currency: "usd", Refunded: 4000}
	if out, _, err := service(s, now, nil).ApplyEvent(ctx, e); err != nil || out != shop.NoOrder {
		t.Fatalf("%s %v, want no_order (and the event recorded)", out, err)
	}
	if out, _, _ := service(s, now, nil).ApplyEvent(ctx, e); out != shop.Duplicate {
		t.Fatalf("redelivered: %s, want duplicate: the first was not recorded", out)
	}
}

// refusingStore refuses the move of one event as the move table would.
type refusingStore struct {
	order.Store
	refuse string
}

func (r *refusingStore) Move(ctx context.Context, m order.Move) error {
	if m.Event != nil && m.Event.ID == r.refuse {
		return order.ErrForbiddenMove
	}
	return r.Store.Move(ctx, m)
}

// TestApplyEvent_EveryAppliedEventIsInTheHistory: each event that changed
// the order is recorded with it, once, with its source and the statuses
// before and after; a duplicate or an event that changes nothing is not.
func TestApplyEvent_EveryAppliedEventIsInTheHistory(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_h")
	svc := service(s, now, nil)
	paid := paidBySession(o, "cs_h")
	refund := order.Event{Gateway: "stripe", ID: "evt_refund_h", Type: "charge.refunded", Kind: order.KindRefunded, OrderID: o.ID,
		Refs: []string{"pi_cs_h"}, PaymentRef: "pi_cs_h", Amount: 4000, Currency: "usd", Refunded: 1000,
		Source: order.SourceReconcile, Actor: "arn:aws:sts::123456789012:assumed-role/reconcile"}
	expired := order.Event{Gateway: "stripe", ID: "evt_expired_h", Type: "checkout.session.expired", Kind: order.KindExpired, OrderID: o.ID, SessionRef: "cs_h"}
	for _, e := range []order.Event{paid, paid, refund, expired} {
		if _, _, err := svc.ApplyEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.GetOrder(ctx, o.ID)
	want := []order.Change{
		{At: now, EventID: paid.ID, EventType: paid.Type, Source: order.SourceWebhook, From: order.Pending, To: order.Paid},
		{At: now, EventID: refund.ID, EventType: refund.Type, Source: order.SourceReconcile, Actor: refund.Actor, From: order.Paid, To: order.PartiallyRefunded},
	}
	if !slices.Equal(got.History, want) {
		t.Fatalf("history\n %+v\nwant\n %+v", got.History, want)
	}
}

// TestApplyEvent_WhatAChangeOwesIsInItsOwnWrite: the outbox gains the
// effects a move owes in the move itself; a duplicate or a decline adds
// nothing.
func TestApplyEvent_WhatAChangeOwesIsInItsOwnWrite(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_o")
	svc := service(s, now, nil)
	decline := order.Event{Gateway: "stripe", ID: "evt_decl", Type: "payment_intent.payment_failed", Kind: order.KindDeclined, OrderID: o.ID, Reason: "card_declined"}
	for _, e := range []order.Event{decline, paidBySession(o, "cs_o"), paidBySession(o, "cs_o")} {
		if _, _, err := svc.ApplyEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.GetOrder(ctx, o.ID)
	if len(got.Outbox) != 1 {
		t.Fatalf("outbox %+v, want the paid order's receipt only", got.Outbox)
	}
	if w := got.Outbox[0]; w.Type != "order.paid" || w.Mail != order.MailReceipt || w.State != order.EffectOwed || w.Version != got.Version || w.OrderID != o.ID {
		t.Fatalf("%+v", w)
	}
}

// TestApplyEvent_OwedRunsForEveryWriteThatOwes: the Owed hook runs after a
// status change and after a second payment that keeps the status (what a
// host with no table stream dispatches on), never after a duplicate or a
// decline.
func TestApplyEvent_OwedRunsForEveryWriteThatOwes(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	o := newOrder(t, s, now, "cs_w")
	var owed []int64
	svc := shop.New(shop.Service{Store: s, Now: func() time.Time { return now },
		Owed: func(_ context.Context, after order.Order) { owed = append(owed, after.Version) }})
	second := paidBySession(o, "cs_w")
	second.ID, second.PaymentRef = "evt_second", "pi_second"
	decline := order.Event{Gateway: "stripe", ID: "evt_decl_w", Kind: order.KindDeclined, OrderID: o.ID, Reason: "card_declined"}
	for _, e := range []order.Event{decline, paidBySession(o, "cs_w"), paidBySession(o, "cs_w"), second} {
		if _, _, err := svc.ApplyEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(owed, []int64{2, 3}) {
		t.Fatalf("Owed ran after versions %v, want the paid move (2) and the second payment (3)", owed)
	}
}
