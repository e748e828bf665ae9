package stripegw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/subscription"
)

// The shop's ports for Stripe subscriptions are the Gateway's.
var (
	_ shop.SubscriptionGateway = (*stripegw.Gateway)(nil)
	_ shop.BillingPortal       = (*stripegw.Gateway)(nil)
)

// call is one request the client sent.
type call struct {
	Method, Path string
	Form         url.Values
	Header       http.Header
}

// calls keeps every request the client sends, then passes it on to
// stripe-mock (or the test's own front of it) to judge.
type calls struct {
	mu   sync.Mutex
	sent []call
}

func (c *calls) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	if req.Method == http.MethodGet {
		form = req.URL.Query()
	}
	c.mu.Lock()
	c.sent = append(c.sent, call{req.Method, req.URL.Path, form, req.Header.Clone()})
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (c *calls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.sent {
		out = append(out, s.Method+" "+s.Path)
	}
	return out
}

func (c *calls) at(i int) call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[i]
}

var subNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func subGateway(base string, c *calls) *stripegw.Gateway {
	return stripegw.New(stripegw.Config{
		SecretKey: "sk_test_123", APIBase: base, SiteURL: "https://shop.example.com/",
		HTTPClient: &http.Client{Transport: c}, Now: func() time.Time { return subNow },
	})
}

func club() *subscription.Subscription {
	_, hash := order.NewToken()
	return &subscription.Subscription{
		ID: subscription.NewID(), Gateway: "stripe", Status: subscription.Pending, SKU: "club-monthly", Name: "Jam club",
		Quantity: 2, UnitAmount: 900, Amount: 1800, Currency: "usd", Interval: "month", IntervalCount: 3, TrialDays: 7,
		Email: "jam@example.com", TokenHash: hash, CreatedAt: subNow,
	}
}

func TestCreateSubscriptionCheckout_StripeMockAcceptsOurParameters(t *testing.T) {
	c := &calls{}
	s := club()
	co, err := subGateway(mock.URL, c).CreateSubscriptionCheckout(context.Background(), s)
	if err != nil {
		t.Fatalf("stripe-mock rejected the Checkout Session: %v", err)
	}
	if !strings.HasPrefix(co.SessionRef, "cs_") || co.SubscriptionRef != "" || !strings.Contains(string(co.Data), `"url":"https://`) || co.Deadline.IsZero() {
		t.Fatalf("checkout = %+v %s", co, co.Data)
	}
	if got := c.list(); !slices.Equal(got, []string{"POST /v1/checkout/sessions"}) {
		t.Fatalf("calls %v", got)
	}
	sent := c.at(0)
	expires := strconv.FormatInt(subNow.Add(time.Hour).Unix(), 10)
	want := map[string]string{
		"mode":                      "subscription",
		"metadata[subscription_id]": s.ID,
		"subscription_data[metadata][subscription_id]":         s.ID,
		"subscription_data[trial_period_days]":                 "7",
		"line_items[0][quantity]":                              "2",
		"line_items[0][price_data][currency]":                  "usd",
		"line_items[0][price_data][unit_amount]":               "900",
		"line_items[0][price_data][product_data][name]":        "Jam club",
		"line_items[0][price_data][recurring][interval]":       "month",
		"line_items[0][price_data][recurring][interval_count]": "3",
		"customer_email": "jam@example.com",
		"success_url":    "https://shop.example.com/account.html?subscription=" + s.ID,
		"cancel_url":     "https://shop.example.com/cancel.html",
		"expires_at":     expires,
	}
	for k, v := range want {
		if got := sent.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for k := range sent.Form {
		if _, ok := want[k]; !ok {
			t.Errorf("sent %s=%q, which this test does not expect", k, sent.Form.Get(k))
		}
	}
	// Anyone can set client_reference_id on a Payment Link: jampay neither
	// sends nor reads it. An order's keys name no subscription.
	for _, k := range []string{"client_reference_id", "metadata[order_id]", "payment_intent_data[metadata][order_id]"} {
		if sent.Form.Has(k) {
			t.Errorf("sent %s", k)
		}
	}
	if strings.ContainsAny(sent.Form.Get("success_url"), "#") || strings.Contains(sent.Form.Get("success_url"), "token") {
		t.Errorf("success_url %q carries more than the id", sent.Form.Get("success_url"))
	}
	if got, want := sent.Header.Get("Idempotency-Key"), "jampay-subscription-"+s.ID+"-"+expires; got != want {
		t.Errorf("Idempotency-Key = %q, want %q", got, want)
	}
	if got := sent.Header.Get("Stripe-Version"); got != "2023-10-16" {
		t.Errorf("Stripe-Version = %q", got)
	}
}

// TestCreateSubscriptionCheckout_WithoutTrialOrEmail: no trial sends no
// trial_period_days, no address no customer_email, and an unset interval
// count is one interval.
func TestCreateSubscriptionCheckout_WithoutTrialOrEmail(t *testing.T) {
	c := &calls{}
	s := club()
	s.TrialDays, s.Email, s.IntervalCount = 0, "", 0
	if _, err := subGateway(mock.URL, c).CreateSubscriptionCheckout(context.Background(), s); err != nil {
		t.Fatalf("stripe-mock rejected the Checkout Session: %v", err)
	}
	f := c.at(0).Form
	if f.Has("subscription_data[trial_period_days]") || f.Has("customer_email") || f.Get("line_items[0][price_data][recurring][interval_count]") != "1" {
		t.Errorf("sent %v", f)
	}
}

// TestCreateSubscriptionCheckout_StripeMockIsStrict: stripe-mock checks
// the nested parameters' types against Stripe's OpenAPI spec, so the test
// above proves something; and the refusal is said in a line. (It refuses
// unknown names only at the top level: inside subscription_data or
// price_data the names are stripe-go's form tags, asserted above.)
func TestCreateSubscriptionCheckout_StripeMockIsStrict(t *testing.T) {
	strict := &recorder{inject: "subscription_data[trial_period_days]=seven"}
	gw := stripegw.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, SiteURL: "https://shop.example.com",
		HTTPClient: &http.Client{Transport: strict}})
	_, err := gw.CreateSubscriptionCheckout(context.Background(), club())
	if err == nil {
		t.Fatal("stripe-mock accepted an unknown parameter; the test proves nothing")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "stripe: create checkout session: 400 invalid_request_error") || strings.Contains(msg, "\n") {
		t.Errorf("error %q", msg)
	}
}

// mockSubscription is what stripehook reads of stripe-mock's subscription
// ref, the object the API answers with.
func mockSubscription(t *testing.T, method, ref string, form url.Values) stripehook.Subscription {
	t.Helper()
	req, _ := http.NewRequest(method, mock.URL+"/v1/subscriptions/"+ref, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer sk_test_123")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	read, err := stripehook.ReadSubscription(body)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return read
}

func TestCancelSubscription_AtPeriodEndAndNow(t *testing.T) {
	for _, tc := range []struct {
		atPeriodEnd bool
		method      string
		form        url.Values
	}{
		{true, "POST", url.Values{"cancel_at_period_end": {"true"}}},
		{false, "DELETE", url.Values{}},
	} {
		c := &calls{}
		s := club()
		s.SubscriptionRef, s.Status = "sub_1QJm4rB7WZ01zgkWf3Xr9sKa", subscription.Active
		e, err := subGateway(mock.URL, c).CancelSubscription(context.Background(), s, tc.atPeriodEnd)
		if err != nil {
			t.Fatalf("at period end %v: stripe-mock refused: %v", tc.atPeriodEnd, err)
		}
		if got, want := c.list(), []string{tc.method + " /v1/subscriptions/" + s.SubscriptionRef}; !slices.Equal(got, want) {
			t.Fatalf("calls %v, want %v", got, want)
		}
		if got := c.at(0).Form; !reflect.DeepEqual(got, tc.form) {
			t.Errorf("%s sent %v, want %v", tc.method, got, tc.form)
		}
		// The one mapping: the API's object reads as its webhook's would.
		facts := mockSubscription(t, tc.method, s.SubscriptionRef, tc.form).Facts
		want := order.Event{
			Gateway: "stripe", ID: "api_" + s.SubscriptionRef + "_" + strconv.FormatInt(subNow.UnixNano(), 10),
			Type: "subscription.cancel_requested", Kind: order.KindSubscription, Source: order.SourceOwner,
			OrderID: s.ID, Refs: []string{s.SubscriptionRef}, Created: subNow, Sub: &facts,
		}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("at period end %v:\n got %+v %+v\nwant %+v %+v", tc.atPeriodEnd, e, e.Sub, want, want.Sub)
		}
		if e.Sub.Ref != s.SubscriptionRef || e.Sub.Status != "active" || !e.Sub.CancelAtPeriodEnd {
			t.Errorf("snapshot %+v", e.Sub)
		}
	}
}

func TestCancelSubscription_NotStartedAsksNothing(t *testing.T) {
	c := &calls{}
	gw := subGateway(mock.URL, c)
	s := club()
	if _, err := gw.CancelSubscription(context.Background(), s, true); order.ErrorCode(err) != order.CodeNotSupported || !strings.Contains(err.Error(), "has not started") {
		t.Errorf("cancel: %v, want not_supported", err)
	}
	if _, err := gw.PortalURL(context.Background(), s, ""); order.ErrorCode(err) != order.CodeNotSupported {
		t.Errorf("portal: %v, want not_supported", err)
	}
	if got := c.list(); len(got) != 0 {
		t.Errorf("calls %v, want none", got)
	}
}

// front stands before stripe-mock: refuse answers writes as Stripe does a
// canceled subscription's, and reads pass through with change applied to
// the subscription stripe-mock answers.
func front(t *testing.T, refuse bool, change func(obj map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse && r.Method != http.MethodGet {
			w.Header().Set("Request-Id", "req_refused1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"A canceled subscription can only update its cancellation_details and metadata.","request_log_url":"https://dashboard.stripe.com/test/logs/req_refused1"}}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, mock.URL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var obj map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v1/subscriptions/") {
			change(obj)
		}
		w.WriteHeader(resp.StatusCode)
		_ = json.NewEncoder(w).Encode(obj)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCancelSubscription_AskingTwiceIsFine: Stripe refuses to cancel a
// subscription it has canceled already; the subscription read again is
// then the answer. One it has not canceled keeps the refusal, in a line.
func TestCancelSubscription_AskingTwiceIsFine(t *testing.T) {
	for _, now := range []bool{true, false} {
		c := &calls{}
		srv := front(t, true, func(o map[string]any) { o["status"], o["ended_at"] = "canceled", 1795000000 })
		s := club()
		s.SubscriptionRef = "sub_twice"
		e, err := subGateway(srv.URL, c).CancelSubscription(context.Background(), s, !now)
		if err != nil || e.Sub == nil || e.Sub.Status != "canceled" || e.OrderID != s.ID || e.Kind != order.KindSubscription {
			t.Fatalf("asked again (now %v): %+v %v", now, e, err)
		}
		if got := c.list(); len(got) != 2 || got[1] != "GET /v1/subscriptions/sub_twice" {
			t.Errorf("calls %v", got)
		}
	}
	srv := front(t, true, func(o map[string]any) {}) // stripe-mock's: active
	s := club()
	s.SubscriptionRef = "sub_refused"
	_, err := subGateway(srv.URL, &calls{}).CancelSubscription(context.Background(), s, false)
	if err == nil || err.Error() != "stripe: cancel subscription sub_refused: 400 invalid_request_error [req_refused1]: A canceled subscription can only update its cancellation_details and metadata." {
		t.Errorf("a refusal for a live subscription: %v", err)
	}
}

// TestCancelSubscription_AnotherSubscriptionsAnswerIsRefused: Stripe's
// object names, in metadata only the account's keys set, the subscription
// it belongs to; an answer for another one is not evidence for s.
func TestCancelSubscription_AnotherSubscriptionsAnswerIsRefused(t *testing.T) {
	srv := front(t, false, func(o map[string]any) { o["metadata"] = map[string]any{"subscription_id": subscription.NewID()} })
	s := club()
	s.SubscriptionRef = "sub_other"
	if e, err := subGateway(srv.URL, &calls{}).CancelSubscription(context.Background(), s, true); err == nil {
		t.Errorf("took another subscription's answer: %+v", e)
	}
	if u, err := subGateway(srv.URL, &calls{}).PortalURL(context.Background(), s, ""); err == nil {
		t.Errorf("opened the portal of another subscription's customer: %q", u)
	}
	same := front(t, false, func(o map[string]any) { o["metadata"] = map[string]any{"subscription_id": s.ID} })
	if e, err := subGateway(same.URL, &calls{}).CancelSubscription(context.Background(), s, true); err != nil || e.Sub.Ref != "sub_other" {
		t.Errorf("its own answer: %+v %v", e, err)
	}
}

func TestPortalURL_StripeMockAcceptsOurParameters(t *testing.T) {
	s := club()
	s.SubscriptionRef = "sub_1QJm4rB7WZ01zgkWf3Xr9sKa"

	c := &calls{}
	s.Customer = "cus_P9m2YtXq8RkL1a"
	u, err := subGateway(mock.URL, c).PortalURL(context.Background(), s, "https://shop.example.com/account.html")
	if err != nil || !strings.HasPrefix(u, "https://") {
		t.Fatalf("portal: %q %v", u, err)
	}
	if got := c.list(); !slices.Equal(got, []string{"POST /v1/billing_portal/sessions"}) {
		t.Fatalf("calls %v", got)
	}
	if f := c.at(0).Form; f.Get("customer") != "cus_P9m2YtXq8RkL1a" || f.Get("return_url") != "https://shop.example.com/account.html" || len(f) != 2 {
		t.Errorf("sent %v", f)
	}

	// No customer recorded: Stripe's subscription names it.
	c = &calls{}
	s.Customer = ""
	if _, err := subGateway(mock.URL, c).PortalURL(context.Background(), s, ""); err != nil {
		t.Fatalf("portal: %v", err)
	}
	if got, want := c.list(), []string{"GET /v1/subscriptions/" + s.SubscriptionRef, "POST /v1/billing_portal/sessions"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	customer := mockSubscription(t, "GET", s.SubscriptionRef, nil).Customer
	if f := c.at(1).Form; customer == "" || f.Get("customer") != customer || f.Get("return_url") != "https://shop.example.com/account.html?subscription="+s.ID {
		t.Errorf("sent %v, want customer %q and the account page", f, customer)
	}
}
