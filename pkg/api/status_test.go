package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jampay/jampay/pkg/order"
)

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func TestStatus_RightToken(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	r := e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(c.StatusToken))
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
	}
	m := r.json(t)
	items, _ := m["items"].([]any)
	first, _ := items[0].(map[string]any)
	if m["orderId"] != c.OrderID || m["status"] != "pending" || m["amount"] != 4000.0 || m["currency"] != "usd" ||
		m["failureReason"] != nil || m["updatedAt"] == "" || first["sku"] != "tee-m" || first["name"] != "T-shirt (M)" ||
		first["quantity"] != 2.0 || first["unitAmount"] != 2000.0 {
		t.Fatalf("body = %s", r.Body)
	}
	if _, hasToken := m["statusToken"]; hasToken {
		t.Fatal("status response repeats the token")
	}
}

// TestStatus_WrongTokenAndUnknownOrderAreIndistinguishable: same status,
// same headers that matter, byte-identical bodies.
func TestStatus_WrongTokenAndUnknownOrderAreIndistinguishable(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"mug","quantity":1}]`)
	// One character changed (a random token starts with 'x' one time in 64).
	wrong := "x" + c.StatusToken[1:]
	if wrong == c.StatusToken {
		wrong = "y" + c.StatusToken[1:]
	}
	answers := map[string]response{
		"wrong token":     e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(wrong)),
		"no token":        e.do("GET", "/api/orders/"+c.OrderID, nil, nil),
		"not bearer":      e.do("GET", "/api/orders/"+c.OrderID, nil, http.Header{"Authorization": {c.StatusToken}}),
		"unknown id":      e.do("GET", "/api/orders/"+order.NewID(), nil, bearer(c.StatusToken)),
		"malformed id":    e.do("GET", "/api/orders/..%2f..%2fetc", nil, bearer(c.StatusToken)),
		"another's token": e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(e.checkout("stripe", `[{"sku":"mug","quantity":1}]`).StatusToken)),
	}
	want := answers["unknown id"]
	if want.Status != 404 || want.errorCode(t) != "order_not_found" {
		t.Fatalf("unknown id: %d %s", want.Status, want.Body)
	}
	for name, r := range answers {
		if r.Status != want.Status || !bytes.Equal(r.Body, want.Body) || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %q differs from unknown id's %d %q", name, r.Status, r.Body, want.Status, want.Body)
		}
	}
}

type failingReads struct{ order.Store }

func (failingReads) GetOrder(context.Context, string) (*order.Order, error) {
	return nil, &order.StoreError{Err: errors.New("timeout")}
}

func TestStatus_StoreFailureIs503(t *testing.T) {
	h := newHandlerWithStore(t, failingReads{}, nil)
	r := doWith(t, h, "GET", "/api/orders/"+order.NewID(), nil, bearer("t"))
	if r.Status != 503 || r.errorCode(t) != "store_unavailable" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestRoutes_UnknownAndWrongMethod(t *testing.T) {
	e := newEnv(t, memory)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/nothing"}, {"DELETE", "/api/orders/" + order.NewID()}, {"GET", "/api/checkout"},
		{"POST", "/api/webhooks/paypal"},
	} {
		r := e.do(tc.method, tc.path, []byte("{}"), jsonHeader)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.Status, r.Body)
		}
		r.errorCode(t)
	}
}
