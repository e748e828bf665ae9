package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/sandbox"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripehook"
)

const (
	stripeSecret   = "whsec_sandbox_test_0123456789"
	razorpaySecret = "rzp_whsec_sandbox_test_0123456789"
)

// rig is a sandbox behind a server that also plays jampay's webhook routes,
// checking each delivery's signature as jampay does and keeping its body.
type rig struct {
	*testing.T
	sb  *sandbox.Sandbox
	url string
	mu  sync.Mutex
	got []map[string]any
	// heard are the same webhooks as jampay's decoders read them.
	heard []order.Event
	// down makes the webhook routes answer 500, as a jampay that is down.
	down atomic.Bool
}

func newRig(t *testing.T) *rig {
	r := &rig{T: t}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	r.sb = sandbox.New(sandbox.Config{
		BaseURL: srv.URL, SiteURL: srv.URL, ShopName: "Test shop",
		StripeSecret: stripeSecret, RazorpaySecret: razorpaySecret, RazorpayKeySecret: "key_secret",
		Expire: func(context.Context, string) error { return nil },
	})
	mux.Handle("/sandbox/", r.sb.Handler())
	mux.HandleFunc("POST /api/webhooks/{gateway}", func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			http.Error(w, `{"error":{"code":"store_unavailable"}}`, http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(req.Body)
		// Every event the sandbox sends must be one its gateway's table
		// says jampay handles: one outside it would be delivered only to
		// be ignored.
		var e order.Event
		var err error
		switch req.PathValue("gateway") {
		case "stripe":
			if err := webhook.ValidatePayload(body, req.Header.Get("Stripe-Signature"), stripeSecret); err != nil {
				t.Errorf("Stripe signature: %v", err)
			}
			e, err = stripehook.Decode(body)
		case "razorpay":
			if req.Header.Get("X-Razorpay-Signature") != razorpayhook.Sign(body, razorpaySecret) || req.Header.Get("X-Razorpay-Event-Id") == "" {
				t.Errorf("Razorpay signature or event id missing: %v", req.Header)
			}
			e, err = razorpayhook.Decode(body)
		}
		e.Gateway = req.PathValue("gateway")
		if e.Gateway == "razorpay" {
			e.ID = req.Header.Get("X-Razorpay-Event-Id")
		}
		if err != nil || e.Kind == order.KindIgnored {
			t.Errorf("the sandbox sent a %s event jampay does not handle: %+v %v", req.PathValue("gateway"), e, err)
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, ev)
		r.heard = append(r.heard, e)
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"received":true}`))
	})
	return r
}

// events returns the webhooks delivered since the last call.
func (r *rig) events() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got, r.heard = nil, nil
	return got
}

// decoded returns the webhooks delivered since the last call, decoded.
func (r *rig) decoded() []order.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	heard := r.heard
	r.got, r.heard = nil, nil
	return heard
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (r *rig) post(url string) (*http.Response, string) {
	r.Helper()
	resp, err := noRedirect.Post(url, "", nil)
	if err != nil {
		r.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (r *rig) page(url string) string {
	r.Helper()
	resp, err := http.Get(url)
	if err != nil {
		r.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// get reads a dotted path ("data.object.id") out of a decoded event.
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func testOrder(id string) *order.Order {
	return &order.Order{ID: id, Amount: 4000, Currency: "usd", Email: "a@example.com",
		Items: []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}}}
}

// Stripe Checkout keeps a declined customer on its page, with the error, to
// pay or leave; every attempt confirms the session's one PaymentIntent.
func TestStripe_DeclineKeepsTheCustomerOnThePage(t *testing.T) {
	r := newRig(t)
	o := testOrder("ord_stripe1")
	co, err := r.sb.Stripe().CreateCheckout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var data struct{ URL string }
	_ = json.Unmarshal(co.Data, &data)
	if !strings.HasSuffix(data.URL, "/sandbox/stripe/"+co.SessionRef) {
		t.Fatalf("checkout url %q, session %q", data.URL, co.SessionRef)
	}

	for range 2 {
		resp, _ := r.post(data.URL + "/decline")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != data.URL {
			t.Fatalf("decline: %d → %q, want back to %s", resp.StatusCode, resp.Header.Get("Location"), data.URL)
		}
		html := r.page(data.URL)
		for _, want := range []string{`role="alert"`, "Your card was declined.", ">Pay</button>", ">Abandon"} {
			if !strings.Contains(html, want) {
				t.Fatalf("page after a decline lacks %q:\n%s", want, html)
			}
		}
	}
	declines := r.events()
	if len(declines) != 2 {
		t.Fatalf("%d webhooks for two declines", len(declines))
	}
	pi := get(declines[0], "data.object.id")
	for _, ev := range declines {
		if ev["type"] != "payment_intent.payment_failed" || get(ev, "data.object.metadata.order_id") != o.ID ||
			get(ev, "data.object.id") != pi || get(ev, "data.object.last_payment_error.message") != "Your card was declined." {
			t.Fatalf("decline event: %v", ev)
		}
	}

	resp, _ := r.post(data.URL + "/pay")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != r.url+"/success.html" {
		t.Fatalf("pay: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	paid := r.events()
	if len(paid) != 1 || paid[0]["type"] != "checkout.session.completed" ||
		get(paid[0], "data.object.id") != co.SessionRef || get(paid[0], "data.object.payment_intent") != pi {
		t.Fatalf("pay after decline: %v", paid)
	}

	// A paid session takes no more attempts.
	for _, action := range []string{"pay", "decline", "abandon"} {
		if resp, _ := r.post(data.URL + "/" + action); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != data.URL {
			t.Fatalf("%s on a paid session: %d → %q", action, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if ev := r.events(); len(ev) != 0 {
		t.Fatalf("a paid session sent %v", ev)
	}
	if html := r.page(data.URL); !strings.Contains(html, "This checkout is complete") || strings.Contains(html, ">Pay</button>") {
		t.Fatalf("paid session page:\n%s", html)
	}
}

func TestStripe_AbandonExpiresTheSession(t *testing.T) {
	r := newRig(t)
	co, _ := r.sb.Stripe().CreateCheckout(context.Background(), testOrder("ord_stripe2"))
	url := r.url + "/sandbox/stripe/" + co.SessionRef
	if resp, _ := r.post(url + "/abandon"); resp.Header.Get("Location") != r.url+"/cancel.html" {
		t.Fatalf("abandon → %q", resp.Header.Get("Location"))
	}
	if ev := r.events(); len(ev) != 1 || ev[0]["type"] != "checkout.session.expired" || get(ev[0], "data.object.id") != co.SessionRef {
		t.Fatalf("abandon sent %v", ev)
	}
	r.post(url + "/pay")
	if ev := r.events(); len(ev) != 0 {
		t.Fatalf("an expired session was paid: %v", ev)
	}
	if html := r.page(url); !strings.Contains(html, "This checkout has expired") {
		t.Fatalf("expired session page:\n%s", html)
	}
}

// Razorpay's Checkout stays open after a failed payment; the next attempt is
// a new payment on the same Razorpay order.
func TestRazorpay_DeclineKeepsTheOrderOpen(t *testing.T) {
	r := newRig(t)
	o := testOrder("ord_razorpay1")
	o.Currency = "inr"
	co, err := r.sb.Razorpay().CreateCheckout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var data struct{ OrderID, Script string }
	_ = json.Unmarshal(co.Data, &data)
	if data.OrderID != co.SessionRef || !strings.HasPrefix(data.OrderID, "order_") || data.Script != r.url+"/sandbox/razorpay/checkout.js" {
		t.Fatalf("checkout %s, session %q", co.Data, co.SessionRef)
	}
	action := r.url + "/sandbox/razorpay/" + data.OrderID + "/"

	resp, body := r.post(action + "decline")
	var failed struct{ Error struct{ Description string } }
	_ = json.Unmarshal([]byte(body), &failed)
	if resp.StatusCode != http.StatusOK || failed.Error.Description != "Your payment has been declined by your bank." {
		t.Fatalf("decline: %d %s", resp.StatusCode, body)
	}
	ev := r.events()
	if len(ev) != 1 || ev[0]["event"] != "payment.failed" || get(ev[0], "payload.payment.entity.order_id") != data.OrderID {
		t.Fatalf("decline sent %v", ev)
	}
	failedPayment := get(ev[0], "payload.payment.entity.id")

	resp, body = r.post(action + "pay")
	var handler map[string]string
	_ = json.Unmarshal([]byte(body), &handler)
	if resp.StatusCode != http.StatusOK || handler["razorpay_order_id"] != data.OrderID ||
		handler["razorpay_signature"] != razorpayhook.Sign([]byte(data.OrderID+"|"+handler["razorpay_payment_id"]), "key_secret") {
		t.Fatalf("pay: %d %s", resp.StatusCode, body)
	}
	ev = r.events()
	if len(ev) != 3 {
		t.Fatalf("pay sent %d events, want authorized, captured and order.paid", len(ev))
	}
	for _, e := range ev {
		if get(e, "payload.payment.entity.order_id") != data.OrderID || get(e, "payload.payment.entity.id") != handler["razorpay_payment_id"] ||
			handler["razorpay_payment_id"] == failedPayment {
			t.Fatalf("pay event %v (failed payment %v)", e, failedPayment)
		}
	}

	// A paid Razorpay order takes no second payment.
	if resp, body := r.post(action + "pay"); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "already been paid") {
		t.Fatalf("second pay: %d %s", resp.StatusCode, body)
	}
	if ev := r.events(); len(ev) != 0 {
		t.Fatalf("a paid order was paid again: %v", ev)
	}
}

// `jampay trigger -order` asks which checkout the sandbox opened for an
// order, so its event names the session jampay will believe.
func TestReferences(t *testing.T) {
	r := newRig(t)
	co, _ := r.sb.Stripe().CreateCheckout(context.Background(), testOrder("ord_refs"))
	var refs sandbox.References
	resp, err := http.Get(r.url + "/sandbox/orders/ord_refs")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&refs)
	resp.Body.Close()
	if refs.Gateway != "stripe" || refs.Session != co.SessionRef || !strings.HasPrefix(refs.Payment, "pi_") {
		t.Fatalf("references %+v, session %q", refs, co.SessionRef)
	}
	if resp, _ := http.Get(r.url + "/sandbox/orders/ord_unknown"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown order: %d", resp.StatusCode)
	}
}

// The sandbox's checkouts last CHECKOUT_TTL, as the real gateways are told:
// the deadline, and Razorpay Checkout's timeout in seconds.
func TestCheckouts_LastTheTTL(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, ttl := range []time.Duration{0, 45 * time.Minute} {
		sb := sandbox.New(sandbox.Config{BaseURL: "http://127.0.0.1:1", ShopName: "Test shop", TTL: ttl, Now: func() time.Time { return now }})
		want := ttl
		if want == 0 {
			want = razorpaygw.CheckoutLifetime
		}
		sc, err := sb.Stripe().CreateCheckout(context.Background(), testOrder("ord_ttlstripe"))
		if err != nil || !sc.Deadline.Equal(now.Add(want)) {
			t.Fatalf("TTL %v: Stripe deadline %v, %v", ttl, sc.Deadline, err)
		}
		rc, err := sb.Razorpay().CreateCheckout(context.Background(), testOrder("ord_ttlrazorpay"))
		var data struct{ Timeout int64 }
		if err != nil || json.Unmarshal(rc.Data, &data) != nil || !rc.Deadline.Equal(now.Add(want)) || data.Timeout != int64(want/time.Second) {
			t.Fatalf("TTL %v: Razorpay deadline %v, timeout %d, %v", ttl, rc.Deadline, data.Timeout, err)
		}
	}
}
