package netlifyfn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/internal/logbuf"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/netlifyfn"
	"github.com/jampay/jampay/pkg/order"
)

var mock *stripemockrun.Server

func TestMain(m *testing.M) {
	var err error
	if mock, err = stripemockrun.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "netlifyfn tests need stripe-mock:", err)
		os.Exit(1)
	}
	code := m.Run()
	mock.Stop()
	os.Exit(code)
}

const (
	shopOrigin = "https://shop.example.com"
	whsec      = "whsec_netlify_0123456789abcdef"
)

// netlifySettings are the site's settings as Netlify's UI would hold them
// (the scope "Functions"), with stripe-mock as Stripe.
func netlifySettings(extra map[string]string) func(string) string {
	m := map[string]string{
		"TABLE_NAME": "jampay", "SITE_URL": shopOrigin, "ALLOWED_ORIGINS": shopOrigin,
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_MODE": "test", "STRIPE_WEBHOOK_SECRET": whsec,
		"STRIPE_API_BASE": mock.URL, netlifyfn.ReconcileSecretEnv: reconcileSecret,
	}
	maps.Copy(m, extra)
	return func(k string) string { return m[k] }
}

// netlifyApp is what netlify/functions/api and …/reconcile build, on an
// in-memory store.
func netlifyApp(t *testing.T, store *memstore.Store, logs *logbuf.Buffer) *hosted.App {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(`{"shopName":"Demo Shop","products":[
		{"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	app, err := hosted.New(context.Background(), hosted.Netlify, hosted.Options{
		Getenv: netlifySettings(nil), Catalog: cat, Store: store, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// netlifyEvent is the captured event in fixture, turned into another
// request of the same shape: method, path, the headers set (lower-case,
// in both header maps, as Netlify sends them) and the body, base64 when
// b64.
func netlifyEvent(t *testing.T, fixture, method, path string, headers map[string]string, body []byte, b64 bool) netlifyfn.Event {
	t.Helper()
	ev := load(t, fixture)
	ev.HTTPMethod, ev.Path, ev.RawQuery = method, path, ""
	ev.MultiValueQueryStringParameters, ev.QueryStringParameters = nil, nil
	ev.RawURL = "https://shop.example.com" + path
	ev.Headers, ev.MultiValueHeaders = maps.Clone(ev.Headers), maps.Clone(ev.MultiValueHeaders)
	for k, v := range headers {
		k = strings.ToLower(k)
		ev.Headers[k], ev.MultiValueHeaders[k] = v, []string{v}
	}
	ev.Body, ev.IsBase64Encoded = string(body), b64
	if b64 {
		ev.Body = base64.StdEncoding.EncodeToString(body)
	}
	return ev
}

func invoke(t *testing.T, h func(context.Context, netlifyfn.Event) (events.APIGatewayProxyResponse, error), ev netlifyfn.Event) (events.APIGatewayProxyResponse, map[string]any) {
	t.Helper()
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("%d: not JSON: %s", resp.StatusCode, resp.Body)
		}
	}
	return resp, body
}

// The api function end to end through Netlify's event shapes: a checkout
// (stripe-mock is Stripe), the Stripe webhook with its body base64 as
// Netlify may pass it, the status, a CORS preflight and a forged webhook
// that changes nothing; then the reconcile function, refusing calls
// without its secret and running for the scheduler.
func TestNetlify_EndToEnd(t *testing.T) {
	ctx := context.Background()
	store := memstore.New(time.Now)
	var logs logbuf.Buffer
	app := netlifyApp(t, store, &logs)
	api := netlifyfn.Handler(app)

	// A checkout through the rewrite.
	resp, body := invoke(t, api, netlifyEvent(t, "dev-checkout.json", "POST", "/api/checkout",
		map[string]string{"Content-Type": "application/json", "Origin": shopOrigin, "X-Nf-Client-Connection-Ip": "203.0.113.7"},
		[]byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}],"email":"a@example.com"}`), false))
	if resp.StatusCode != 201 || resp.Headers["Access-Control-Allow-Origin"] != shopOrigin || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("checkout: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	orderID, _ := body["orderId"].(string)
	token, _ := body["statusToken"].(string)
	if body["amount"] != 4000.0 || orderID == "" || token == "" {
		t.Fatalf("checkout: %s", resp.Body)
	}
	o, err := store.GetOrder(ctx, orderID)
	if err != nil || o.SessionRef == "" {
		t.Fatalf("order %+v: %v", o, err)
	}

	// Stripe's webhook, its body base64 in the event, signed with
	// stripe-go's own signer.
	paid, err := payloads.Stripe{Type: "checkout.session.completed", OrderID: orderID, SessionID: o.SessionRef, Amount: 4000}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	webhook := func(body []byte, secret string) (events.APIGatewayProxyResponse, map[string]any) {
		return invoke(t, api, netlifyEvent(t, "dev-binary-body.json", "POST", "/api/webhooks/stripe", map[string]string{
			"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": payloads.StripeSignature(body, secret, time.Time{}),
		}, body, true))
	}
	if resp, _ := webhook(paid, whsec); resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
	}

	// The status, through the rewrite and by the function's own URL.
	for _, path := range []string{"/api/orders/" + orderID, netlifyfn.FunctionPath + "/orders/" + orderID} {
		resp, body = invoke(t, api, netlifyEvent(t, "dev-status.json", "GET", path,
			map[string]string{"Authorization": "Bearer " + token, "Origin": shopOrigin}, nil, true))
		if resp.StatusCode != 200 || body["status"] != string(order.Paid) {
			t.Fatalf("status at %s: %d %s", path, resp.StatusCode, resp.Body)
		}
	}

	// A CORS preflight as Netlify passes it (no body, isBase64Encoded).
	resp, _ = invoke(t, api, load(t, "dev-preflight.json"))
	if resp.StatusCode != 204 || resp.Headers["Access-Control-Allow-Origin"] != shopOrigin || resp.Headers["Access-Control-Max-Age"] == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Headers)
	}
	other := netlifyEvent(t, "dev-preflight.json", "OPTIONS", "/api/checkout", map[string]string{"Origin": "https://evil.example"}, nil, true)
	if resp, _ = invoke(t, api, other); resp.Headers["Access-Control-Allow-Origin"] != "" {
		t.Fatalf("preflight from another origin: %d %v", resp.StatusCode, resp.Headers)
	}

	// A forged refund: 400, and the order is as it was.
	before, _ := store.GetOrder(ctx, orderID)
	refund, err := payloads.Stripe{Type: "charge.refunded", OrderID: orderID, SessionID: o.SessionRef, Amount: 4000, Refunded: 4000}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	resp, body = webhook(refund, "whsec_forged_0123456789abcdef")
	if errBody, _ := body["error"].(map[string]any); resp.StatusCode != 400 || errBody["code"] != "invalid_signature" {
		t.Fatalf("forgery: %d %s", resp.StatusCode, resp.Body)
	}
	if after, _ := store.GetOrder(ctx, orderID); after.Status != order.Paid || after.Version != before.Version {
		t.Fatalf("a forgery moved the order: %s v%d → %s v%d", before.Status, before.Version, after.Status, after.Version)
	}

	// The reconcile function: refused without its secret and with a wrong
	// one, run for the scheduler's call.
	reconcile, err := netlifyfn.Scheduled(app, netlifySettings(nil), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for name, ev := range map[string]netlifyfn.Event{
		"no secret":    netlifyEvent(t, "dev-direct-status.json", "POST", "/.netlify/functions/reconcile", nil, nil, true),
		"wrong secret": netlifyEvent(t, "dev-direct-status.json", "POST", "/.netlify/functions/reconcile", map[string]string{"Authorization": "Bearer " + reconcileSecret + "-not"}, nil, true),
	} {
		if resp, _ := invoke(t, reconcile, ev); resp.StatusCode != 403 {
			t.Fatalf("reconcile, %s: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
	if strings.Contains(logs.String(), `"msg":"reconcile"`) {
		t.Fatalf("a refused call ran reconcile: %s", logs.String())
	}
	resp, body = invoke(t, reconcile, load(t, "dev-schedule.json"))
	if resp.StatusCode != 200 || body["open"] == nil {
		t.Fatalf("reconcile for the scheduler: %d %s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(logs.String(), `"msg":"reconcile"`) {
		t.Fatalf("no reconcile ran: %s", logs.String())
	}
	for _, secret := range []string{whsec, reconcileSecret, token} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a secret or token is in the log")
		}
	}
}
