package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// stripeMock returns Stripe's own stripe-mock: a request Stripe would
// reject, it rejects.
func stripeMock(t *testing.T) string {
	t.Helper()
	mock, err := stripemockrun.Shared()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("stripe-mock:", err)
	}
	return mock.URL
}

// confirmRefund applies what the gateway's refund webhook says once the
// refund went through: the charge's cumulative refunded amount.
func confirmRefund(t *testing.T, store *dynamostore.Store, o *order.Order, refunded int64) {
	t.Helper()
	svc := shop.New(shop.Service{Store: store})
	_, _, err := svc.ApplyEvent(context.Background(), order.Event{Gateway: o.Gateway, ID: "evt_refunded_" + o.ID[4:12], Type: "charge.refunded",
		Kind: order.KindRefunded, OrderID: o.ID, PaymentRef: o.PaymentRef, Amount: o.Amount, Currency: o.Currency, Refunded: refunded,
		PayloadHash: "ab12", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRefund_MovesOnlyWhenTheGatewayConfirms: `jampay refund ID -amount N
// -wait` asks Stripe (stripe-mock) for the refund, says what it asked, and
// waits: the order stays paid until the gateway's confirmation is applied,
// and then the command reports the order partially refunded.
func TestRefund_MovesOnlyWhenTheGatewayConfirms(t *testing.T) {
	env, store := shopTable(t)
	env = with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "test", "STRIPE_API_BASE", stripeMock(t))
	o := paidOrder("stripe", time.Now().Add(-time.Hour), 4000, "usd")
	mustCreate(t, store, o)

	type result struct {
		out, errOut string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, err := jampay(context.Background(), env, "refund", o.ID, "-amount", "1000", "-wait")
		done <- result{out, errOut, err}
	}()
	// The request is written on the order, and the gateway answers; the
	// order has not moved.
	deadline := time.Now().Add(20 * time.Second)
	var asked *order.Order
	for {
		asked = mustGet(t, store, o.ID)
		if r, ok := asked.RefundBySeq(1); ok && r.RefundID != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refund asked: %+v", asked.Refunds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r, _ := asked.RefundBySeq(1)
	if asked.Status != order.Paid || r.Amount != 1000 || r.Actor != "local" || !strings.HasPrefix(r.RefundID, "re_") {
		t.Fatalf("after asking: %s, refund %+v", asked.Status, r)
	}
	select {
	case res := <-done:
		t.Fatalf("-wait returned before the confirmation: %v\n%s", res.err, res.out)
	case <-time.After(refundPoll + 500*time.Millisecond):
	}
	if got := mustGet(t, store, o.ID); got.Status != order.Paid {
		t.Fatalf("the order moved to %s before the gateway confirmed", got.Status)
	}

	confirmRefund(t, store, o, 1000)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err, res.errOut)
	}
	for _, want := range []string{
		"Asked stripe to refund $10.00 of order " + o.ID + ": refund #1, " + r.RefundID + " (idempotency key jampay-refund-" + o.ID + "-1).",
		"The order stays paid until stripe confirms the refund (its webhook, or the next reconcile run); then it becomes partially_refunded.",
		"Confirmed: order " + o.ID + " is partially_refunded; $10.00 of $40.00 refunded.",
	} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
	got := mustGet(t, store, o.ID)
	h := got.History
	if got.Status != order.PartiallyRefunded || h[len(h)-2].EventType != order.EventRefundRequested || h[len(h)-2].Actor != "local" ||
		h[len(h)-2].Source != order.SourceOwner || h[len(h)-1].To != order.PartiallyRefunded {
		t.Fatalf("after the confirmation: %s, history %+v", got.Status, h)
	}
}

// TestRefund_WaitSaysStillPending: a refund the gateway has not confirmed
// when the wait ends (here the command is stopped first) is said to be
// still pending, not to have failed — asking again would not help.
func TestRefund_WaitSaysStillPending(t *testing.T) {
	env, store := shopTable(t)
	env = with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "test", "STRIPE_API_BASE", stripeMock(t))
	o := paidOrder("stripe", time.Now().Add(-time.Hour), 4000, "usd")
	mustCreate(t, store, o)
	ctx, cancel := context.WithTimeout(context.Background(), refundPoll+time.Second)
	defer cancel()
	out, _, err := jampay(ctx, env, "refund", o.ID, "-wait")
	if err == nil || !strings.Contains(err.Error(), "has not confirmed it yet: it is still pending. Do not ask again") {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "Asked stripe to refund $40.00") || !strings.Contains(out, "then it becomes refunded") {
		t.Errorf("output:\n%s", out)
	}
	if got := mustGet(t, store, o.ID); got.Status != order.Paid || len(got.Refunds) != 1 {
		t.Fatalf("%s %+v", got.Status, got.Refunds)
	}
}

// TestRefund_RazorpayNeverMoreThanPaid: refunds through Razorpay's refund
// API, each under the key of its request; what is pending counts, so the
// third request, for anything, is refused without asking Razorpay.
func TestRefund_RazorpayNeverMoreThanPaid(t *testing.T) {
	env, store := shopTable(t)
	api, srv := newRazorpayAPI(t)
	env = with(env, razorpayKeys(srv.URL)...)
	ctx := context.Background()
	o := paidOrder("razorpay", time.Now().Add(-time.Hour), 39800, "inr")
	mustCreate(t, store, o)

	out, errOut, err := jampay(ctx, env, "refund", "-amount", "10000", o.ID)
	if err != nil || !strings.Contains(out, "Asked razorpay to refund ₹100.00 of order "+o.ID+": refund #1, rfnd_00000000000001") {
		t.Fatalf("first refund: %v %s\n%s", err, errOut, out)
	}
	out, _, err = jampay(ctx, env, "refund", o.ID)
	if err != nil || !strings.Contains(out, "refund ₹298.00") || !strings.Contains(out, "then it becomes refunded") {
		t.Fatalf("the rest: %v\n%s", err, out)
	}
	_, _, err = jampay(ctx, env, "refund", o.ID, "-amount", "100")
	if err == nil || !strings.Contains(err.Error(), "Nothing of order "+o.ID+" is left to refund") || strings.HasPrefix(err.Error(), "over_refund") {
		t.Fatalf("a third refund: %v", err)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	want := []razorpayRefund{
		{ID: "rfnd_00000000000001", Payment: o.PaymentRef, Key: "jampay-refund-" + o.ID + "-1", Amount: 10000},
		{ID: "rfnd_00000000000002", Payment: o.PaymentRef, Key: "jampay-refund-" + o.ID + "-2", Amount: 29800},
	}
	if len(api.refunds) != len(want) {
		t.Fatalf("Razorpay was asked for %+v", api.refunds)
	}
	for i, w := range want {
		if got := api.refunds[i]; got.ID != w.ID || got.Payment != w.Payment || got.Key != w.Key || got.Amount != w.Amount {
			t.Errorf("refund %d: %+v, want %+v", i+1, got, w)
		}
	}
	if got := mustGet(t, store, o.ID); got.Status != order.Paid || len(got.Refunds) != 2 {
		t.Fatalf("the order moved before Razorpay confirmed: %s %+v", got.Status, got.Refunds)
	}
}

// TestRefund_ClearErrors: an unknown order, an unpaid one, more than is
// left, and missing keys or settings are each said plainly, and nothing is
// asked of the gateway.
func TestRefund_ClearErrors(t *testing.T) {
	env, store := shopTable(t)
	api, srv := newRazorpayAPI(t)
	withStripe := with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "test", "STRIPE_API_BASE", stripeMock(t))
	withRazorpay := with(env, razorpayKeys(srv.URL)...)
	paid := paidOrder("stripe", time.Now().Add(-time.Hour), 4000, "usd")
	pending := paidOrder("stripe", time.Now().Add(-time.Hour), 4000, "usd")
	pending.Status, pending.Evidence = order.Pending, order.Evidence{}
	rupees := paidOrder("razorpay", time.Now().Add(-time.Hour), 39800, "inr")
	mustCreate(t, store, paid, pending, rupees)
	unknown := order.NewID()
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{withStripe, []string{"refund", unknown}, "unknown order " + unknown + ": table " + env["TABLE_NAME"] + " holds no order with that id"},
		{withStripe, []string{"refund", "pi_123"}, `unknown order "pi_123"`},
		{withStripe, []string{"refund"}, "refund takes 1 argument, got 0 (usage: jampay refund ID [-amount N] [-wait])"},
		{withStripe, []string{"refund", pending.ID}, "Order " + pending.ID + " is pending: nothing was paid, so there is nothing to refund."},
		{withStripe, []string{"refund", paid.ID, "-amount", "4001"}, "Order " + paid.ID + " has 4000 (usd minor units) left to refund, pending refunds counted; 4001 is more."},
		{withStripe, []string{"refund", paid.ID, "-amount", "0"}, "-amount 0: a refund is at least 1"},
		{withStripe, []string{"refund", paid.ID, "-amount", "-5"}, "-amount -5"},
		// Keys and settings, named.
		{env, []string{"refund", paid.ID}, "no gateway is configured (set STRIPE_SECRET_KEY, or RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET)"},
		{withRazorpay, []string{"refund", paid.ID}, "missing setting: order " + paid.ID + " was paid through stripe, and refunding it needs stripe's API keys: STRIPE_SECRET_KEY (and STRIPE_MODE)"},
		{withStripe, []string{"refund", rupees.ID}, "refunding it needs razorpay's API keys: RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET"},
		{with(withStripe, "STRIPE_MODE", ""), []string{"refund", paid.ID}, "missing setting: STRIPE_MODE"},
		{with(withStripe, "DYNAMODB_ENDPOINT", ""), []string{"refund", paid.ID}, "no AWS credentials to reach table"},
	} {
		out, _, err := jampay(context.Background(), c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
		if out != "" {
			t.Errorf("%v printed %q", c.args, out)
		}
	}
	if got := mustGet(t, store, paid.ID); len(got.Refunds) != 0 || got.Version != paid.Version {
		t.Fatalf("a refused refund was recorded: %+v", got.Refunds)
	}
	if len(api.refunds) != 0 {
		t.Fatalf("Razorpay was asked: %+v", api.refunds)
	}
}

// TestRefund_RefusedByTheGateway: a refusal the gateway would repeat is
// said as such, and the amount is free again.
func TestRefund_RefusedByTheGateway(t *testing.T) {
	env, store := shopTable(t)
	api, srv := newRazorpayAPI(t)
	api.refuse = "The refund amount provided is greater than amount captured."
	o := paidOrder("razorpay", time.Now().Add(-time.Hour), 39800, "inr")
	mustCreate(t, store, o)
	_, _, err := jampay(context.Background(), with(env, razorpayKeys(srv.URL)...), "refund", o.ID)
	if err == nil || !strings.HasPrefix(err.Error(), "razorpay refused the refund, and would again: ") ||
		!strings.Contains(err.Error(), "greater than amount captured") {
		t.Fatalf("%v", err)
	}
	got := mustGet(t, store, o.ID)
	if r, _ := got.RefundBySeq(1); r.Refused == "" || got.Refundable() != 39800 || got.Status != order.Paid {
		t.Fatalf("after the refusal: %s, refundable %d, %+v", got.Status, got.Refundable(), got.Refunds)
	}
}
