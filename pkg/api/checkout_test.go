package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jampay/jampay/internal/logbuf"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripegw"
)

func TestCheckout_CreatesOrderBeforeGatewayAndPricesFromCatalog(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnvWith(t, kind, true)
			c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2},{"sku":"mug","quantity":1}]`)
			if c.Amount != 5250 || c.Currency != "usd" || c.Gateway != "stripe" || !order.ValidID(c.OrderID) || len(c.StatusToken) < 40 {
				t.Fatalf("201 body = %+v", c)
			}
			var co struct{ URL string }
			if err := json.Unmarshal(c.Checkout, &co); err != nil || !strings.HasPrefix(co.URL, "https://") {
				t.Fatalf("checkout = %s", c.Checkout)
			}
			o := e.get(c.OrderID)
			if o.Status != order.Pending || o.Amount != 5250 || !strings.HasPrefix(o.SessionRef, "cs_") || o.TokenHash != order.HashToken(c.StatusToken) {
				t.Fatalf("stored order = %+v", o)
			}
			if found, err := e.store.FindByRef(context.Background(), "stripe", o.SessionRef); err != nil || found.ID != o.ID {
				t.Fatalf("order not indexed by its session: %v", err)
			}
		})
	}
}

func TestCheckout_PriceTamperingChangesNothing(t *testing.T) {
	e := newEnv(t, memory)
	for _, body := range []string{
		`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1,"unitAmount":1,"price":1,"amount":1}],"amount":1,"total":1,"currency":"jpy"}`,
		`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1,"price_data":{"unit_amount":1}}],"unitAmount":1}`,
	} {
		r := e.do("POST", "/api/checkout", []byte(body), jsonHeader)
		var c created
		_ = json.Unmarshal(r.Body, &c)
		if r.Status != http.StatusCreated || c.Amount != 2000 || c.Currency != "usd" {
			t.Fatalf("%s → %d %s", body, r.Status, r.Body)
		}
		if o := e.get(c.OrderID); o.Amount != 2000 || o.Items[0].UnitAmount != 2000 {
			t.Fatalf("stored %+v", o)
		}
	}
}

func TestCheckout_ZeroDecimalCurrency(t *testing.T) {
	e := newEnv(t, memory)
	if c := e.checkout("stripe", `[{"sku":"tea-jp","quantity":3}]`); c.Amount != 4500 || c.Currency != "jpy" {
		t.Fatalf("jpy checkout = %+v", c)
	}
}

func TestCheckout_Errors(t *testing.T) {
	e := newEnv(t, memory)
	big := `{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1}],"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"invalid json", `{"gateway":`, "application/json", 400, "invalid_json"},
		{"wrong type", `{"gateway":"stripe","items":"tee-m"}`, "application/json", 400, "invalid_json"},
		{"two values", `{"gateway":"stripe","items":[]} {}`, "application/json", 400, "invalid_json"},
		{"empty body", ``, "application/json", 400, "invalid_json"},
		{"unknown sku", `{"gateway":"stripe","items":[{"sku":"nope","quantity":1}]}`, "application/json", 400, "unknown_sku"},
		{"zero quantity", `{"gateway":"stripe","items":[{"sku":"mug","quantity":0}]}`, "application/json", 400, "invalid_quantity"},
		{"fractional quantity", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1.5}]}`, "application/json", 400, "invalid_quantity"},
		{"huge quantity", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1e30}]}`, "application/json", 400, "invalid_quantity"},
		{"empty cart", `{"gateway":"stripe","items":[]}`, "application/json", 400, "empty_cart"},
		{"mixed currency", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1},{"sku":"tea-jp","quantity":1}]}`, "application/json", 400, "mixed_currency"},
		{"unknown gateway", `{"gateway":"paypal","items":[{"sku":"mug","quantity":1}]}`, "application/json", 400, "unknown_gateway"},
		{"no gateway", `{"items":[{"sku":"mug","quantity":1}]}`, "application/json", 400, "unknown_gateway"},
		{"bad email", `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}],"email":"not an email"}`, "application/json", 400, "invalid_email"},
		{"form body", `gateway=fake`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no content type", `{}`, "", 415, "unsupported_media_type"},
		{"too large", big, "application/json", 413, "body_too_large"},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.ctype != "" {
			h.Set("Content-Type", tc.ctype)
		}
		r := e.do("POST", "/api/checkout", []byte(tc.body), h)
		if r.Status != tc.status || r.errorCode(t) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
		}
	}
	if n := e.gw.calls.Load(); n != 0 {
		t.Fatalf("bad requests reached the gateway %d times", n)
	}
}

func TestCheckout_IdempotencyKey(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"3f0c8a0e-double-click-0001"}}
			body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1},{"sku":"tee-m","quantity":1}]}`)
			first := e.do("POST", "/api/checkout", body, h)
			// The same cart, lines in another order: the same request.
			again := e.do("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1},{"sku":"mug","quantity":1}]}`), h)
			if first.Status != 201 || again.Status != 201 || string(first.Body) != string(again.Body) {
				t.Fatalf("replay differs:\n%d %s\n%d %s", first.Status, first.Body, again.Status, again.Body)
			}
			if n := e.gw.calls.Load(); n != 1 {
				t.Fatalf("double click called the gateway %d times", n)
			}
			other := e.do("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":2}]}`), h)
			if other.Status != 409 || other.errorCode(t) != "idempotency_key_reused" {
				t.Fatalf("key reuse with another body: %d %s", other.Status, other.Body)
			}
			short := e.do("POST", "/api/checkout", body, http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"1"}})
			if short.Status != 400 || short.errorCode(t) != "invalid_idempotency_key" {
				t.Fatalf("weak key: %d %s", short.Status, short.Body)
			}
		})
	}
}

// TestCheckout_ReplayAfter502TriesTheGatewayAgainForTheSameOrder: the
// order is recorded with the failure; a retry with the same key asks the
// gateway again for that same order and answers the token whose hash the
// order holds.
func TestCheckout_ReplayAfter502TriesTheGatewayAgainForTheSameOrder(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.gw.fail.Store(true)
			h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"retry-after-gateway-error-01"}}
			body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
			r := e.do("POST", "/api/checkout", body, h)
			if r.Status != 502 || r.errorCode(t) != "gateway_error" {
				t.Fatalf("gateway failure: %d %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "timed out") {
				t.Fatalf("gateway's error leaked to the client: %s", r.Body)
			}
			var failedID string
			e.gw.lastOrders(func(id string) { failedID = id })
			if o := e.get(failedID); o.GatewayError == "" || o.Checkout != "" {
				t.Fatalf("the failure is not recorded on the order: %+v", o)
			}
			e.gw.fail.Store(false)
			again := e.do("POST", "/api/checkout", body, h)
			var c created
			mustJSON(t, again.Body, &c)
			if again.Status != 201 || c.OrderID != failedID || e.gw.calls.Load() != 2 {
				t.Fatalf("retry: %d %s (gateway asked %d times, first for %s)", again.Status, again.Body, e.gw.calls.Load(), failedID)
			}
			o := e.get(c.OrderID)
			if o.Checkout == "" || o.GatewayError != "" || o.Status != order.Pending || !order.TokenMatches(o, c.StatusToken) {
				t.Fatalf("after retry: %+v", o)
			}
			if third := e.do("POST", "/api/checkout", body, h); string(third.Body) != string(again.Body) || e.gw.calls.Load() != 2 {
				t.Fatalf("a replay after the checkout was made asked the gateway again: %s", third.Body)
			}
		})
	}
}

// TestCheckout_ReplayOpensTheSealedTokenAndNoOtherKeyDoes: the token comes
// back on a replay from the copy sealed with the key; the record holds it
// only sealed; the same sealed copy stored under another key (as someone
// holding a copy of the table could place it) opens for no one.
func TestCheckout_ReplayOpensTheSealedTokenAndNoOtherKeyDoes(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			const key, otherKey = "3f0c8a0e-sealed-token-0001", "3f0c8a0e-sealed-token-0002"
			body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
			first := e.do("POST", "/api/checkout", body, idemHeader(key))
			var c created
			mustJSON(t, first.Body, &c)
			if first.Status != 201 {
				t.Fatalf("%d %s", first.Status, first.Body)
			}
			if again := e.do("POST", "/api/checkout", body, idemHeader(key)); again.Status != 201 || string(again.Body) != string(first.Body) {
				t.Fatalf("replay: %d %s", again.Status, again.Body)
			}
			if r := e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(c.StatusToken)); r.Status != 200 {
				t.Fatalf("the replayed token does not open the order: %d", r.Status)
			}
			rec := storedKey(t, e.store, key)
			if rec.OrderID != c.OrderID || len(rec.SealedToken) == 0 || bytes.Contains(rec.SealedToken, []byte(c.StatusToken)) {
				t.Fatalf("stored record %+v: want the token sealed, not in clear", rec)
			}
			copied := *rec
			copied.KeyHash = sha256Hex(otherKey)
			if _, err := e.store.ClaimIdempotencyKey(context.Background(), copied); err != nil {
				t.Fatal(err)
			}
			r := e.do("POST", "/api/checkout", body, idemHeader(otherKey))
			if r.Status == 201 || strings.Contains(string(r.Body), c.StatusToken) {
				t.Fatalf("another key opened the sealed token: %d %s", r.Status, r.Body)
			}
			if r.Status != 409 || r.errorCode(t) != "idempotency_key_reused" {
				t.Fatalf("another key: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestCheckout_StatusTokenIsRandomNotDerivedFromTheKey: the same key and
// the same order id, on two stores, give two unrelated tokens. (Each store
// holds a claim of the key for that order id that never got its order, as
// a request that died after claiming leaves it.)
func TestCheckout_StatusTokenIsRandomNotDerivedFromTheKey(t *testing.T) {
	const key = "easy-key-16-char"
	body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
	probe := newEnv(t, memory)
	probe.do("POST", "/api/checkout", body, idemHeader("probe-for-the-request-hash"))
	requestHash := storedKey(t, probe.store, "probe-for-the-request-hash").RequestHash
	orderID := order.NewID()
	var tokens []string
	for _, kind := range stores {
		e := newEnv(t, kind)
		claimed := time.Now().Add(-time.Minute)
		if _, err := e.store.ClaimIdempotencyKey(context.Background(), order.IdempotencyRecord{
			KeyHash: sha256Hex(key), RequestHash: requestHash, OrderID: orderID, CreatedAt: claimed, ExpiresAt: claimed.Add(24 * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/api/checkout", body, idemHeader(key))
		var c created
		mustJSON(t, r.Body, &c)
		if r.Status != 201 || c.OrderID != orderID {
			t.Fatalf("%s: %d %s, want order %s", kind, r.Status, r.Body, orderID)
		}
		if again := e.do("POST", "/api/checkout", body, idemHeader(key)); again.Status != 201 && !strings.Contains(string(again.Body), "idempotency_key_reused") {
			t.Fatalf("%s: replay %d %s", kind, again.Status, again.Body)
		}
		tokens = append(tokens, c.StatusToken)
	}
	if tokens[0] == tokens[1] {
		t.Fatal("one key and one order id made the same status token twice: it is derived, not random")
	}
}

// blockingGateway holds every checkout until released.
type blockingGateway struct {
	fakeGateway
	started chan struct{}
	release chan struct{}
}

func (g *blockingGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	g.started <- struct{}{}
	<-g.release
	return g.fakeGateway.CreateCheckout(ctx, o)
}

// TestCheckout_SameKeyWhileTheFirstIsInFlightIsRequestInProgress: a
// second request with the key while the first is still with the gateway is
// 409 request_in_progress, and makes nothing; once the first answers, the
// key replays it.
func TestCheckout_SameKeyWhileTheFirstIsInFlightIsRequestInProgress(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			store := newStore(t, kind)
			gw := &blockingGateway{started: make(chan struct{}, 1), release: make(chan struct{})}
			h := api.Handler(api.Deps{Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": gw}, Logger: quietLogger()})
			body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
			done := make(chan response, 1)
			go func() { done <- doWith(t, h, "POST", "/api/checkout", body, idemHeader("in-flight-key-00000001")) }()
			<-gw.started
			second := make(chan response, 1)
			go func() { second <- doWith(t, h, "POST", "/api/checkout", body, idemHeader("in-flight-key-00000001")) }()
			var r response
			select {
			case r = <-second:
			case <-time.After(5 * time.Second):
				close(gw.release)
				t.Fatal("the second request went to the gateway while the first was there")
			}
			close(gw.release)
			first := <-done
			if r.Status != 409 || r.errorCode(t) != "request_in_progress" {
				t.Fatalf("second request while the first is in flight: %d %s", r.Status, r.Body)
			}
			if first.Status != 201 || gw.calls.Load() != 1 {
				t.Fatalf("first: %d %s, gateway asked %d times", first.Status, first.Body, gw.calls.Load())
			}
			if again := doWith(t, h, "POST", "/api/checkout", body, idemHeader("in-flight-key-00000001")); string(again.Body) != string(first.Body) {
				t.Fatalf("replay after the first answered: %d %s", again.Status, again.Body)
			}
		})
	}
}

func idemHeader(key string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// storedKey reads the record a key was claimed with: claiming it again
// returns it.
func storedKey(t *testing.T, s order.Store, key string) *order.IdempotencyRecord {
	t.Helper()
	now := time.Now()
	rec, err := s.ClaimIdempotencyKey(context.Background(), order.IdempotencyRecord{KeyHash: sha256Hex(key), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if !errors.Is(err, order.ErrIdempotencyKeyExists) {
		t.Fatalf("key %q was not claimed: %v", key, err)
	}
	return rec
}

// TestCheckout_TrailingDataIsInvalidJSON: the body is one JSON value and
// nothing after it but whitespace.
func TestCheckout_TrailingDataIsInvalidJSON(t *testing.T) {
	e := newEnv(t, memory)
	const v = `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`
	for _, tail := range []string{" x", "{}", v, " ]", "]", "}", " }", "1", ",", `""`, "\n\t null", "\x00"} {
		r := e.do("POST", "/api/checkout", []byte(v+tail), jsonHeader)
		if r.Status != 400 || r.errorCode(t) != "invalid_json" {
			t.Errorf("value then %q: %d %s", tail, r.Status, r.Body)
		}
	}
	if n := e.gw.calls.Load(); n != 0 {
		t.Fatalf("a body with trailing data made %d checkouts", n)
	}
	if r := e.do("POST", "/api/checkout", []byte(" \r\n"+v+" \r\n\t "), jsonHeader); r.Status != 201 {
		t.Fatalf("whitespace around the value: %d %s", r.Status, r.Body)
	}
}

// TestAPI_EveryResponseIsNoStore: no answer of the API, success or error,
// may be kept by a browser or a cache; the 201 carries the status token.
func TestAPI_EveryResponseIsNoStore(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"mug","quantity":1}]`)
	failing := newEnv(t, memory)
	failing.gw.fail.Store(true)
	co := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
	cases := []struct {
		name         string
		env          *env
		method, path string
		body         []byte
		header       http.Header
		status       int
	}{
		{"checkout", e, "POST", "/api/checkout", co, jsonHeader, 201},
		{"replay", e, "POST", "/api/checkout", co, idemHeader("no-store-replay-key-01"), 201},
		{"invalid json", e, "POST", "/api/checkout", []byte(`{`), jsonHeader, 400},
		{"key reused", e, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":2}]}`), idemHeader("no-store-replay-key-01"), 409},
		{"too large", e, "POST", "/api/checkout", bytes.Repeat([]byte(" "), 65<<10), jsonHeader, 413},
		{"media type", e, "POST", "/api/checkout", co, nil, 415},
		{"gateway error", failing, "POST", "/api/checkout", co, jsonHeader, 502},
		{"status", e, "GET", "/api/orders/" + c.OrderID, nil, bearer(c.StatusToken), 200},
		{"status, wrong token", e, "GET", "/api/orders/" + c.OrderID, nil, bearer("nope"), 404},
		{"webhook, bad signature", e, "POST", "/api/webhooks/stripe", []byte(`{}`), http.Header{"Stripe-Signature": {"t=1,v1=00"}}, 400},
		{"no such route", e, "GET", "/api/nothing", nil, nil, 404},
		{"method", e, "DELETE", "/api/checkout", nil, nil, 405},
		{"preflight", e, "OPTIONS", "/api/checkout", nil, http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"}}, 204},
		{"preflight, other origin", e, "OPTIONS", "/api/checkout", nil, http.Header{"Origin": {"https://evil.example"}}, 403},
	}
	for _, tc := range cases {
		r := tc.env.do(tc.method, tc.path, tc.body, tc.header)
		if r.Status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.status)
		}
		if got := r.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tc.name, got)
		}
	}
}

// emailEcho fails every checkout with an error quoting the request, as
// Stripe's invalid_request_error quotes the customer_email it refuses.
type emailEcho struct{}

func (emailEcho) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	return order.Checkout{}, fmt.Errorf(`stripe: 400 invalid_request_error email_invalid (param customer_email): Invalid email address: %s; sent {"customer_email":"%s","note":"x<%s>"}`,
		o.Email, o.Email, strings.ToUpper(o.Email))
}

// TestCheckout_GatewayErrorLogsNoEmail: what a gateway says back can quote
// the customer's email; the log line and the order's recorded error carry
// the rest of it, never the address.
func TestCheckout_GatewayErrorLogsNoEmail(t *testing.T) {
	stripeErr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = fmt.Fprintf(w, `{"error":{"type":"invalid_request_error","code":"email_invalid","param":"customer_email","message":"Invalid email address: %s"}}`, r.PostForm.Get("customer_email"))
	}))
	defer stripeErr.Close()
	email := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	for name, gw := range map[string]api.Gateway{
		"fake":   emailEcho{},
		"stripe": stripegw.New(stripegw.Config{SecretKey: "sk_test_1", APIBase: stripeErr.URL, SiteURL: origin}),
	} {
		t.Run(name, func(t *testing.T) {
			var logged logbuf.Buffer
			store := newStore(t, memory)
			h := api.Handler(api.Deps{Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": gw},
				Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
			r := doWith(t, h, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}],"email":"jane.doe+shop@example.co.uk"}`), jsonHeader)
			if r.Status != 502 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			out := logged.String()
			if !strings.Contains(out, `"msg":"gateway error"`) || !strings.Contains(out, "email_invalid") {
				t.Fatalf("the gateway error was not logged with its code:\n%s", out)
			}
			if m := email.FindString(out); m != "" || strings.Contains(strings.ToLower(out), "jane.doe") {
				t.Fatalf("an email address reached the log (%q):\n%s", m, out)
			}
			var id string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var l struct {
					Msg     string `json:"msg"`
					OrderID string `json:"order_id"`
				}
				_ = json.Unmarshal([]byte(line), &l)
				if l.Msg == "gateway error" {
					id = l.OrderID
				}
			}
			o, err := store.GetOrder(context.Background(), id)
			if err != nil {
				t.Fatalf("order %q: %v", id, err)
			}
			if o.GatewayError == "" || email.MatchString(o.GatewayError) || strings.Contains(strings.ToLower(o.GatewayError), "jane.doe") {
				t.Fatalf("recorded gateway error %q", o.GatewayError)
			}
		})
	}
}

// failingStore fails every write, as DynamoDB does when throttled or down.
type failingStore struct{ order.Store }

func (failingStore) CreateOrder(context.Context, *order.Order) error {
	return &order.StoreError{Err: errors.New("ProvisionedThroughputExceeded")}
}

func TestCheckout_StoreFailureIs503AndGatewayUntouched(t *testing.T) {
	e := newEnv(t, memory)
	h := newHandlerWithStore(t, failingStore{e.store}, e.gw)
	r := doWith(t, h, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`), jsonHeader)
	if r.Status != 503 || r.errorCode(t) != "store_unavailable" || strings.Contains(string(r.Body), "Provisioned") {
		t.Fatalf("store failure: %d %s", r.Status, r.Body)
	}
	if e.gw.calls.Load() != 0 {
		t.Fatal("the gateway was called for an order that was never stored")
	}
}

// sameRefGateway answers every checkout with one session id, as a gateway
// bug (or a test double reused across orders) would.
type sameRefGateway struct{}

func (sameRefGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	return order.Checkout{SessionRef: "cs_same", Data: []byte(`{"url":"https://checkout.example/cs_same"}`)}, nil
}

// TestCheckout_SessionRefTakenStillAnswers201: a session id already indexed
// for another order is recorded without its index, not answered as an
// internal error, and the index stays with the first order.
func TestCheckout_SessionRefTakenStillAnswers201(t *testing.T) {
	store := newStore(t, memory)
	h := api.Handler(api.Deps{Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": sameRefGateway{}}, Logger: quietLogger()})
	var ids []string
	for i := 0; i < 2; i++ {
		r := doWith(t, h, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`), jsonHeader)
		if r.Status != 201 {
			t.Fatalf("checkout %d: %d %s", i+1, r.Status, r.Body)
		}
		var c created
		mustJSON(t, r.Body, &c)
		ids = append(ids, c.OrderID)
	}
	if owner, err := store.FindByRef(context.Background(), "stripe", "cs_same"); err != nil || owner.ID != ids[0] {
		t.Fatalf("the ref moved to another order: %v %v", owner, err)
	}
}
