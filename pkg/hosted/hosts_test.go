package hosted_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/apigw"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/gateways"
	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/netlifyfn"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
	"github.com/jampay/jampay/pkg/vercelfn"
	"github.com/jampay/jampay/pkg/webhooks"
)

const (
	shopOrigin   = "https://shop.example.com"
	whsec        = "whsec_hosts_0123456789abcdef"
	cronSecret   = "cron-secret-0123456789abcdef"
	manualSecret = "reconcile-secret-0123456789"
)

// answer is what an entry point answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// host is one entry point, as its platform calls it: the request as the
// host's wire carries it (Lambda's and Netlify's events with base64
// bodies; Vercel's go-bridge hands the handler the decoded bytes).
type host struct {
	name  string
	store order.Store
	send  func(t *testing.T, method, path string, body []byte, header http.Header) answer
	// reconcile calls the scheduled reconcile entry point as an outsider
	// would (no secret), or nil where it has no HTTP entry at all.
	reconcile func(t *testing.T, authorization string) int
}

func hostSettings(extra map[string]string) map[string]string {
	m := map[string]string{
		"TABLE_NAME": "jampay", "SITE_URL": shopOrigin, "ALLOWED_ORIGINS": shopOrigin,
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_MODE": "test", "STRIPE_WEBHOOK_SECRET": whsec,
		"CRON_SECRET": cronSecret, "JAMPAY_RECONCILE_SECRET": manualSecret, "CHECKOUT_RATE_LIMIT": "0",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func testCatalog(t *testing.T) *catalog.Catalog {
	cat, err := catalog.Parse(strings.NewReader(`{"shopName":"Shop","products":[{"sku":"tee","name":"Tee","unitAmount":2000,"currency":"usd"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func headerMap(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// lambdaHost is the three Lambda functions as their mains wire them
// (checkout with the keys, webhook with the secrets, status with neither)
// behind API Gateway's HTTP API, each route to its function as
// template.yaml routes it.
func lambdaHost(t *testing.T, settings map[string]string) host {
	cfg, err := config.Load(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	store, cat := memstore.New(time.Now), testCatalog(t)
	gws, err := gateways.Checkouts(cfg, cat.ShopName, store)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhooks.Verifiers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	checkout := apigw.Handler(api.Handler(api.Deps{Store: store, Catalog: cat, Gateways: gws, AllowedOrigins: cfg.AllowedOrigins,
		SubscriptionActions: true, AccountURL: cfg.AccountURL(), Logger: quiet}))
	webhook := apigw.Handler(api.Handler(api.Deps{Store: store, Webhooks: hooks, Logger: quiet}))
	status := apigw.Handler(api.Handler(api.Deps{Store: store, AllowedOrigins: cfg.AllowedOrigins, Logger: quiet}))
	return host{name: "lambda", store: store, send: func(t *testing.T, method, path string, body []byte, header http.Header) answer {
		fn := status
		switch {
		case path == "/api/checkout":
			fn = checkout
		case strings.HasPrefix(path, "/api/webhooks/"):
			fn = webhook
		}
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: headerMap(header), IsBase64Encoded: true,
			Body: base64.StdEncoding.EncodeToString(body)}
		ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path, ev.RequestContext.HTTP.SourceIP = method, path, "203.0.113.9"
		resp, err := fn(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		for k, v := range resp.Headers {
			h.Set(k, v)
		}
		out, _ := apigwBody(resp.Body, resp.IsBase64Encoded)
		return answer{resp.StatusCode, h, out}
	}}
}

func apigwBody(body string, b64 bool) ([]byte, error) {
	if !b64 {
		return []byte(body), nil
	}
	return base64.StdEncoding.DecodeString(body)
}

func newHostApp(t *testing.T, h hosted.Host, settings map[string]string) (*hosted.App, order.Store) {
	store := memstore.New(time.Now)
	app, err := hosted.New(context.Background(), h, hosted.Options{Getenv: func(k string) string { return settings[k] },
		Catalog: testCatalog(t), Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return app, store
}

// netlifyHost is Netlify's api function and its scheduled reconcile, as
// netlify/functions/*/main.go wire them, called with Netlify's events.
func netlifyHost(t *testing.T, settings map[string]string) host {
	app, store := newHostApp(t, hosted.Netlify, settings)
	apiFn := netlifyfn.Handler(app)
	scheduled, err := netlifyfn.Scheduled(app, func(k string) string { return settings[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(method, path string, header http.Header, body []byte) netlifyfn.Event {
		h := headerMap(header)
		h["x-nf-client-connection-ip"] = "203.0.113.9"
		ev := netlifyfn.Event{APIGatewayProxyRequest: events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Headers: h,
			IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString(body)}}
		return ev
	}
	return host{name: "netlify", store: store,
		send: func(t *testing.T, method, path string, body []byte, header http.Header) answer {
			resp, err := apiFn(context.Background(), v1(method, path, header, body))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range resp.Headers {
				h.Set(k, v)
			}
			out, _ := apigwBody(resp.Body, resp.IsBase64Encoded)
			return answer{resp.StatusCode, h, out}
		},
		reconcile: func(t *testing.T, authorization string) int {
			h := http.Header{"Content-Type": {"application/json"}}
			if authorization != "" {
				h.Set("Authorization", authorization)
			}
			resp, err := scheduled(context.Background(), v1("POST", "/.netlify/functions/reconcile", h, []byte(`{}`)))
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode
		}}
}

// vercelHost is Vercel's api/index.go and api/cron/reconcile.go, called
// as go-bridge calls them.
func vercelHost(t *testing.T, settings map[string]string) host {
	app, store := newHostApp(t, hosted.Vercel, settings)
	entry := vercelfn.New(func(context.Context) (*hosted.App, error) { return app, nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	serve := func(h http.HandlerFunc, method, path string, header http.Header, body []byte) answer {
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Header = header.Clone()
		req.Header.Set("X-Real-Ip", "203.0.113.9")
		rec := httptest.NewRecorder()
		h(rec, req)
		return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
	}
	return host{name: "vercel", store: store,
		send: func(t *testing.T, method, path string, body []byte, header http.Header) answer {
			return serve(entry.API, method, path, header, body)
		},
		reconcile: func(t *testing.T, authorization string) int {
			h := http.Header{}
			if authorization != "" {
				h.Set("Authorization", authorization)
			}
			return serve(entry.Reconcile, "GET", "/api/cron/reconcile", h, nil).status
		}}
}

// TestHosts_OneFlowThroughEveryEntryPoint: the same flow — a real Stripe
// checkout (stripe-mock), a forged webhook refused with nothing changed,
// the signed webhook, the order's status, a CORS preflight — through the
// Lambda functions behind API Gateway, Netlify's function and Vercel's,
// alike; and each host's scheduled reconcile refuses a call without its
// secret (Lambda's has no HTTP entry at all: EventBridge invokes it).
func TestHosts_OneFlowThroughEveryEntryPoint(t *testing.T) {
	settings := hostSettings(map[string]string{"STRIPE_API_BASE": stripemockrun.URL(t)})
	for _, h := range []host{lambdaHost(t, settings), netlifyHost(t, settings), vercelHost(t, settings)} {
		t.Run(h.name, func(t *testing.T) {
			client := http.Header{"Origin": {shopOrigin}, "Content-Type": {"application/json"}}
			a := h.send(t, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee","quantity":2}]}`), client)
			var c struct{ OrderID, StatusToken string }
			if a.status != http.StatusCreated || json.Unmarshal(a.body, &c) != nil || a.header.Get("Access-Control-Allow-Origin") != shopOrigin {
				t.Fatalf("checkout: %d %v %s", a.status, a.header, a.body)
			}
			before, err := h.store.GetOrder(context.Background(), c.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000, SessionID: before.SessionRef}.Payload()
			sign := func(secret string) http.Header {
				s := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
				return http.Header{"Stripe-Signature": {s.Header}, "Content-Type": {"application/json; charset=utf-8"}}
			}
			if a := h.send(t, "POST", "/api/webhooks/stripe", body, sign("whsec_someone_else_0123456789")); a.status != http.StatusBadRequest {
				t.Fatalf("forged webhook: %d %s", a.status, a.body)
			}
			if after, _ := h.store.GetOrder(context.Background(), c.OrderID); after.Status != before.Status || after.Version != before.Version {
				t.Fatalf("a forged webhook changed the order: %s v%d", after.Status, after.Version)
			}
			if a := h.send(t, "POST", "/api/webhooks/stripe", body, sign(whsec)); a.status != http.StatusOK {
				t.Fatalf("webhook: %d %s", a.status, a.body)
			}
			a = h.send(t, "GET", "/api/orders/"+c.OrderID, nil, http.Header{"Authorization": {"Bearer " + c.StatusToken}, "Origin": {shopOrigin}})
			var st struct{ Status string }
			if a.status != http.StatusOK || json.Unmarshal(a.body, &st) != nil || st.Status != "paid" || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status: %d %v %s", a.status, a.header, a.body)
			}
			a = h.send(t, "OPTIONS", "/api/checkout", nil, http.Header{"Origin": {shopOrigin}, "Access-Control-Request-Method": {"POST"},
				"Access-Control-Request-Headers": {"content-type"}})
			if a.status != http.StatusNoContent || a.header.Get("Access-Control-Allow-Origin") != shopOrigin || a.header.Get("Access-Control-Max-Age") == "" {
				t.Fatalf("preflight: %d %v", a.status, a.header)
			}
			if h.reconcile == nil {
				return
			}
			for _, auth := range []string{"", "Bearer wrong-secret-0123456789", cronSecret} {
				if got := h.reconcile(t, auth); got != http.StatusForbidden {
					t.Fatalf("reconcile called with %q: %d, want 403", auth, got)
				}
			}
			right := map[string]string{"netlify": "Bearer " + manualSecret, "vercel": "Bearer " + cronSecret}[h.name]
			if got := h.reconcile(t, right); got != http.StatusOK {
				t.Fatalf("reconcile with its secret: %d", got)
			}
		})
	}
}

// TestHosts_ASlowMailServiceNeverFailsAWebhook: with no table stream, the
// effects a write owes go out before the answer — within DispatchBudget.
// A mail service slower than that leaves the receipt owed, never turns the
// webhook into a 5xx (and a redelivery); the next reconcile sends it.
func TestHosts_ASlowMailServiceNeverFailsAWebhook(t *testing.T) {
	var mu sync.Mutex
	slow, sent := true, 0
	ses := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := slow
		mu.Unlock()
		if s {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * hosted.DispatchBudget):
			}
			return
		}
		mu.Lock()
		sent++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"MessageId":"m-1"}`))
	}))
	defer ses.Close()
	t.Setenv("AWS_ENDPOINT_URL_SESV2", ses.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	settings := hostSettings(map[string]string{"STRIPE_API_BASE": stripemockrun.URL(t), "MAIL_FROM": "shop@example.com"})
	store := memstore.New(clock)
	app, err := hosted.New(context.Background(), hosted.Vercel, hosted.Options{Getenv: func(k string) string { return settings[k] },
		Catalog: testCatalog(t), Store: store, Now: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Header = header
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec
	}
	rec := serve("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee","quantity":1}],"email":"a@example.com"}`),
		http.Header{"Content-Type": {"application/json"}})
	var c struct{ OrderID string }
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &c) != nil {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	o, _ := store.GetOrder(context.Background(), c.OrderID)
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: o.ID, Amount: 2000, SessionID: o.SessionRef}.Payload()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: whsec, Timestamp: time.Now()})
	// The host's deadline shorter than the mail service is slow (Netlify's
	// function timeout falling inside the dispatch): the answer is decided
	// before any mail is waited on.
	req := httptest.NewRequest("POST", "/api/webhooks/stripe", strings.NewReader(string(body)))
	req.Header = http.Header{"Stripe-Signature": {signed.Header}, "Content-Type": {"application/json"}}
	reqCtx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, req.WithContext(reqCtx))
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook with a slow mail service: %d %s", rec.Code, rec.Body)
	}
	o, _ = store.GetOrder(context.Background(), c.OrderID)
	if o.Status != order.Paid || len(o.Outbox) == 0 || o.Outbox[0].State == order.EffectSent {
		t.Fatalf("after the webhook: %s, outbox %+v", o.Status, o.Outbox)
	}
	// The mail service is back; reconcile's sweep sends what was owed
	// (owed longer than shop.EffectsAfter, once its claim has passed).
	mu.Lock()
	slow, now = false, now.Add(10*time.Minute)
	mu.Unlock()
	if _, err := app.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	o, _ = store.GetOrder(context.Background(), c.OrderID)
	mu.Lock()
	defer mu.Unlock()
	if o.Outbox[0].State != order.EffectSent || sent != 1 {
		t.Fatalf("after reconcile: outbox %+v, %d mails sent", o.Outbox, sent)
	}
}

// TestHosts_AccessLinksAreSentAndTakeTheSameTime: with no stream, an
// access-link request owes and sends its links itself, after the answer
// is decided; and for an address that subscribes or not, the request
// waits out the same dispatch budget, so its time tells nothing.
func TestHosts_AccessLinksAreSentAndTakeTheSameTime(t *testing.T) {
	var mu sync.Mutex
	var mails []string
	ses := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		mails = append(mails, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"MessageId":"m-1"}`))
	}))
	defer ses.Close()
	t.Setenv("AWS_ENDPOINT_URL_SESV2", ses.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	settings := hostSettings(map[string]string{"MAIL_FROM": "shop@example.com"})
	app, store := newHostApp(t, hosted.Netlify, settings)
	ctx := context.Background()
	sub := startedSubscription(t, store, "sub@example.com")
	took := map[string]time.Duration{}
	for _, email := range []string{"sub@example.com", "nobody@example.com"} {
		req := httptest.NewRequest("POST", "/api/access-links", strings.NewReader(`{"email":"`+email+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hosted.Netlify.ClientIPHeader, "203.0.113.9")
		rec := httptest.NewRecorder()
		start := time.Now()
		app.ServeHTTP(rec, req.WithContext(ctx))
		took[email] = time.Since(start)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", email, rec.Code, rec.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var links []string
	for _, m := range mails {
		// The subscription's own started mail, still owed, goes out with it.
		if strings.Contains(m, `"Value":"access_link"`) {
			links = append(links, m)
		}
	}
	if len(links) != 1 || !strings.Contains(links[0], "subscription="+sub) {
		t.Fatalf("%d access-link mails of %d: %v", len(links), len(mails), links)
	}
	for email, d := range took {
		if d < hosted.DispatchBudget {
			t.Errorf("%s answered after %v, before the budget of %v", email, d, hosted.DispatchBudget)
		}
	}
}

// startedSubscription stores a subscription whose checkout completed (as
// a webhook completes it, which indexes its subscriber's address).
func startedSubscription(t *testing.T, store order.Store, email string) string {
	t.Helper()
	ctx := context.Background()
	svc := shop.New(shop.Service{Store: store})
	s := &subscription.Subscription{ID: subscription.NewID(), Gateway: "stripe", Status: subscription.Pending, SKU: "club", Name: "Jam club",
		Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd", Interval: "month", IntervalCount: 1, Email: email,
		CreatedAt: time.Now(), UpdatedAt: time.Now(), SessionRef: "cs_hosts"}
	if err := svc.Subs.CreateSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_hosts_start", Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: s.ID, SessionRef: s.SessionRef, Refs: []string{s.SessionRef, "sub_hosts"}, Created: time.Now(), Sub: &order.SubFacts{Ref: "sub_hosts"}}); err != nil {
		t.Fatal(err)
	}
	return s.ID
}
