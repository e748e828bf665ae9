package razorpaygw_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
)

// refundAPI is an httptest stand-in for Razorpay's refund API, checking
// each request as the reference describes it (testdata/README.md).
type refundAPI struct {
	t       *testing.T
	payment string
	// list is the payment's refunds page; answers are the create's
	// answers in turn (status and testdata file), the last one repeated.
	list    string
	listRaw string // instead of list's file
	answers []answer
	mu      sync.Mutex
	lists   int
	creates []createReq
}

type answer struct {
	status int
	file   string
}

type createReq struct {
	Key  string
	Body map[string]any
}

func (a *refundAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret" {
		a.t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/payments/"+a.payment+"/refunds":
		if q := r.URL.Query(); q.Get("count") != "100" || q.Get("skip") != "0" || len(q) != 2 {
			a.t.Errorf("list query %q, want count=100&skip=0", r.URL.RawQuery)
		}
		if r.Header.Get("X-Refund-Idempotency") != "" {
			a.t.Error("the list sent an idempotency key")
		}
		a.lists++
		if a.listRaw != "" {
			_, _ = io.WriteString(w, a.listRaw)
			break
		}
		_, _ = w.Write(a.fixture(a.list))
	case r.Method == http.MethodPost && r.URL.Path == "/v1/payments/"+a.payment+"/refund":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			a.t.Errorf("Content-Type %q", ct)
		}
		raw, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		var body map[string]any
		if err := dec.Decode(&body); err != nil {
			a.t.Errorf("body %s: %v", raw, err)
		}
		a.creates = append(a.creates, createReq{Key: r.Header.Get("X-Refund-Idempotency"), Body: body})
		ans := a.answers[min(len(a.creates), len(a.answers))-1]
		w.WriteHeader(ans.status)
		_, _ = w.Write(a.fixture(ans.file))
	default:
		a.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (a *refundAPI) fixture(name string) []byte {
	if name == "" {
		return []byte(`{}`)
	}
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		a.t.Fatal(err)
	}
	return []byte(strings.NewReplacer("{{PAYMENT}}", a.payment).Replace(string(b)))
}

func paidRazorpayOrder() order.Order {
	return order.Order{ID: order.NewID(), Gateway: "razorpay", Status: order.Paid, Amount: 500000, Currency: "inr", PaymentRef: "pay_29QQoUBi66xm2f",
		Evidence: order.Evidence{Paid: true, PaidAmount: 500000, PaidCurrency: "inr", PaidRef: "pay_29QQoUBi66xm2f"}}
}

func newRefunder(srv *httptest.Server) *razorpaygw.Refunder {
	return razorpaygw.NewRefunder(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: srv.URL, RetryWait: time.Millisecond})
}

// TestRefund_RazorpayGetsAmountNotesAndTheKey: the payment's refunds are
// looked through (none made under the key: one has other notes, one the
// empty array Razorpay writes for none), then the refund is created with
// exactly the amount and notes, under the key.
func TestRefund_RazorpayGetsAmountNotesAndTheKey(t *testing.T) {
	o := paidRazorpayOrder()
	api := &refundAPI{t: t, payment: o.PaidPayment(), list: "refund-list-response.json", answers: []answer{{200, "refund-create-response.json"}}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	key := order.RefundKey(o.ID, 1)
	id, err := newRefunder(srv).Refund(context.Background(), o, 150000, key)
	if err != nil || id != "rfnd_FP8QHiV938haTz" {
		t.Fatalf("%q %v", id, err)
	}
	if api.lists != 1 || len(api.creates) != 1 {
		t.Fatalf("%d lists, %d creates", api.lists, len(api.creates))
	}
	want := map[string]any{"amount": json.Number("150000"), "notes": map[string]any{"order_id": o.ID, razorpaygw.RefundKeyNote: key}}
	if c := api.creates[0]; c.Key != key || !reflect.DeepEqual(c.Body, want) {
		t.Fatalf("sent %+v\nwant key %s, body %v", c, key, want)
	}
}

// TestRefund_RazorpayRefundAlreadyMadeUnderTheKey: found among the
// payment's refunds by its note, it is answered and nothing is created.
func TestRefund_RazorpayRefundAlreadyMadeUnderTheKey(t *testing.T) {
	o := paidRazorpayOrder()
	key := order.RefundKey(o.ID, 1)
	api := &refundAPI{t: t, payment: o.PaidPayment()}
	page := string(api.fixture("refund-list-response.json"))
	api.listRaw = strings.Replace(page, `"comment": "Made in the Dashboard"`, `"order_id": "`+o.ID+`", "jampay_refund_key": "`+key+`"`, 1)
	srv := httptest.NewServer(api)
	defer srv.Close()
	id, err := newRefunder(srv).Refund(context.Background(), o, 300100, key)
	if err != nil || id != "rfnd_FP8DDKxqJif6ca" || len(api.creates) != 0 {
		t.Fatalf("%q %v, %d creates: want the refund found, none created", id, err, len(api.creates))
	}
}

// TestRefund_RazorpayErrors: a 409 (the same key still being processed)
// is asked again under the same key; a 400 that made no refund is a
// refusal for good; a key reused with another body, the keys' 401 and a
// 5xx that outlasts the retries are errors that keep the request.
func TestRefund_RazorpayErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		answers []answer
		refused bool
		ok      bool
		creates int
	}{
		"409 then made":     {[]answer{{409, ""}, {200, "refund-create-response.json"}}, false, true, 2},
		"balance too low":   {[]answer{{400, "error-refund-balance.json"}}, true, false, 1},
		"below the minimum": {[]answer{{400, "error-bad-request.json"}}, true, false, 1},
		"key reused":        {[]answer{{400, "error-refund-key-reused.json"}}, false, false, 1},
		"bad keys":          {[]answer{{401, ""}}, false, false, 1},
		"5xx throughout":    {[]answer{{502, ""}}, false, false, 3},
	} {
		t.Run(name, func(t *testing.T) {
			o := paidRazorpayOrder()
			api := &refundAPI{t: t, payment: o.PaidPayment(), list: "refund-list-response.json", answers: tc.answers}
			srv := httptest.NewServer(api)
			defer srv.Close()
			key := order.RefundKey(o.ID, 3)
			id, err := newRefunder(srv).Refund(context.Background(), o, 150000, key)
			if (err == nil) != tc.ok || (order.ErrorCode(err) == order.CodeRefundRefused) != tc.refused {
				t.Fatalf("%q %v: want ok %v, refused for good %v", id, err, tc.ok, tc.refused)
			}
			if len(api.creates) != tc.creates {
				t.Fatalf("%d creates, want %d", len(api.creates), tc.creates)
			}
			for _, c := range api.creates {
				if c.Key != key {
					t.Fatalf("a retry under %q, not %q", c.Key, key)
				}
			}
		})
	}
}
