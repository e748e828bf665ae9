package stripegw_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripemock"
)

var mock *stripemock.Server

func TestMain(m *testing.M) {
	var err error
	if mock, err = stripemock.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "stripegw tests need stripe-mock:", err)
		os.Exit(1)
	}
	code := m.Run()
	mock.Stop()
	os.Exit(code)
}

// recorder keeps what the client sent, then lets stripe-mock judge it.
type recorder struct {
	inject string // a parameter to add, to show stripe-mock is strict
	mu     sync.Mutex
	forms  []url.Values
	heads  []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	r.forms, r.heads = append(r.forms, form), append(r.heads, req.Header.Clone())
	r.mu.Unlock()
	if r.inject != "" {
		body = append(body, "&"+r.inject...)
		req.ContentLength = int64(len(body))
	}
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	return http.DefaultTransport.RoundTrip(req)
}

func TestCreateCheckout_StripeMockAcceptsOurParameters(t *testing.T) {
	rec := &recorder{}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	gw := stripegw.New(stripegw.Config{
		SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: "https://shop.example.com/",
		HTTPClient: &http.Client{Transport: rec}, Now: func() time.Time { return now },
	})
	o := &order.Order{
		ID: order.NewID(), Gateway: "stripe", Amount: 5250, Currency: "usd", Email: "a@example.com",
		Items: []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}, {SKU: "mug", Name: "Mug", Quantity: 1, UnitAmount: 1250}},
	}
	c, err := gw.CreateCheckout(context.Background(), o)
	if err != nil {
		t.Fatalf("stripe-mock rejected the Checkout Session: %v", err)
	}
	if !strings.HasPrefix(c.SessionRef, "cs_") || !strings.Contains(string(c.Data), `"url":"https://`) {
		t.Fatalf("checkout = %+v %s", c, c.Data)
	}
	f := rec.forms[0]
	want := map[string]string{
		"mode":                "payment",
		"client_reference_id": o.ID,
		"metadata[order_id]":  o.ID,
		"payment_intent_data[metadata][order_id]": o.ID,
		"customer_email":                                "a@example.com",
		"success_url":                                   "https://shop.example.com/success.html",
		"cancel_url":                                    "https://shop.example.com/cancel.html",
		"expires_at":                                    fmt.Sprint(now.Add(30 * time.Minute).Unix()),
		"line_items[0][quantity]":                       "2",
		"line_items[0][price_data][unit_amount]":        "2000",
		"line_items[0][price_data][currency]":           "usd",
		"line_items[0][price_data][product_data][name]": "T-shirt (M)",
		"line_items[1][quantity]":                       "1",
		"line_items[1][price_data][unit_amount]":        "1250",
	}
	for k, v := range want {
		if got := f.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := rec.heads[0].Get("Idempotency-Key"); got != "jampay-checkout-"+o.ID {
		t.Errorf("Idempotency-Key = %q, want one derived from the order id", got)
	}
	if got := rec.heads[0].Get("Stripe-Version"); got != "2023-10-16" {
		t.Errorf("Stripe-Version = %q", got)
	}
}

func TestCreateCheckout_GatewayErrorsAreErrors(t *testing.T) {
	gw := stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: "http://127.0.0.1:1", SiteURL: "https://shop.example.com"})
	o := &order.Order{ID: order.NewID(), Amount: 100, Currency: "usd", Items: []order.LineItem{{SKU: "a", Name: "A", Quantity: 1, UnitAmount: 100}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := gw.CreateCheckout(ctx, o); err == nil {
		t.Fatal("unreachable Stripe gave no error")
	}
	strict := &recorder{inject: "client_reference_idd=typo"}
	bad := stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: "https://shop.example.com", HTTPClient: &http.Client{Transport: strict}})
	if _, err := bad.CreateCheckout(context.Background(), o); err == nil {
		t.Fatal("stripe-mock accepted an invalid request; the test proves nothing")
	}
}
