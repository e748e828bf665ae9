package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
)

func completed(orderID string, amount int64) payloads.Stripe {
	return payloads.Stripe{Type: "checkout.session.completed", OrderID: orderID, Amount: amount}
}

func (e *env) mustReceive(ev payloads.Stripe) {
	e.t.Helper()
	if r := e.stripeWebhook(ev); r.Status != 200 || string(r.Body) != "{\"received\":true}\n" {
		e.t.Fatalf("%s: %d %s", ev.Type, r.Status, r.Body)
	}
}

func TestStripeWebhook_PaidThenStatusSaysPaid(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnvWith(t, kind, true)
			c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
			e.mustReceive(completed(c.OrderID, 4000))
			r := e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(c.StatusToken))
			if r.json(t)["status"] != "paid" {
				t.Fatalf("status after a verified webhook: %s", r.Body)
			}
			if e.effects.Load() != 1 {
				t.Fatalf("effects ran %d times, want 1", e.effects.Load())
			}
		})
	}
}

func TestStripeWebhook_SameEventTwiceMovesOnce(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	ev := completed(c.OrderID, 4000)
	ev.EventID = "evt_twice"
	e.mustReceive(ev)
	v := e.get(c.OrderID).Version
	e.mustReceive(ev)
	if got := e.get(c.OrderID); got.Version != v || got.Status != order.Paid || e.effects.Load() != 1 {
		t.Fatalf("second delivery: v%d→v%d %s, effects %d", v, got.Version, got.Status, e.effects.Load())
	}
}

func TestStripeWebhook_FiftyConcurrentDeliveriesOneMove(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
			before := e.get(c.OrderID).Version
			body, _ := payloads.Stripe{Type: "checkout.session.completed", EventID: "evt_storm", OrderID: c.OrderID, Amount: 4000}.Payload()
			var wg sync.WaitGroup
			statuses := make(chan int, 50)
			start := make(chan struct{})
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					statuses <- e.signedStripe(body, whsec, time.Now()).Status
				}()
			}
			close(start)
			wg.Wait()
			close(statuses)
			for s := range statuses {
				if s != 200 {
					t.Errorf("a delivery got %d", s)
				}
			}
			o := e.get(c.OrderID)
			if o.Status != order.Paid || o.Version != before+1 || e.effects.Load() != 1 {
				t.Fatalf("after 50 deliveries: %s v%d (from v%d), effects %d", o.Status, o.Version, before, e.effects.Load())
			}
		})
	}
}

func TestStripeWebhook_BadSignaturesChangeNothing(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	body, _ := completed(c.OrderID, 4000).Payload()
	altered := []byte(strings.Replace(string(body), `"amount_total":4000`, `"amount_total":4001`, 1))
	sign := func(b []byte, secret string, at time.Time) string {
		return headerOf(e.signedStripeHeader(b, secret, at))
	}
	cases := map[string]struct {
		body   []byte
		header string
	}{
		"forged":         {body, "t=" + itoa(time.Now().Unix()) + ",v1=" + strings.Repeat("ab", 32)},
		"stale":          {body, sign(body, whsec, time.Now().Add(-time.Hour))},
		"wrong secret":   {body, sign(body, "whsec_someone_else", time.Now())},
		"missing header": {body, ""},
		"altered body":   {altered, sign(body, whsec, time.Now())},
	}
	before := *e.get(c.OrderID)
	for name, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Stripe-Signature", tc.header)
		}
		r := e.do("POST", "/api/webhooks/stripe", tc.body, h)
		if r.Status != 400 || r.errorCode(t) != "invalid_signature" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if after := e.get(c.OrderID); after.Version != before.Version || after.Status != order.Pending {
		t.Fatalf("a rejected webhook changed the order: %s v%d", after.Status, after.Version)
	}
	// The rejected event was not recorded either: the genuine one still lands.
	e.mustReceive(completed(c.OrderID, 4000))
	if e.get(c.OrderID).Status != order.Paid {
		t.Fatal("genuine event after rejected ones did not land")
	}
}

func TestStripeWebhook_SecondSecretAndNewerAPIVersionAccepted(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	ev := completed(c.OrderID, 4000)
	ev.APIVersion = "2025-01-27.acacia"
	body, _ := ev.Payload()
	if r := e.signedStripe(body, whsecNext, time.Now()); r.Status != 200 {
		t.Fatalf("rotated secret, newer API version: %d %s", r.Status, r.Body)
	}
	if e.get(c.OrderID).Status != order.Paid {
		t.Fatal("not applied")
	}
}

func TestStripeWebhook_SignedButNotJSON(t *testing.T) {
	e := newEnv(t, memory)
	r := e.signedStripe([]byte("\x00\xffnot json"), whsec, time.Now())
	if r.Status != 400 || r.errorCode(t) != "invalid_payload" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestStripeWebhook_Flows(t *testing.T) {
	type step struct {
		ev   payloads.Stripe
		want order.Status
	}
	ev := func(typ string, mod func(*payloads.Stripe)) func(string) payloads.Stripe {
		return func(id string) payloads.Stripe {
			e := payloads.Stripe{Type: typ, OrderID: id, Amount: 4000}
			if mod != nil {
				mod(&e)
			}
			return e
		}
	}
	paid := ev("checkout.session.completed", nil)
	unpaid := ev("checkout.session.completed", func(e *payloads.Stripe) { e.PaymentStatus = "unpaid" })
	expired := ev("checkout.session.expired", nil)
	declined := ev("payment_intent.payment_failed", func(e *payloads.Stripe) { e.Reason = "Your card has insufficient funds." })
	refund := func(n int64) func(string) payloads.Stripe {
		return ev("charge.refunded", func(e *payloads.Stripe) { e.Refunded = n })
	}
	flows := map[string][]struct {
		ev   func(string) payloads.Stripe
		want order.Status
	}{
		"expired after completed stays paid":  {{paid, order.Paid}, {expired, order.Paid}},
		"completed after expired is paid":     {{expired, order.Expired}, {paid, order.Paid}},
		"refunded after paid":                 {{paid, order.Paid}, {refund(4000), order.Refunded}},
		"partial then full refund":            {{paid, order.Paid}, {refund(1000), order.PartiallyRefunded}, {refund(4000), order.Refunded}},
		"full refund before partial":          {{paid, order.Paid}, {refund(4000), order.Refunded}, {refund(1000), order.Refunded}},
		"async succeeded":                     {{unpaid, order.Processing}, {ev("checkout.session.async_payment_succeeded", nil), order.Paid}},
		"async failed":                        {{unpaid, order.Processing}, {ev("checkout.session.async_payment_failed", nil), order.Failed}},
		"declined then paid on the same page": {{declined, order.Pending}, {paid, order.Paid}},
		"declined then abandoned":             {{declined, order.Pending}, {expired, order.Expired}},
		"declined during an async payment":    {{unpaid, order.Processing}, {declined, order.Processing}},
		"dispute lost": {{paid, order.Paid}, {ev("charge.dispute.created", nil), order.Disputed},
			{ev("charge.dispute.closed", func(e *payloads.Stripe) { e.DisputeStatus = "lost" }), order.Refunded}},
		"dispute won": {{paid, order.Paid}, {ev("charge.dispute.created", nil), order.Disputed},
			{ev("charge.dispute.closed", func(e *payloads.Stripe) { e.DisputeStatus = "won" }), order.Paid}},
		"underpaid is flagged, never paid": {{ev("checkout.session.completed", func(e *payloads.Stripe) { e.Amount = 1 }), order.AmountMismatch}},
		"wrong currency is flagged":        {{ev("checkout.session.completed", func(e *payloads.Stripe) { e.Currency = "inr" }), order.AmountMismatch}},
	}
	for name, steps := range flows {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, memory)
			c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
			for i, s := range steps {
				e.mustReceive(s.ev(c.OrderID))
				if got := e.get(c.OrderID).Status; got != s.want {
					t.Fatalf("step %d (%s): %s, want %s", i+1, s.ev(c.OrderID).Type, got, s.want)
				}
			}
		})
	}
}

func TestStripeWebhook_DeclineShowsItsReasonAndLeavesTheOrderOpen(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	e.mustReceive(payloads.Stripe{Type: "payment_intent.payment_failed", OrderID: c.OrderID, Amount: 4000, Reason: "Your card has insufficient funds."})
	m := e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(c.StatusToken)).json(t)
	if m["status"] != "pending" || m["failureReason"] != "Your card has insufficient funds." {
		t.Fatalf("status = %v", m)
	}
}

func TestStripeWebhook_UnknownTypeAndUnknownOrderAre200(t *testing.T) {
	e := newEnv(t, memory)
	body := []byte(`{"id":"evt_cus","object":"event","type":"customer.created","data":{"object":{"id":"cus_1"}}}`)
	if r := e.signedStripe(body, whsec, time.Now()); r.Status != 200 {
		t.Fatalf("unknown type: %d %s", r.Status, r.Body)
	}
	e.mustReceive(completed(order.NewID(), 4000))
}

type failingMoves struct{ order.Store }

func (failingMoves) Move(context.Context, order.Move) error {
	return &order.StoreError{Err: errors.New("throttled")}
}

func TestStripeWebhook_StoreFailureIs5xxAndRedeliveryConverges(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	broken := newHandlerWithStore(t, failingMoves{e.store}, nil)
	body, _ := completed(c.OrderID, 4000).Payload()
	header := http.Header{"Stripe-Signature": {headerOf(e.signedStripeHeader(body, whsec, time.Now()))}}
	if r := doWith(t, broken, "POST", "/api/webhooks/stripe", body, header); r.Status != 503 || r.errorCode(t) != "store_unavailable" {
		t.Fatalf("store failure: %d %s", r.Status, r.Body)
	}
	if e.get(c.OrderID).Status != order.Pending {
		t.Fatal("moved despite the failure")
	}
	// Stripe redelivers the same bytes: it must land now.
	if r := e.do("POST", "/api/webhooks/stripe", body, header); r.Status != 200 || e.get(c.OrderID).Status != order.Paid {
		t.Fatalf("redelivery: %d %s %s", r.Status, r.Body, e.get(c.OrderID).Status)
	}
}
