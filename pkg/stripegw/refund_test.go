package stripegw_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripegw"
)

// sent is one request as the client sent it.
type sent struct {
	method, path string
	query, form  url.Values
	head         http.Header
}

// refundRecorder keeps every request the refunder sends, then passes it on
// (to stripe-mock, or a stand-in).
type refundRecorder struct {
	mu   sync.Mutex
	sent []sent
}

func (r *refundRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	r.sent = append(r.sent, sent{req.Method, req.URL.Path, req.URL.Query(), form, req.Header.Clone()})
	r.mu.Unlock()
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	return http.DefaultTransport.RoundTrip(req)
}

func paidStripeOrder() order.Order {
	return order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Paid, Amount: 4000, Currency: "usd", PaymentRef: "pi_123",
		Evidence: order.Evidence{Paid: true, PaidAmount: 4000, PaidCurrency: "usd", PaidRef: "pi_123"}}
}

// TestRefund_StripeMockAcceptsOurRefund: the refunder looks for a refund
// already made under the key among the PaymentIntent's, then creates one
// with the amount, the order id and the key in its metadata, under the key
// as Idempotency-Key; stripe-mock judges the parameters.
func TestRefund_StripeMockAcceptsOurRefund(t *testing.T) {
	rec := &refundRecorder{}
	rf := stripegw.NewRefunder(stripegw.Config{SecretKey: "sk_test_123", APIBase: mock.URL, HTTPClient: &http.Client{Transport: rec}})
	o := paidStripeOrder()
	key := order.RefundKey(o.ID, 1)
	id, err := rf.Refund(context.Background(), o, 1500, key)
	if err != nil {
		t.Fatalf("stripe-mock rejected the refund: %v", err)
	}
	if !strings.HasPrefix(id, "re_") {
		t.Fatalf("refund id %q", id)
	}
	if len(rec.sent) != 2 {
		t.Fatalf("sent %d requests, want the lookup and the create", len(rec.sent))
	}
	list, create := rec.sent[0], rec.sent[1]
	if list.method != http.MethodGet || list.path != "/v1/refunds" || list.query.Get("payment_intent") != "pi_123" || list.query.Get("limit") != "100" {
		t.Errorf("lookup: %s %s?%s", list.method, list.path, list.query.Encode())
	}
	if create.method != http.MethodPost || create.path != "/v1/refunds" {
		t.Errorf("create: %s %s", create.method, create.path)
	}
	want := url.Values{
		"payment_intent":     {"pi_123"},
		"amount":             {"1500"},
		"metadata[order_id]": {o.ID},
		"metadata[" + stripegw.RefundKeyMetadata + "]": {key},
	}
	if create.form.Encode() != want.Encode() {
		t.Errorf("create sent %s\nwant %s", create.form.Encode(), want.Encode())
	}
	if got := create.head.Get("Idempotency-Key"); got != key {
		t.Errorf("Idempotency-Key = %q, want %q", got, key)
	}
}

// stripeStandIn answers the refund list with refunds, and the create with
// status and body.
func stripeStandIn(t *testing.T, refunds string, status int, body string) (*httptest.Server, *int) {
	creates := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/refunds":
			_, _ = io.WriteString(w, `{"object":"list","url":"/v1/refunds","has_more":false,"data":[`+refunds+`]}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/refunds":
			*creates++
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, creates
}

// TestRefund_AKeyStripeHasForgottenStillRefundsOnce: a refund made under
// the key days ago (Stripe keeps keys 24 hours) is found by its metadata
// and answered, with nothing created.
func TestRefund_AKeyStripeHasForgottenStillRefundsOnce(t *testing.T) {
	o := paidStripeOrder()
	key := order.RefundKey(o.ID, 2)
	made := `{"id":"re_other","object":"refund","amount":100,"metadata":{"jampay_refund_key":"` + order.RefundKey(o.ID, 1) + `"}},` +
		`{"id":"re_made","object":"refund","amount":1500,"metadata":{"order_id":"` + o.ID + `","jampay_refund_key":"` + key + `"}}`
	srv, creates := stripeStandIn(t, made, 200, `{}`)
	rf := stripegw.NewRefunder(stripegw.Config{SecretKey: "sk_test_123", APIBase: srv.URL})
	id, err := rf.Refund(context.Background(), o, 1500, key)
	if err != nil || id != "re_made" || *creates != 0 {
		t.Fatalf("%q %v, %d created: want re_made found, none created", id, err, *creates)
	}
}

// TestRefund_WhichStripeErrorsAreRefusalsForGood: a refusal of the request
// itself frees the owner's request; the keys, a reused key or a rate limit
// do not, and leave it to be asked again.
func TestRefund_WhichStripeErrorsAreRefusalsForGood(t *testing.T) {
	for name, tc := range map[string]struct {
		status  int
		body    string
		refused bool
	}{
		"over the charge": {400, `{"error":{"type":"invalid_request_error","code":"amount_too_large","message":"Refund amount is greater than unrefunded amount on charge"}}`, true},
		"disputed":        {400, `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"Charge has been disputed"}}`, true},
		"key reused":      {400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, false},
		"bad keys":        {401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := stripeStandIn(t, "", tc.status, tc.body)
			rf := stripegw.NewRefunder(stripegw.Config{SecretKey: "sk_test_123", APIBase: srv.URL})
			_, err := rf.Refund(context.Background(), paidStripeOrder(), 1500, "jampay-refund-x-1")
			if err == nil {
				t.Fatal("no error")
			}
			if got := order.ErrorCode(err) == order.CodeRefundRefused; got != tc.refused {
				t.Fatalf("%v: refused for good = %v, want %v", err, got, tc.refused)
			}
		})
	}
}
