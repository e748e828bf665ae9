package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// FuzzWebhook: whatever arrives at either webhook route, the handler never
// panics, never answers 5xx (the memory store does not fail), always
// answers JSON, and never 2xx unless the signature is the gateway's.
func FuzzWebhook(f *testing.F) {
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: "ord_aaaaaaaaaaaaaaaaaaaaaaaaaa", Amount: 4000}.Payload()
	f.Add(true, payloads.StripeSignature(body, whsec, time.Time{}), body)
	rbody, _, _ := payloads.Razorpay{Type: "payment.captured", OrderID: "ord_aaaaaaaaaaaaaaaaaaaaaaaaaa", Amount: 39800}.Payload()
	f.Add(false, razorpayhook.Sign(rbody, rzpSecret), rbody)
	f.Add(true, "t=1,v1=", []byte("{"))
	f.Add(false, "", []byte(""))
	e := newEnv(&testing.T{}, memory)
	f.Fuzz(func(t *testing.T, stripe bool, sig string, body []byte) {
		e.t = t
		path, h := "/api/webhooks/razorpay", http.Header{"X-Razorpay-Signature": {sig}}
		if stripe {
			path, h = "/api/webhooks/stripe", http.Header{"Stripe-Signature": {sig}}
		}
		r := e.do("POST", path, body, h)
		if r.Status >= 500 || !json.Valid(r.Body) {
			t.Fatalf("%d %q", r.Status, r.Body)
		}
		if r.Status < 300 {
			genuine := false
			if stripe {
				for _, part := range strings.Split(sig, ",") {
					if k, v, _ := strings.Cut(part, "="); k == "v1" && v != "" {
						genuine = genuine || webhook.ValidatePayloadWithTolerance(body, "t="+tsOf(sig)+",v1="+v, whsec, 100*365*24*time.Hour) == nil
					}
				}
			} else {
				genuine = strings.EqualFold(sig, razorpayhook.Sign(body, rzpSecret)) || strings.EqualFold(sig, razorpayhook.Sign(body, rzpSecretNext))
			}
			if !genuine {
				t.Fatalf("2xx for a forged signature %q", sig)
			}
		}
	})
}

func tsOf(sig string) string {
	for _, part := range strings.Split(sig, ",") {
		if k, v, _ := strings.Cut(part, "="); k == "t" {
			return v
		}
	}
	return ""
}

// FuzzCheckoutBody: any body to POST /api/checkout is a 201 priced from the
// catalog or a 4xx JSON error; never a 5xx, never a panic.
func FuzzCheckoutBody(f *testing.F) {
	f.Add([]byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}],"email":"a@example.com"}`))
	f.Add([]byte(`{"gateway":"razorpay","items":[{"sku":"sticker-in","quantity":1},{"sku":"sticker-in","quantity":3}]}`))
	f.Add([]byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1,"unitAmount":1}],"amount":1}`))
	f.Add([]byte(`[[[[`))
	e := newEnv(&testing.T{}, memory)
	prices := map[string]int64{"tee-m": 2000, "mug": 1250, "tea-jp": 1500, "sticker-in": 19900}
	f.Fuzz(func(t *testing.T, body []byte) {
		e.t = t
		r := e.do("POST", "/api/checkout", body, jsonHeader)
		if r.Status >= 500 || !json.Valid(r.Body) {
			t.Fatalf("%d %q for %q", r.Status, r.Body, body)
		}
		if r.Status != 201 {
			return
		}
		var req struct {
			Items []struct {
				SKU      string `json:"sku"`
				Quantity int64  `json:"quantity"`
			} `json:"items"`
		}
		var c created
		_ = json.Unmarshal(body, &req)
		_ = json.Unmarshal(r.Body, &c)
		var want int64
		for _, it := range req.Items {
			want += prices[it.SKU] * it.Quantity
		}
		if c.Amount != want {
			t.Fatalf("charged %d for %q, the catalog says %d", c.Amount, body, want)
		}
	})
}
