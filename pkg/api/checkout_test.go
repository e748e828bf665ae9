package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/order"
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

func TestCheckout_GatewayFailureKeepsTheOrder(t *testing.T) {
	e := newEnv(t, memory)
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
	// The order is recorded with the failure; a retry with the same key
	// makes the checkout for the same order.
	e.gw.fail.Store(false)
	again := e.do("POST", "/api/checkout", body, h)
	var c created
	_ = json.Unmarshal(again.Body, &c)
	if again.Status != 201 {
		t.Fatalf("retry: %d %s", again.Status, again.Body)
	}
	o := e.get(c.OrderID)
	if o.Checkout == "" || o.GatewayError != "" || o.Status != order.Pending {
		t.Fatalf("after retry: %+v", o)
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
