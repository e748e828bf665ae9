package vercelfn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/order"
)

func stripeSigned(body []byte, secret string) http.Header {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
	return http.Header{"Stripe-Signature": {signed.Header}, "Content-Type": {"application/json; charset=utf-8"}}
}

// The contract end to end through Vercel's entry point, as go-bridge hands
// requests to it (the body as the exact bytes sent — the bridge has
// already decoded Vercel's base64 —, the client's address in X-Real-Ip):
// a real Stripe checkout (stripe-mock), a forged webhook refused with
// nothing changed, the signed one, the order's status, a CORS preflight.
func TestAPI_EndToEnd(t *testing.T) {
	f := newFn(t, map[string]string{"STRIPE_API_BASE": stripemockrun.URL(t)})
	client := http.Header{"Origin": {origin}, "X-Real-Ip": {"203.0.113.9"}}
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}

	a := f.api("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee","quantity":2}],"email":"a@example.com"}`),
		with(client, "Content-Type", "application/json"))
	if a.status != http.StatusCreated || a.header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("checkout: %d %v %s", a.status, a.header, a.body)
	}
	var created struct {
		OrderID, StatusToken string
		Amount               int64
		Checkout             struct{ URL string }
	}
	if err := json.Unmarshal(a.body, &created); err != nil || created.Amount != 4000 || created.Checkout.URL == "" {
		t.Fatalf("checkout answer: %s (%v)", a.body, err)
	}
	before, err := f.store.GetOrder(context.Background(), created.OrderID)
	if err != nil {
		t.Fatal(err)
	}

	paid, err := payloads.Stripe{Type: "checkout.session.completed", OrderID: created.OrderID, Amount: 4000, SessionID: before.SessionRef}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	forged := f.api("POST", "/api/webhooks/stripe", paid, stripeSigned(paid, "whsec_someone_else_0123456789"))
	if forged.status != http.StatusBadRequest || forged.code(t) != "invalid_signature" {
		t.Fatalf("forged webhook: %d %s", forged.status, forged.body)
	}
	if o, _ := f.store.GetOrder(context.Background(), created.OrderID); o.Status != order.Pending || o.Version != before.Version {
		t.Fatalf("a forged webhook moved the order: %s v%d (was v%d)", o.Status, o.Version, before.Version)
	}

	if a := f.api("POST", "/api/webhooks/stripe", paid, stripeSigned(paid, whsec)); a.status != http.StatusOK || string(a.body) != "{\"received\":true}\n" {
		t.Fatalf("signed webhook: %d %s", a.status, a.body)
	}

	status := f.api("GET", "/api/orders/"+created.OrderID, nil, with(client, "Authorization", "Bearer "+created.StatusToken))
	if status.status != http.StatusOK || status.json(t)["status"] != "paid" {
		t.Fatalf("status: %d %s", status.status, status.body)
	}
	// The same through the rewrite's destination form.
	if again := f.api("GET", "/api/index?path=orders/"+created.OrderID, nil, with(client, "Authorization", "Bearer "+created.StatusToken)); again.status != http.StatusOK || again.json(t)["status"] != "paid" {
		t.Fatalf("status through /api/index: %d %s", again.status, again.body)
	}
	if other := f.api("GET", "/api/orders/"+created.OrderID, nil, with(client, "Authorization", "Bearer "+created.StatusToken+"x")); other.status != http.StatusNotFound {
		t.Fatalf("status with another token: %d %s", other.status, other.body)
	}

	pre := f.api("OPTIONS", "/api/checkout", nil, with(client, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"))
	if pre.status/100 != 2 || pre.header.Get("Access-Control-Allow-Origin") != origin || pre.header.Get("Access-Control-Max-Age") == "" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	elsewhere := f.api("OPTIONS", "/api/checkout", nil, with(client, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"))
	if elsewhere.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin allowed: %v", elsewhere.header)
	}
}
