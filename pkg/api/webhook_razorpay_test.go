package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// rzpOrder makes an order on the razorpay gateway and returns it with the
// Razorpay order id it is indexed under.
func (e *env) rzpOrder() (created, string) {
	e.t.Helper()
	c := e.checkout("razorpay", `[{"sku":"sticker-in","quantity":2}]`)
	return c, e.get(c.OrderID).SessionRef
}

func (e *env) mustReceiveRzp(ev payloads.Razorpay) {
	e.t.Helper()
	if r := e.razorpayWebhook(ev); r.Status != 200 || string(r.Body) != "{\"received\":true}\n" {
		e.t.Fatalf("%s: %d %s", ev.Type, r.Status, r.Body)
	}
}

func TestRazorpayWebhook_EveryEvent(t *testing.T) {
	type step struct {
		ev   payloads.Razorpay
		want order.Status
	}
	flows := map[string][]step{
		"authorized then captured then order.paid": {
			{payloads.Razorpay{Type: "payment.authorized"}, order.Processing},
			{payloads.Razorpay{Type: "payment.captured"}, order.Paid},
			{payloads.Razorpay{Type: "order.paid"}, order.Paid}},
		"failed then captured on a retry": {
			{payloads.Razorpay{Type: "payment.failed", PaymentID: "pay_first"}, order.Pending},
			{payloads.Razorpay{Type: "payment.captured", PaymentID: "pay_second"}, order.Paid}},
		"refund partial then full": {
			{payloads.Razorpay{Type: "payment.captured"}, order.Paid},
			{payloads.Razorpay{Type: "refund.processed", Refunded: 10000}, order.PartiallyRefunded},
			{payloads.Razorpay{Type: "refund.processed", Refunded: 39800}, order.Refunded}},
		"dispute won": {
			{payloads.Razorpay{Type: "order.paid"}, order.Paid},
			{payloads.Razorpay{Type: "payment.dispute.created"}, order.Disputed},
			{payloads.Razorpay{Type: "payment.dispute.won"}, order.Paid}},
		"dispute lost": {
			{payloads.Razorpay{Type: "payment.captured"}, order.Paid},
			{payloads.Razorpay{Type: "payment.dispute.created"}, order.Disputed},
			{payloads.Razorpay{Type: "payment.dispute.lost"}, order.Refunded}},
		"underpaid is flagged": {
			{payloads.Razorpay{Type: "payment.captured", Amount: 100}, order.AmountMismatch}},
		"other currency is flagged": {
			{payloads.Razorpay{Type: "order.paid", Currency: "USD"}, order.AmountMismatch}},
	}
	for name, steps := range flows {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, memory)
			c, rzpID := e.rzpOrder()
			for i, s := range steps {
				ev := s.ev
				ev.OrderID, ev.RazorpayOrderID = c.OrderID, rzpID
				if ev.Amount == 0 {
					ev.Amount = 39800
				}
				e.mustReceiveRzp(ev)
				if got := e.get(c.OrderID); got.Status != s.want {
					t.Fatalf("step %d %s: %s, want %s", i+1, ev.Type, got.Status, s.want)
				}
			}
		})
	}
}

func TestRazorpayWebhook_FoundByRazorpayOrderIDWithoutNotes(t *testing.T) {
	e := newEnv(t, memory)
	c, rzpID := e.rzpOrder()
	body := `{"entity":"event","event":"payment.captured","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_X","entity":"payment","amount":39800,"currency":"INR","status":"captured","order_id":"` + rzpID + `","notes":[]}}},"created_at":1}`
	if r := e.signedRazorpay([]byte(body), "evt_nonotes", rzpSecret); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if got := e.get(c.OrderID); got.Status != order.Paid || got.PaymentRef != "pay_X" {
		t.Fatalf("%s %s", got.Status, got.PaymentRef)
	}
}

func TestRazorpayWebhook_DuplicatesMoveOnce(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			c, rzpID := e.rzpOrder()
			body, _, _ := payloads.Razorpay{Type: "payment.captured", OrderID: c.OrderID, RazorpayOrderID: rzpID, Amount: 39800}.Payload()
			before := e.get(c.OrderID).Version
			var wg sync.WaitGroup
			codes := make(chan int, 50)
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); codes <- e.signedRazorpay(body, "evt_same_id", rzpSecret).Status }()
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				if code != 200 {
					t.Errorf("a delivery got %d", code)
				}
			}
			if o := e.get(c.OrderID); o.Status != order.Paid || o.Version != before+1 || e.effects.Load() != 1 {
				t.Fatalf("%s v%d (from v%d), effects %d", o.Status, o.Version, before, e.effects.Load())
			}
		})
	}
}

func TestRazorpayWebhook_BadSignaturesChangeNothing(t *testing.T) {
	e := newEnv(t, memory)
	c, rzpID := e.rzpOrder()
	body, id, _ := payloads.Razorpay{Type: "payment.captured", OrderID: c.OrderID, RazorpayOrderID: rzpID, Amount: 39800}.Payload()
	altered := []byte(strings.Replace(string(body), `"amount":39800`, `"amount":1`, 1))
	for name, h := range map[string]http.Header{
		"wrong secret": {"X-Razorpay-Signature": {razorpayhook.Sign(body, "someone_else")}, "X-Razorpay-Event-Id": {id}},
		"missing":      {"X-Razorpay-Event-Id": {id}},
		"garbage":      {"X-Razorpay-Signature": {"not-hex"}, "X-Razorpay-Event-Id": {id}},
	} {
		if r := e.do("POST", "/api/webhooks/razorpay", body, h); r.Status != 400 || r.errorCode(t) != "invalid_signature" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	h := http.Header{"X-Razorpay-Signature": {razorpayhook.Sign(body, rzpSecret)}, "X-Razorpay-Event-Id": {id}}
	if r := e.do("POST", "/api/webhooks/razorpay", altered, h); r.Status != 400 {
		t.Errorf("altered body: %d", r.Status)
	}
	if o := e.get(c.OrderID); o.Status != order.Pending {
		t.Fatalf("a rejected webhook moved the order to %s", o.Status)
	}
	if r := e.signedRazorpay(body, id, rzpSecretNext); r.Status != 200 || e.get(c.OrderID).Status != order.Paid {
		t.Fatalf("second active secret: %d %s", r.Status, r.Body)
	}
}

// TestCheckout_SameFlowBothGateways: one /api/checkout, the gateway picked
// per request; Razorpay's checkout holds what Checkout.js needs.
func TestCheckout_SameFlowBothGateways(t *testing.T) {
	rzp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["amount"] != 39800.0 || body["currency"] != "INR" {
			t.Errorf("razorpay got %v", body)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"order_Test1234567890","entity":"order","amount":39800,"currency":"INR","receipt":"` + body["receipt"].(string) + `","status":"created"}`))
	}))
	defer rzp.Close()
	h := api.Handler(api.Deps{
		Store: memstore.New(time.Now), Catalog: mustCatalog(t),
		Gateways: map[string]api.Gateway{
			"stripe":   stripeMockGateway(),
			"razorpay": razorpaygw.New(razorpaygw.Config{KeyID: "rzp_test_abc", KeySecret: "s", APIBase: rzp.URL, ShopName: "Test Shop"}),
		},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	for _, tc := range []struct{ gateway, items, want string }{
		{"stripe", `[{"sku":"tee-m","quantity":2}]`, `"url":"https://`},
		{"razorpay", `[{"sku":"sticker-in","quantity":2}]`, `{"keyId":"rzp_test_abc","orderId":"order_Test1234567890","amount":39800,"currency":"INR","name":"Test Shop"`},
	} {
		r := doWith(t, h, "POST", "/api/checkout", []byte(`{"gateway":"`+tc.gateway+`","items":`+tc.items+`}`), jsonHeader)
		if r.Status != 201 || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%s: %d %s", tc.gateway, r.Status, r.Body)
		}
	}
}

// TestRazorpayWebhook_PaymentRefOfAnotherOrderStillMoves: a reference that
// already belongs to another order is not a race to retry forever.
func TestRazorpayWebhook_PaymentRefOfAnotherOrderStillMoves(t *testing.T) {
	e := newEnv(t, memory)
	a, rzpA := e.rzpOrder()
	b, rzpB := e.rzpOrder()
	e.mustReceiveRzp(payloads.Razorpay{Type: "payment.captured", OrderID: a.OrderID, RazorpayOrderID: rzpA, PaymentID: "pay_shared", Amount: 39800})
	e.mustReceiveRzp(payloads.Razorpay{Type: "payment.captured", OrderID: b.OrderID, RazorpayOrderID: rzpB, PaymentID: "pay_shared", Amount: 39800})
	if e.get(b.OrderID).Status != order.Paid {
		t.Fatal("the second order did not move")
	}
}
