package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/jampay/jampay/internal/logbuf"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripeverify"
)

var (
	local *ddblocal.Server
	mock  *stripemockrun.Server
	// logs collects every log line the handlers write in this package's
	// tests, so TestLogs_NoSecrets can read them all.
	logs logbuf.Buffer
)

func TestMain(m *testing.M) {
	var err error
	if local, err = ddblocal.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "api tests need DynamoDB Local:", err)
		os.Exit(1)
	}
	if mock, err = stripemockrun.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "api tests need stripe-mock:", err)
		os.Exit(1)
	}
	code := m.Run()
	local.Stop()
	mock.Stop()
	os.Exit(code)
}

const (
	whsec     = "whsec_test_jampay_current"
	whsecNext = "whsec_test_jampay_next"
	origin    = "https://shop.example.com"

	rzpSecret, rzpSecretNext = "rzp_test_webhook_current", "rzp_test_webhook_next"
)

const testCatalog = `{"shopName":"Test Shop","products":[
 {"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"},
 {"sku":"mug","name":"Mug","unitAmount":1250,"currency":"usd"},
 {"sku":"tea-jp","name":"Matcha","unitAmount":1500,"currency":"jpy"},
 {"sku":"sticker-in","name":"Stickers","unitAmount":19900,"currency":"inr"}]}`

// fakeGateway stands in for a gateway in handler tests that are about the
// handler; the Stripe adapter itself is tested against stripe-mock.
type fakeGateway struct {
	fail  atomic.Bool
	calls atomic.Int64
	mu    sync.Mutex
	ids   []string
}

func (g *fakeGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	g.calls.Add(1)
	g.mu.Lock()
	g.ids = append(g.ids, o.ID)
	g.mu.Unlock()
	if g.fail.Load() {
		return order.Checkout{}, fmt.Errorf("gateway timed out")
	}
	data, _ := json.Marshal(map[string]string{"url": "https://checkout.example/" + o.ID})
	return order.Checkout{SessionRef: "cs_test_" + o.ID[4:], Data: data, Deadline: time.Now().Add(30 * time.Minute)}, nil
}

type env struct {
	t       *testing.T
	h       http.Handler
	store   order.Store
	gw      *fakeGateway
	effects atomic.Int64
	moves   sync.Map // order id → []order.Status reached by won moves
}

type storeKind string

const (
	memory   storeKind = "memory"
	dynamodb storeKind = "dynamodb"
)

var stores = []storeKind{memory, dynamodb}

func newStore(t *testing.T, kind storeKind) order.Store {
	if kind == dynamodb {
		client := local.Client(t)
		return dynamostore.New(client, local.NewTable(t, client), time.Now)
	}
	return memstore.New(time.Now)
}

// newEnv builds the handler as the functions wire it, with a fake gateway.
func newEnv(t *testing.T, kind storeKind) *env { return newEnvWith(t, kind, false) }

// newEnvWith builds the handler; with realStripe the "stripe" gateway is
// stripegw against stripe-mock, else the fake.
func newEnvWith(t *testing.T, kind storeKind, realStripe bool) *env {
	cat, err := catalog.Parse(strings.NewReader(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: newStore(t, kind), gw: &fakeGateway{}}
	var gw api.Gateway = e.gw
	if realStripe {
		gw = stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: origin})
	}
	e.h = api.Handler(api.Deps{
		Store:    e.store,
		Catalog:  cat,
		Gateways: map[string]api.Gateway{"stripe": gw, "razorpay": e.gw},
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{whsec, whsecNext}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{rzpSecret, rzpSecretNext}},
		},
		AllowedOrigins: []string{origin},
		Effects: func(ctx context.Context, before, after order.Order) {
			e.effects.Add(1)
			prev, _ := e.moves.Load(after.ID)
			list, _ := prev.([]order.Status)
			e.moves.Store(after.ID, append(list, after.Status))
		},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	return e
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON: %q", r.Body)
	}
	return m
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	if e == nil || e["message"] == "" {
		t.Fatalf("not a contract error: %s", r.Body)
	}
	code, _ := e["code"].(string)
	return code
}

func (e *env) do(method, path string, body []byte, header http.Header) response {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	if ct := rec.Header().Get("Content-Type"); len(b) > 0 && ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return response{rec.Code, rec.Header(), b}
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

type created struct {
	OrderID     string          `json:"orderId"`
	StatusToken string          `json:"statusToken"`
	Gateway     string          `json:"gateway"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Checkout    json.RawMessage `json:"checkout"`
}

// checkout makes an order through the handler and returns it.
func (e *env) checkout(gateway string, items string) created {
	e.t.Helper()
	r := e.do("POST", "/api/checkout", []byte(`{"gateway":"`+gateway+`","items":`+items+`}`), jsonHeader)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	var c created
	if err := json.Unmarshal(r.Body, &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) get(id string) *order.Order {
	e.t.Helper()
	o, err := e.store.GetOrder(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetOrder: %v", err)
	}
	return o
}

// stripeWebhook sends a Stripe event signed with stripe-go's own signer.
func (e *env) stripeWebhook(ev payloads.Stripe) response {
	e.t.Helper()
	if ev.SessionID == "" {
		// As Stripe does: the event is about the session checkout made.
		ev.SessionID = e.checkoutRef(ev.OrderID)
	}
	body, err := ev.Payload()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.signedStripe(body, whsec, time.Now())
}

func (e *env) signedStripe(body []byte, secret string, at time.Time) response {
	return e.do("POST", "/api/webhooks/stripe", body, http.Header{"Stripe-Signature": {payloads.StripeSignature(body, secret, at)}, "Content-Type": {"application/json; charset=utf-8"}})
}

func newHandlerWithStore(t *testing.T, s order.Store, gw api.Gateway) http.Handler {
	cat, _ := catalog.Parse(strings.NewReader(testCatalog))
	return api.Handler(api.Deps{
		Store: s, Catalog: cat, Gateways: map[string]api.Gateway{"stripe": gw},
		Webhooks: map[string]api.WebhookParser{"stripe": &stripeverify.Verifier{Secrets: []string{whsec}}},
		Logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
	})
}

func doWith(t *testing.T, h http.Handler, method, path string, body []byte, header http.Header) response {
	e := &env{t: t, h: h}
	return e.do(method, path, body, header)
}

func (e *env) signedStripeHeader(body []byte, secret string, at time.Time) http.Header {
	return http.Header{"Stripe-Signature": {payloads.StripeSignature(body, secret, at)}}
}

func headerOf(h http.Header) string { return h.Get("Stripe-Signature") }

func itoa(n int64) string { return fmt.Sprint(n) }

// razorpayWebhook sends a Razorpay event with its HMAC and event id.
// checkoutRef is the gateway checkout (session, Razorpay order) recorded
// on the order, or "" when there is none.
func (e *env) checkoutRef(orderID string) string {
	if e.store == nil || orderID == "" {
		return ""
	}
	if o, err := e.store.GetOrder(context.Background(), orderID); err == nil {
		return o.SessionRef
	}
	return ""
}

func (e *env) razorpayWebhook(ev payloads.Razorpay) response {
	e.t.Helper()
	if ev.RazorpayOrderID == "" {
		// As Razorpay does: the payment is on the order checkout made.
		ev.RazorpayOrderID = e.checkoutRef(ev.OrderID)
	}
	body, id, err := ev.Payload()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.signedRazorpay(body, id, rzpSecret)
}

func (e *env) signedRazorpay(body []byte, eventID, secret string) response {
	return e.do("POST", "/api/webhooks/razorpay", body, http.Header{
		"X-Razorpay-Signature": {razorpayhook.Sign(body, secret)}, "X-Razorpay-Event-Id": {eventID}, "Content-Type": {"application/json"},
	})
}

func mustCatalog(t *testing.T) *catalog.Catalog {
	cat, err := catalog.Parse(strings.NewReader(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func stripeMockGateway() api.Gateway {
	return stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: origin})
}

// wrapEffects rebuilds e's handler with an effects hook that also reports
// each winning write's order id and version.
func wrapEffects(t *testing.T, e *env, report func(after order.Order)) http.Handler {
	return api.Handler(api.Deps{
		Store: e.store, Catalog: mustCatalog(t),
		Gateways: map[string]api.Gateway{"stripe": e.gw, "razorpay": e.gw},
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{whsec}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{rzpSecret}},
		},
		Effects: func(ctx context.Context, before, after order.Order) {
			report(after)
			prev, _ := e.moves.Load(after.ID)
			list, _ := prev.([]order.Status)
			e.moves.Store(after.ID, append(list, after.Status))
		},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
}

// lastOrders calls fn with the id of every order the fake gateway was asked
// to check out.
func (g *fakeGateway) lastOrders(fn func(id string)) {
	g.mu.Lock()
	ids := append([]string(nil), g.ids...)
	g.mu.Unlock()
	for _, id := range ids {
		fn(id)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(&logs, nil)) }
