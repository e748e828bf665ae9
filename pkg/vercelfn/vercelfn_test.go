package vercelfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/vercelfn"
)

const (
	cronSecret = "cron-secret-0123456789abcdef"
	origin     = "https://shop.example.com"
	whsec      = "whsec_test_vercel_0123456789"
)

const testCatalog = `{"shopName":"Shop","products":[{"sku":"tee","name":"Tee","unitAmount":2000,"currency":"usd"}]}`

// refusingStripe answers every request as Stripe answers one it will not
// serve (400, which stripe-go does not retry): a checkout is then a 502,
// counted by the rate limit, and a reconcile run records an error, both
// at once.
var refusingStripe = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"refused by the test"}}`))
}))

// settings are a Vercel project's settings, as os.Getenv would give them.
func settings(extra map[string]string) func(string) string {
	m := map[string]string{
		"SITE_URL": origin, "ALLOWED_ORIGINS": origin, "CRON_SECRET": cronSecret,
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_MODE": "test", "STRIPE_WEBHOOK_SECRET": whsec,
		"STRIPE_API_BASE": refusingStripe.URL,
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// logs is a logger's output, safe to read while handlers write.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// fn is the Vercel entry points over an App built from settings and a
// memory store, as FromEnvironment builds it from the project's.
type fn struct {
	entry *vercelfn.Entry
	store order.Store
	logs  *logs
}

func newFn(t *testing.T, extra map[string]string) *fn {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	f := &fn{store: memstore.New(time.Now), logs: &logs{}}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	f.entry = vercelfn.New(func(ctx context.Context) (*hosted.App, error) {
		return hosted.New(ctx, hosted.Vercel, hosted.Options{Getenv: settings(extra), Catalog: cat, Store: f.store, Logger: log})
	}, log)
	return f
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", a.status, a.body)
	}
	return m
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func serve(h http.HandlerFunc, method, target string, body []byte, header http.Header) answer {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func (f *fn) api(method, target string, body []byte, header http.Header) answer {
	return serve(f.entry.API, method, target, body, header)
}

func (f *fn) reconcile(method string, header http.Header) answer {
	return serve(f.entry.Reconcile, method, "/api/cron/reconcile", nil, header)
}

// Whichever form Vercel hands the function, the request reaches the
// contract's route: an order's status answers order_not_found (the route
// ran), where a path no route has answers not_found.
func TestAPI_RoutesEveryPathForm(t *testing.T) {
	f := newFn(t, nil)
	for target, want := range map[string]string{
		"/api/orders/ord_1":                      "order_not_found",
		"/api/index?path=orders/ord_1":           "order_not_found",
		"/api/index?path=%2Forders%2Ford_1":      "order_not_found",
		"/api/orders/ord_1?path=orders%2Ford_1":  "order_not_found",
		"/api/index":                             "not_found",
		"/api/index?path=nothing-here":           "not_found",
		"/api/subscriptions/sub_1?path=whatever": "subscription_not_found",
		"/api/index?path=subscriptions%2Fsub_1":  "subscription_not_found",
	} {
		a := f.api("GET", target, nil, http.Header{"Authorization": {"Bearer nope"}})
		if a.status != http.StatusNotFound || a.code(t) != want {
			t.Errorf("GET %s: %d %s, want 404 %s", target, a.status, a.body, want)
		}
		if a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: headers %v", target, a.header)
		}
	}
}

// The checkout rate limit counts clients by X-Real-Ip, which Vercel sets
// (go-bridge makes it RemoteAddr too), never by X-Forwarded-For, which a
// client can write.
func TestAPI_CountsClientsByXRealIP(t *testing.T) {
	f := newFn(t, map[string]string{"CHECKOUT_RATE_LIMIT": "1"})
	checkout := func(realIP, forwarded string) int {
		return f.api("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee","quantity":1}]}`), http.Header{
			"Content-Type": {"application/json"}, "X-Real-Ip": {realIP}, "X-Forwarded-For": {forwarded},
		}).status
	}
	// Stripe refuses here: a counted checkout is 502.
	for _, c := range []struct {
		realIP, forwarded string
		want              int
	}{
		{"203.0.113.9", "198.51.100.1", http.StatusBadGateway},
		{"203.0.113.9", "198.51.100.2", http.StatusTooManyRequests},
		{"203.0.113.10", "203.0.113.9", http.StatusBadGateway},
		{"2001:db8::1", "203.0.113.9", http.StatusBadGateway},
		{"2001:db8::2", "203.0.113.9", http.StatusTooManyRequests}, // the same /64
	} {
		if got := checkout(c.realIP, c.forwarded); got != c.want {
			t.Fatalf("from %s (X-Forwarded-For %s): %d, want %d", c.realIP, c.forwarded, got, c.want)
		}
	}
}

// Vercel's request id becomes jampay's, whatever the client sent, so
// jampay's log lines can be found in Vercel's.
func TestAPI_VercelsRequestID(t *testing.T) {
	f := newFn(t, nil)
	a := f.api("GET", "/api/orders/ord_1", nil, http.Header{"X-Vercel-Id": {"cdg1::iad1::abcde-1700000000000-0123456789ab"}, "X-Request-Id": {"mine"}})
	if got := a.header.Get("X-Request-Id"); got != "cdg1..iad1..abcde-1700000000000-0123456789ab" {
		t.Fatalf("X-Request-Id %q", got)
	}
}

// Vercel's cron presents `Bearer $CRON_SECRET`; the path is public, and
// anything else is refused before reconcile runs.
func TestReconcile_RefusesAnyoneButTheCron(t *testing.T) {
	f := newFn(t, nil)
	for name, auth := range map[string]string{
		"no secret":          "",
		"wrong secret":       "Bearer cron-secret-0123456789abcdeX",
		"Bearer missing":     cronSecret,
		"lower-case bearer":  "bearer " + cronSecret,
		"secret with a tail": "Bearer " + cronSecret + " ",
		"another scheme":     "Basic " + cronSecret,
		"Bearer and nothing": "Bearer ",
	} {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			h := http.Header{}
			if auth != "" {
				h.Set("Authorization", auth)
			}
			a := f.reconcile(method, h)
			if a.status != http.StatusForbidden || a.code(t) != "forbidden" {
				t.Errorf("%s %s: %d %s", name, method, a.status, a.body)
			}
			if strings.Contains(string(a.body), cronSecret) {
				t.Errorf("%s: the answer shows the secret", name)
			}
		}
	}
	if strings.Contains(f.logs.String(), `"msg":"reconcile`) {
		t.Fatalf("reconcile ran for a refused call: %s", f.logs.String())
	}
}

func TestReconcile_RunsForTheCron(t *testing.T) {
	f := newFn(t, nil)
	bearer := http.Header{"Authorization": {"Bearer " + cronSecret}, "User-Agent": {"vercel-cron/1.0"}}
	for _, method := range []string{"GET", "POST"} {
		a := f.reconcile(method, bearer)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", method, a.status, a.body)
		}
		m := a.json(t)
		for _, k := range []string{"open", "moved", "missed", "replayed", "effectsSent", "errors", "stopped"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q in %s", method, k, a.body)
			}
		}
	}
	if n := strings.Count(f.logs.String(), `"msg":"reconcile"`); n != 2 {
		t.Fatalf("reconcile ran %d times, want 2: %s", n, f.logs.String())
	}
	if a := f.reconcile("PUT", bearer); a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, POST" {
		t.Fatalf("PUT: %d %v", a.status, a.header)
	}
}

// A start that fails answers 500 naming nothing, logs why, and is tried
// again at the next request: fixing a setting or a passing fault heals a
// warm instance. A start that succeeds is kept.
func TestEntry_StartFailureIsRetried(t *testing.T) {
	cat, err := catalog.Parse(strings.NewReader(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	for _, point := range []string{"API", "Reconcile"} {
		var logbuf logs
		log := slog.New(slog.NewJSONHandler(&logbuf, nil))
		calls := 0
		entry := vercelfn.New(func(ctx context.Context) (*hosted.App, error) {
			calls++
			if calls == 1 {
				return nil, errors.New("missing setting: SITE_URL")
			}
			return hosted.New(ctx, hosted.Vercel, hosted.Options{Getenv: settings(nil), Catalog: cat, Store: memstore.New(time.Now), Logger: log})
		}, log)
		h := map[string]http.HandlerFunc{"API": entry.API, "Reconcile": entry.Reconcile}[point]
		a := serve(h, "GET", "/api/orders/ord_1", nil, nil)
		if a.status != http.StatusInternalServerError || a.code(t) != "internal" || strings.Contains(string(a.body), "SITE_URL") {
			t.Fatalf("%s, first request: %d %s", point, a.status, a.body)
		}
		if !strings.Contains(logbuf.String(), "SITE_URL") {
			t.Fatalf("%s: the log does not say why: %s", point, logbuf.String())
		}
		for range 2 {
			if a := serve(h, "GET", "/api/orders/ord_1", nil, nil); a.status == http.StatusInternalServerError {
				t.Fatalf("%s, after the failure: %d %s", point, a.status, a.body)
			}
		}
		if calls != 2 {
			t.Fatalf("%s: built %d times, want 2 (one failure, then one success kept)", point, calls)
		}
	}
}
