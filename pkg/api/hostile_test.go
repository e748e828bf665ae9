package api_test

import (
	"bytes"
	"fmt"
	"github.com/jampay/jampay/internal/payloads"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

type hostile struct {
	name   string
	method string
	path   string
	body   []byte
	header http.Header
}

func stripeSigned(body []byte) http.Header {
	return http.Header{"Stripe-Signature": {payloads.StripeSignature(body, whsec, time.Now())}}
}

func rzpSigned(body []byte) http.Header {
	return http.Header{"X-Razorpay-Signature": {razorpayhook.Sign(body, rzpSecret)}, "X-Razorpay-Event-Id": {"evt_hostile"}}
}

func hostileCases() []hostile {
	json := http.Header{"Content-Type": {"application/json"}}
	co := func(name, body string) hostile { return hostile{name, "POST", "/api/checkout", []byte(body), json} }
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	random := make([]byte, 512)
	for i := range random {
		random[i] = byte(i*7919 + 13)
	}
	var many strings.Builder
	many.WriteString(`{"gateway":"stripe","items":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"sku":"mug","quantity":1}`)
	}
	many.WriteString("]}")
	status := func(name, path string, h http.Header) hostile { return hostile{name, "GET", path, nil, h} }
	tok := http.Header{"Authorization": {"Bearer x"}}
	notJSON := []byte("\x00\xff\xfe definitely not json")
	cases := []hostile{
		{"random bytes", "POST", "/api/checkout", random, json},
		co("deep nesting", deep),
		co("deep object nesting", strings.Repeat(`{"a":`, 20000)+"1"+strings.Repeat("}", 20000)),
		co("huge quantity", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1e400}]}`),
		co("quantity below int64", `{"gateway":"stripe","items":[{"sku":"mug","quantity":-9223372036854775809}]}`),
		co("quantity as string", `{"gateway":"stripe","items":[{"sku":"mug","quantity":"2"}]}`),
		co("quantity as float", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1.0}]}`),
		co("quantity as bool", `{"gateway":"stripe","items":[{"sku":"mug","quantity":true}]}`),
		co("items null", `{"gateway":"stripe","items":null}`),
		co("items an object", `{"gateway":"stripe","items":{"sku":"mug"}}`),
		co("sku a number", `{"gateway":"stripe","items":[{"sku":12,"quantity":1}]}`),
		co("gateway a number", `{"gateway":1,"items":[{"sku":"mug","quantity":1}]}`),
		co("email an array", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}],"email":["a@b.co"]}`),
		co("null byte in sku", `{"gateway":"stripe","items":[{"sku":"mug\u0000","quantity":1}]}`),
		{"invalid UTF-8 in sku", "POST", "/api/checkout", []byte("{\"gateway\":\"stripe\",\"items\":[{\"sku\":\"mu\xffg\",\"quantity\":1}]}"), json},
		co("duplicate keys, last is bad", `{"gateway":"stripe","gateway":"paypal","items":[{"sku":"mug","quantity":1}]}`),
		co("duplicate quantity keys", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1,"quantity":0}]}`),
		co("top-level array", `[{"gateway":"stripe"}]`),
		co("top-level string", `"checkout"`),
		co("empty object", `{}`),
		co("10 KB sku", `{"gateway":"stripe","items":[{"sku":"`+strings.Repeat("a", 10000)+`","quantity":1}]}`),
		co("1000 lines", many.String()),
		co("header injection in email", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}],"email":"a@b.co\r\nBcc: x@y.z"}`),
		co("byte order mark", "\xef\xbb\xbf"+`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`),
		co("trailing garbage", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}garbage`),
		{"text/plain", "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`), http.Header{"Content-Type": {"text/plain"}}},
		{"65 KiB body", "POST", "/api/checkout", []byte(`{"gateway":"stripe","pad":"` + strings.Repeat("x", 65<<10) + `"}`), json},
		{"300-character Idempotency-Key", "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`),
			http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {strings.Repeat("k", 300)}}},
		{"PUT on checkout", "PUT", "/api/checkout", []byte(`{}`), json},
		status("path traversal", "/api/orders/..%2f..%2f..%2fetc%2fpasswd", tok),
		status("null byte in id", "/api/orders/ord_%00", tok),
		status("10 KB id", "/api/orders/ord_"+strings.Repeat("a", 10000), tok),
		status("quote in id", "/api/orders/ord_'%20OR%201=1--", tok),
		status("unicode id", "/api/orders/ord_%E2%80%AEabc", tok),
		status("60 KB Authorization", "/api/orders/"+order.NewID(), http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 60<<10)}}),
		status("empty bearer", "/api/orders/"+order.NewID(), http.Header{"Authorization": {"Bearer "}}),
		{"stripe: random bytes, no signature", "POST", "/api/webhooks/stripe", random, nil},
		{"stripe: garbage signature", "POST", "/api/webhooks/stripe", []byte(`{}`), http.Header{"Stripe-Signature": {"t=abc,v1=%%%"}}},
		{"stripe: signed, not JSON", "POST", "/api/webhooks/stripe", notJSON, stripeSigned(notJSON)},
		{"stripe: signed array", "POST", "/api/webhooks/stripe", []byte(`[1,2]`), stripeSigned([]byte(`[1,2]`))},
		{"stripe: signed, object a string", "POST", "/api/webhooks/stripe", []byte(`{"id":"evt_1","type":"charge.refunded","data":{"object":"x"}}`),
			stripeSigned([]byte(`{"id":"evt_1","type":"charge.refunded","data":{"object":"x"}}`))},
		{"stripe: signed, deeply nested", "POST", "/api/webhooks/stripe", []byte(deep), stripeSigned([]byte(deep))},
		{"stripe: signed, 600 KB", "POST", "/api/webhooks/stripe", bytes.Repeat([]byte(" "), 600<<10), stripeSigned(bytes.Repeat([]byte(" "), 600<<10))},
		{"razorpay: no signature", "POST", "/api/webhooks/razorpay", []byte(`{"event":"payment.captured"}`), nil},
		{"razorpay: signed, not JSON", "POST", "/api/webhooks/razorpay", notJSON, rzpSigned(notJSON)},
		{"razorpay: signed, payment null", "POST", "/api/webhooks/razorpay", []byte(`{"event":"payment.captured","payload":{"payment":null}}`),
			rzpSigned([]byte(`{"event":"payment.captured","payload":{"payment":null}}`))},
		{"razorpay: signed, amount a string", "POST", "/api/webhooks/razorpay", []byte(`{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","amount":"39800"}}}}`),
			rzpSigned([]byte(`{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","amount":"39800"}}}}`))},
		{"traversal in gateway", "POST", "/api/webhooks/..%2fcheckout", []byte(`{}`), nil},
		{"unknown gateway", "POST", "/api/webhooks/paypal", []byte(`{}`), nil},
	}
	return cases
}

// TestHostileInput: every malformed request gets a 4xx JSON error — never a
// 5xx, never a panic — and nothing is written.
func TestHostileInput(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	e := newEnv(t, memory)
	f := &faultyStore{Store: e.store, failAt: -1}
	e.store = f
	e.h = wrapEffects(t, e, func(order.Order) {})
	for _, tc := range cases {
		r := e.do(tc.method, tc.path, tc.body, tc.header)
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("%s: %d %s", tc.name, r.Status, truncate(r.Body))
			continue
		}
		if code := r.errorCode(t); code == "" || code == "internal" {
			t.Errorf("%s: code %q", tc.name, code)
		}
	}
	if w := f.writes.Load(); w != 0 {
		t.Fatalf("hostile requests made %d writes", w)
	}
	if n := e.gw.calls.Load(); n != 0 {
		t.Fatalf("hostile requests reached the gateway %d times", n)
	}
	t.Logf("%d hostile requests, all 4xx, nothing written", len(cases))
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%s…", b[:200])
	}
	return string(b)
}
