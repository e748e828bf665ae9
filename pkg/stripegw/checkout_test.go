package stripegw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"

	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripegw"
)

var mock *stripemockrun.Server

func TestMain(m *testing.M) {
	var err error
	if mock, err = stripemockrun.Start(); err != nil {
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
		ID: order.NewID(), Gateway: "stripe", Amount: 5250, Currency: "usd", Email: "a@example.com", CreatedAt: now,
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
		"expires_at":                                    fmt.Sprint(now.Add(time.Hour).Unix()),
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
	if got, want := rec.heads[0].Get("Idempotency-Key"), "jampay-checkout-"+o.ID+"-"+want["expires_at"]; got != want {
		t.Errorf("Idempotency-Key = %q, want %q: derived from the order id and expires_at", got, want)
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

// TestCreateCheckout_ExpiresAtIsCreatedPlusTTLWithinStripesBounds: the
// session expires CHECKOUT_TTL after the order was made, never under 31
// minutes nor over 24 hours from now (Stripe refuses under 30 and over 24),
// and stripe-mock accepts every one of them.
func TestCreateCheckout_ExpiresAtIsCreatedPlusTTLWithinStripesBounds(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		ttl     time.Duration
		created time.Time
		want    time.Time
	}{
		{"default is an hour", 0, now, now.Add(time.Hour)},
		{"TTL from the order's creation", 90 * time.Minute, now.Add(-10 * time.Minute), now.Add(80 * time.Minute)},
		{"a retry late in the TTL keeps Stripe's minimum", time.Hour, now.Add(-45 * time.Minute), now.Add(31 * time.Minute)},
		{"a retry after the TTL keeps Stripe's minimum", 31 * time.Minute, now.Add(-2 * time.Hour), now.Add(31 * time.Minute)},
		{"shortest TTL", 31 * time.Minute, now, now.Add(31 * time.Minute)},
		{"too short a TTL is raised", 5 * time.Minute, now, now.Add(31 * time.Minute)},
		{"longest TTL stays inside Stripe's day", 24 * time.Hour, now, now.Add(24*time.Hour - time.Minute)},
		{"too long a TTL is cut", 72 * time.Hour, now, now.Add(24*time.Hour - time.Minute)},
		{"no creation time counts from now", 2 * time.Hour, time.Time{}, now.Add(2 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			gw := stripegw.New(stripegw.Config{
				SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: "https://shop.example.com", TTL: tc.ttl,
				HTTPClient: &http.Client{Transport: rec}, Now: func() time.Time { return now },
			})
			o := &order.Order{ID: order.NewID(), Amount: 100, Currency: "usd", CreatedAt: tc.created,
				Items: []order.LineItem{{SKU: "a", Name: "A", Quantity: 1, UnitAmount: 100}}}
			c, err := gw.CreateCheckout(context.Background(), o)
			if err != nil {
				t.Fatalf("stripe-mock rejected the session: %v", err)
			}
			if got := rec.forms[0].Get("expires_at"); got != fmt.Sprint(tc.want.Unix()) {
				t.Fatalf("expires_at = %s, want %d (%s)", got, tc.want.Unix(), tc.want.Sub(now))
			}
			if at := time.Unix(c.Deadline.Unix(), 0); at.Sub(now) < 31*time.Minute || at.Sub(now) >= 24*time.Hour {
				t.Fatalf("deadline %s from now is outside Stripe's bounds", at.Sub(now))
			}
		})
	}
}

// TestCreateCheckout_ARetryWithOtherParametersIsANewRequest: Stripe refuses
// an idempotency key reused with other parameters, so a retry late enough
// that expires_at moved uses a new key; one that sends the same parameters
// uses the same key and gets the first session back.
func TestCreateCheckout_ARetryWithOtherParametersIsANewRequest(t *testing.T) {
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	o := &order.Order{ID: order.NewID(), Amount: 100, Currency: "usd", CreatedAt: start,
		Items: []order.LineItem{{SKU: "a", Name: "A", Quantity: 1, UnitAmount: 100}}}
	key := func(at time.Time) string {
		rec := &recorder{}
		gw := stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: "https://shop.example.com",
			TTL: time.Hour, HTTPClient: &http.Client{Transport: rec}, Now: func() time.Time { return at }})
		if _, err := gw.CreateCheckout(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		return rec.heads[0].Get("Idempotency-Key")
	}
	first, soon, late := key(start), key(start.Add(10*time.Minute)), key(start.Add(45*time.Minute))
	if first != soon {
		t.Fatalf("a retry with the same parameters changed the key: %s, %s", first, soon)
	}
	if late == first {
		t.Fatalf("a retry with another expires_at reused the key %s", late)
	}
}

// TestCreateCheckout_ErrorSaysWhatStripeSaidInOneLine: a Stripe API error
// comes back as its status, type, code, parameter and request id, not
// stripe-go's JSON dump of the whole error.
func TestCreateCheckout_ErrorSaysWhatStripeSaidInOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_abc123")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"email_invalid","param":"customer_email",` +
			`"message":"Invalid email address: jane@example.com","request_log_url":"https://dashboard.stripe.com/logs/req_abc123"}}`))
	}))
	defer srv.Close()
	gw := stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: srv.URL, SiteURL: "https://shop.example.com"})
	o := &order.Order{ID: order.NewID(), Amount: 100, Currency: "usd", Email: "jane@example.com",
		Items: []order.LineItem{{SKU: "a", Name: "A", Quantity: 1, UnitAmount: 100}}}
	_, err := gw.CreateCheckout(context.Background(), o)
	if err == nil {
		t.Fatal("a 400 from Stripe was taken for a session")
	}
	want := "stripe: create checkout session: 400 invalid_request_error email_invalid (param customer_email) [req_abc123]: Invalid email address: jane@example.com"
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.Code != stripe.ErrorCodeEmailInvalid {
		t.Fatalf("the stripe.Error is not reachable with errors.As: %v", err)
	}
}
