package razorpayinquiry_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpayinquiry"
	"github.com/jampay/jampay/pkg/shop"
)

// readAPI stands in for Razorpay's read APIs, checking each request as
// the reference describes it (see testdata/README.md), and serving the
// entities a test puts in it.
type readAPI struct {
	t        *testing.T
	mu       sync.Mutex
	entities map[string]map[string]any // by id
	fail     []int                     // statuses to answer the next requests with, in turn
	calls    []string                  // "path?query"
}

func newReadAPI(t *testing.T) (*readAPI, *httptest.Server) {
	a := &readAPI{t: t, entities: map[string]map[string]any{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

// from returns testdata's entity with fields set.
func from(t *testing.T, file string, set map[string]any) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	return m
}

// put makes entities exist at Razorpay (or changes them).
func (a *readAPI) put(es ...map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range es {
		a.entities[e["id"].(string)] = e
	}
}

// payment is a payment of 398.00 INR on the Razorpay order, made at.
func payment(t *testing.T, id, rzpOrder, status string, at time.Time) map[string]any {
	// "released" is Razorpay's refunded with captured false: an
	// authorisation nobody captured, given back.
	released := status == "released"
	if released {
		status = "refunded"
	}
	set := map[string]any{"id": id, "order_id": rzpOrder, "status": status, "created_at": at.Unix(),
		"captured": status == "captured" || (status == "refunded" && !released)}
	if status == "failed" {
		set["error_code"], set["error_description"] = "BAD_REQUEST_ERROR", "Payment was unsuccessful as the bank declined it."
		set["error_source"], set["error_step"], set["error_reason"] = "bank", "payment_authorization", "payment_declined"
		set["fee"], set["tax"] = nil, nil
	}
	return from(t, "payment.json", set)
}

func (a *readAPI) made() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

var (
	orderPayments = regexp.MustCompile(`^/v1/orders/(order_[A-Za-z0-9]+)/payments$`)
	byID          = regexp.MustCompile(`^/v1/(payments|refunds|disputes|invoices)/([a-z]+_[A-Za-z0-9]+)$`)
	lists         = map[string]string{"/v1/payments": "payment", "/v1/refunds": "refund", "/v1/disputes": "dispute"}
)

func (a *readAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, r.URL.Path+"?"+r.URL.RawQuery)
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret" {
		a.t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if r.Method != "GET" {
		a.t.Errorf("%s %s: reconcile only reads", r.Method, r.URL.Path)
	}
	w.Header().Set("Content-Type", "application/json")
	if len(a.fail) > 0 {
		status := a.fail[0]
		a.fail = a.fail[1:]
		w.WriteHeader(status)
		body, _ := os.ReadFile(map[bool]string{true: "testdata/error-rate-limited.json", false: "testdata/error-server.json"}[status == 429])
		_, _ = w.Write(body)
		return
	}
	var items []map[string]any
	switch path := r.URL.Path; {
	case orderPayments.MatchString(path):
		if r.URL.RawQuery != "" {
			a.t.Errorf("payments of an order take no query: %q", r.URL.RawQuery)
		}
		for _, e := range a.entities {
			if e["entity"] == "payment" && e["order_id"] == orderPayments.FindStringSubmatch(path)[1] {
				items = append(items, e)
			}
		}
	case lists[path] != "":
		q := r.URL.Query()
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range q {
				if !yield(k) {
					return
				}
			}
		})
		if !slices.Equal(keys, []string{"count", "from", "skip", "to"}) {
			a.t.Errorf("%s query %v, want from, to, count and skip", path, q)
		}
		n := map[string]int64{}
		for _, k := range keys {
			v, err := strconv.ParseInt(q.Get(k), 10, 64)
			if err != nil || v < 0 {
				a.t.Errorf("%s=%q is not a count or a unix time", k, q.Get(k))
			}
			n[k] = v
		}
		if n["count"] < 1 || n["count"] > 100 {
			a.t.Errorf("count=%d: Razorpay lists at most 100", n["count"])
		}
		for _, e := range a.entities {
			// After from and before to: the stricter reading.
			if e["entity"] == lists[path] && at(e) > n["from"] && at(e) < n["to"] {
				items = append(items, e)
			}
		}
		sortNewestFirst(items)
		items = items[min(int(n["skip"]), len(items)):]
		items = items[:min(int(n["count"]), len(items))]
	case byID.MatchString(path):
		if e, ok := a.entities[byID.FindStringSubmatch(path)[2]]; ok && cmp.Or(lists["/v1/"+byID.FindStringSubmatch(path)[1]], "invoice") == e["entity"] {
			_ = json.NewEncoder(w).Encode(e)
			return
		}
		w.WriteHeader(400)
		body, _ := os.ReadFile("testdata/error-not-found.json")
		_, _ = w.Write(body)
		return
	default:
		a.t.Errorf("unexpected %s", path)
		w.WriteHeader(404)
		return
	}
	sortNewestFirst(items)
	if items == nil {
		items = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"entity": "collection", "count": len(items), "items": items})
}

// at is an entity's created_at, whether a test set it (int64) or it came
// from testdata (float64).
func at(e map[string]any) int64 {
	switch v := e["created_at"].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

func sortNewestFirst(items []map[string]any) {
	slices.SortFunc(items, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(at(b), at(a)), strings.Compare(b["id"].(string), a["id"].(string)))
	})
}

func inquirer(base string, now *time.Time) *razorpayinquiry.Inquirer {
	return razorpayinquiry.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: base,
		RetryWait: time.Millisecond, Now: func() time.Time { return *now }})
}

// TestInquire_WhatTheOrdersPaymentsSay: past its deadline, an order's
// payments are read in one call, each amounting to its webhook's event
// (captured paid, authorized processing, failed a decline with its
// reason), and an order with none authorised or captured ends expired once
// ExpiryGrace has passed too, never before.
func TestInquire_WhatTheOrdersPaymentsSay(t *testing.T) {
	deadline := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	past, within := deadline.Add(shop.ExpiryGrace+time.Second), deadline.Add(shop.ExpiryGrace-time.Second)
	type want struct {
		id     string
		kind   order.Kind
		reason string
	}
	declined := "Payment was unsuccessful as the bank declined it."
	cases := []struct {
		name     string
		now      time.Time
		payments [][2]string // id, status
		want     []want
	}{
		{"captured is paid", within, [][2]string{{"pay_A", "captured"}}, []want{{"recon_pay_A_captured", order.KindPaid, ""}}},
		{"authorized is processing, and never expires", past, [][2]string{{"pay_A", "authorized"}},
			[]want{{"recon_pay_A_authorized", order.KindProcessing, ""}}},
		{"a decline, then a capture", past, [][2]string{{"pay_A", "failed"}, {"pay_B", "captured"}},
			[]want{{"recon_pay_A_failed", order.KindDeclined, declined}, {"recon_pay_B_captured", order.KindPaid, ""}}},
		{"only failures past the grace: expired, with the reason", past, [][2]string{{"pay_A", "failed"}, {"pay_B", "failed"}},
			[]want{{"recon_pay_A_failed", order.KindDeclined, declined}, {"recon_pay_B_failed", order.KindDeclined, declined},
				{"recon_order_N8FRN5zTm5S3wx_expired", order.KindExpired, ""}}},
		{"only failures within the grace: not yet", within, [][2]string{{"pay_A", "failed"}},
			[]want{{"recon_pay_A_failed", order.KindDeclined, declined}}},
		{"no payment past the grace: expired", past, nil, []want{{"recon_order_N8FRN5zTm5S3wx_expired", order.KindExpired, ""}}},
		{"no payment within the grace: nothing", within, nil, nil},
		{"paid, then refunded in full: it was paid", past, [][2]string{{"pay_A", "refunded"}}, []want{{"recon_pay_A_captured", order.KindPaid, ""}}},
		{"an authorisation given back ends it failed", past, [][2]string{{"pay_A", "released"}},
			[]want{{"recon_pay_A_released", order.KindFailed, "The payment was authorised but not captured, so Razorpay refunded it."},
				{"recon_order_N8FRN5zTm5S3wx_expired", order.KindExpired, ""}}},
		{"given back while another is held: only a decline", past, [][2]string{{"pay_A", "released"}, {"pay_B", "authorized"}},
			[]want{{"recon_pay_A_released", order.KindDeclined, "The payment was authorised but not captured, so Razorpay refunded it."},
				{"recon_pay_B_authorized", order.KindProcessing, ""}}},
		{"a payment the bank has not answered: nothing yet", past, [][2]string{{"pay_A", "created"}},
			[]want{{"recon_order_N8FRN5zTm5S3wx_expired", order.KindExpired, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api, srv := newReadAPI(t)
			for i, p := range tc.payments {
				api.put(payment(t, p[0], "order_N8FRN5zTm5S3wx", p[1], deadline.Add(time.Duration(i-10)*time.Minute)))
			}
			api.put(payment(t, "pay_other", "order_Other", "captured", deadline)) // another order's
			o := order.Order{ID: order.NewID(), Gateway: "razorpay", Status: order.Pending, Amount: 39800, Currency: "inr",
				SessionRef: "order_N8FRN5zTm5S3wx", Deadline: deadline}
			got, err := inquirer(srv.URL, &tc.now).Inquire(context.Background(), o, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if calls := api.made(); !slices.Equal(calls, []string{"/v1/orders/order_N8FRN5zTm5S3wx/payments?"}) {
				t.Errorf("calls %v, want the order's payments once", calls)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				e := got[i]
				if e.ID != w.id || e.Kind != w.kind || e.Reason != w.reason || e.Gateway != "razorpay" || e.Source != order.SourceReconcile ||
					e.SessionRef != o.SessionRef {
					t.Errorf("event %d: %+v, want %+v", i, e, w)
				}
				switch e.Kind {
				case order.KindPaid, order.KindProcessing:
					// Checked against the order's where it is applied.
					if e.Amount != 39800 || e.Currency != "inr" || e.PaymentRef == "" {
						t.Errorf("the payment's money: %+v", e)
					}
				case order.KindExpired:
					if e.OrderID != o.ID || e.Type != razorpayinquiry.CheckoutExpired {
						t.Errorf("the expiry names %q, type %q", e.OrderID, e.Type)
					}
				}
			}
		})
	}
}

// TestInquire_NotAskedBeforeTheDeadline: an order whose Checkout can still
// be paid is not asked about.
func TestInquire_NotAskedBeforeTheDeadline(t *testing.T) {
	api, srv := newReadAPI(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	o := order.Order{ID: order.NewID(), Gateway: "razorpay", SessionRef: "order_Later", Deadline: now.Add(time.Second)}
	if got, err := inquirer(srv.URL, &now).Inquire(context.Background(), o, now); err != nil || len(got) != 0 || len(api.made()) != 0 {
		t.Fatalf("%+v %v %v", got, err, api.made())
	}
}

// TestInquire_GatewayErrors: a 429 is retried (with backoff) and the
// answer read; a 5xx that persists, or a 401, is an error — never "no
// payment", which would expire an order that may be paid.
func TestInquire_GatewayErrors(t *testing.T) {
	now := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	o := order.Order{ID: order.NewID(), Gateway: "razorpay", SessionRef: "order_N8FRN5zTm5S3wx", Deadline: now.Add(-time.Hour)}
	for _, tc := range []struct {
		name  string
		fail  []int
		calls int
		ok    bool
	}{
		{"429 then the answer", []int{429}, 2, true},
		{"500, 502, 503 then the answer", []int{500, 502, 503}, 4, true},
		{"500 throughout", []int{500, 500, 500, 500, 500}, 4, false},
		{"401 is not retried", []int{401}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, srv := newReadAPI(t)
			api.put(payment(t, "pay_A", o.SessionRef, "captured", now.Add(-90*time.Minute)))
			api.fail = tc.fail
			got, err := inquirer(srv.URL, &now).Inquire(context.Background(), o, now)
			if n := len(api.made()); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if tc.ok && (err != nil || len(got) != 1 || got[0].Kind != order.KindPaid) {
				t.Fatalf("%+v %v", got, err)
			}
			if !tc.ok && (err == nil || len(got) != 0) {
				t.Fatalf("a failure read as %+v (%v)", got, err)
			}
		})
	}
}

// TestInquire_RetriesStopAtTheContextsDeadline: a wait that would outlast
// the context is not waited.
func TestInquire_RetriesStopAtTheContextsDeadline(t *testing.T) {
	api, srv := newReadAPI(t)
	api.fail = []int{429, 429, 429, 429}
	now := time.Now()
	q := razorpayinquiry.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: srv.URL, RetryWait: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := q.Inquire(ctx, order.Order{ID: order.NewID(), SessionRef: "order_Busy", Deadline: now.Add(-time.Hour)}, now)
	var ae *razorpaygw.APIError
	if err == nil || !errors.As(err, &ae) || ae.Status != 429 || time.Since(start) > 250*time.Millisecond || len(api.made()) != 1 {
		t.Fatalf("%v after %s, %d calls", err, time.Since(start), len(api.made()))
	}
}

func refundOf(t *testing.T, id, pay, status string, amount int64, at time.Time) map[string]any {
	return from(t, "refund.json", map[string]any{"id": id, "payment_id": pay, "status": status, "amount": amount, "created_at": at.Unix()})
}

func disputeOf(t *testing.T, id, pay, status string, at time.Time) map[string]any {
	return from(t, "dispute.json", map[string]any{"id": id, "payment_id": pay, "status": status, "created_at": at.Unix()})
}

func eventIDs(events []order.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// TestMissed_SweepsByCreationThenWatchesWhatIsNotFinal: payments, refunds
// and disputes made since the cursor come out oldest first as their
// webhooks would have said; what was not final (a failed payment a bank
// may still authorise, an authorisation, a pending refund, an open
// dispute) is read again by id later, and reported when it changes, until
// it is final.
func TestMissed_SweepsByCreationThenWatchesWhatIsNotFinal(t *testing.T) {
	api, srv := newReadAPI(t)
	now := t0.Add(time.Hour)
	payA := payment(t, "pay_A", "order_A", "refunded", t0.Add(10*time.Second))
	payA["amount_refunded"], payA["refund_status"] = 39800, "full"
	payC := payment(t, "pay_C", "order_C", "captured", t0.Add(40*time.Second))
	api.put(payA, payment(t, "pay_B", "order_B", "failed", t0.Add(20*time.Second)),
		refundOf(t, "rfnd_A", "pay_A", "processed", 39800, t0.Add(30*time.Second)),
		payC, disputeOf(t, "disp_C", "pay_C", "open", t0.Add(50*time.Second)),
		payment(t, "pay_Old", "order_Old", "captured", t0.Add(-10*24*time.Hour)),
		disputeOf(t, "disp_D", "pay_Old", "under_review", t0.Add(60*time.Second)),
		payment(t, "pay_E", "order_E", "authorized", t0.Add(70*time.Second)),
		refundOf(t, "rfnd_F", "pay_C", "pending", 10000, t0.Add(80*time.Second)),
		payment(t, "pay_Late", "order_Late", "captured", now.Add(-time.Minute))) // within settle: next run
	q := inquirer(srv.URL, &now)
	ctx := context.Background()

	got, next, err := q.Missed(ctx, "", t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"recon_pay_A_captured", "recon_pay_B_failed", "recon_rfnd_A_processed", "recon_pay_C_captured",
		"recon_disp_C_open", "recon_disp_D_open", "recon_pay_E_authorized"}
	if !slices.Equal(eventIDs(got), want) {
		t.Fatalf("events %v\nwant   %v", eventIDs(got), want)
	}
	kinds := []order.Kind{order.KindPaid, order.KindDeclined, order.KindRefunded, order.KindPaid, order.KindDisputeOpened, order.KindDisputeOpened, order.KindProcessing}
	for i, e := range got {
		if e.Kind != kinds[i] || e.Gateway != "razorpay" || e.Source != order.SourceReconcile {
			t.Errorf("%s: %s from %s/%s", e.ID, e.Kind, e.Gateway, e.Source)
		}
	}
	if r := got[2]; r.Refunded != 39800 || r.SessionRef != "order_A" || r.PaymentRef != "pay_A" {
		t.Errorf("the refund, wrapped with its payment: %+v", r)
	}
	if d := got[5]; d.Dispute != "disp_D" || d.PaymentRef != "pay_Old" || d.SessionRef != "order_Old" {
		t.Errorf("the dispute of a payment made before the sweep: %+v", d)
	}
	end := strconv.FormatInt(now.Add(-2*time.Minute).Unix()+1, 10)
	wantCalls := []string{
		"/v1/payments?count=100&from=" + strconv.FormatInt(t0.Unix()-1, 10) + "&skip=0&to=" + end,
		"/v1/refunds?count=100&from=" + strconv.FormatInt(t0.Unix()-1, 10) + "&skip=0&to=" + end,
		"/v1/disputes?count=100&from=" + strconv.FormatInt(t0.Unix()-1, 10) + "&skip=0&to=" + end,
		"/v1/payments/pay_Old?",
	}
	if calls := api.made(); !slices.Equal(calls, wantCalls) {
		t.Fatalf("calls %v\nwant  %v", calls, wantCalls)
	}

	// At once again: nothing new, nothing due, nothing asked.
	api.calls = nil
	if again, next2, err := q.Missed(ctx, next, t0, 100); err != nil || len(again) != 0 || len(api.made()) != 0 || next2 != next {
		t.Fatalf("straight after: %v, %v, calls %v", eventIDs(again), err, api.made())
	}

	// An hour later: a late authorisation, a lost dispute, a capture, a
	// refund processed; the dispute under review has not moved.
	now = now.Add(time.Hour)
	api.put(payment(t, "pay_B", "order_B", "authorized", t0.Add(20*time.Second)),
		disputeOf(t, "disp_C", "pay_C", "lost", t0.Add(50*time.Second)),
		payment(t, "pay_E", "order_E", "captured", t0.Add(70*time.Second)),
		refundOf(t, "rfnd_F", "pay_C", "processed", 10000, t0.Add(80*time.Second)))
	payC["amount_refunded"], payC["refund_status"] = 10000, "partial"
	api.calls = nil
	got, next, err = q.Missed(ctx, next, t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := eventIDs(got)
	slices.Sort(ids)
	if want := []string{"recon_disp_C_lost", "recon_pay_B_authorized", "recon_pay_E_captured", "recon_pay_Late_captured", "recon_rfnd_F_processed"}; !slices.Equal(ids, want) {
		t.Fatalf("an hour later: %v\nwant %v", ids, want)
	}
	reads := map[string]int{}
	for _, c := range api.made() {
		reads[strings.TrimSuffix(c[strings.LastIndex(c, "/")+1:], "?")]++
	}
	if reads["pay_C"] != 1 || reads["disp_D"] != 1 || reads["pay_A"] != 0 || reads["rfnd_A"] != 0 {
		t.Errorf("reads %v: each watched entity once, its payment once, nothing final", reads)
	}
	for _, e := range got {
		if e.ID == "recon_rfnd_F_processed" && e.Refunded != 10000 {
			t.Errorf("the refund: %+v", e)
		}
	}

	// A day later the late authorisation is captured; the dispute under
	// review is read again, and still says nothing new.
	now = now.Add(24 * time.Hour)
	api.put(payment(t, "pay_B", "order_B", "captured", t0.Add(20*time.Second)))
	api.calls = nil
	got, _, err = q.Missed(ctx, next, t0, 100)
	if err != nil || !slices.Equal(eventIDs(got), []string{"recon_pay_B_captured"}) {
		t.Fatalf("a day later: %v %v", eventIDs(got), err)
	}
	var byID []string
	for _, c := range api.made() {
		if !strings.Contains(c, "?count=") {
			byID = append(byID, c)
		}
	}
	slices.Sort(byID)
	if !slices.Equal(byID, []string{"/v1/disputes/disp_D?", "/v1/payments/pay_B?"}) {
		t.Errorf("read again by id: %v, want only what is not final", byID)
	}
}

// TestMissed_ALimitCutsBetweenEntitiesOfOneSecond: the cursor keeps the
// ids of its second already returned, so nothing is returned twice or
// stepped over when a page ends mid-second.
func TestMissed_ALimitCutsBetweenEntitiesOfOneSecond(t *testing.T) {
	api, srv := newReadAPI(t)
	now := t0.Add(time.Hour)
	for _, id := range []string{"pay_1", "pay_2", "pay_3"} {
		api.put(payment(t, id, "order_"+id[4:], "captured", t0.Add(10*time.Second)))
	}
	api.put(payment(t, "pay_4", "order_4", "captured", t0.Add(20*time.Second)))
	q := inquirer(srv.URL, &now)
	var all []string
	cur := ""
	for range 4 {
		got, next, err := q.Missed(context.Background(), cur, t0, 2)
		if err != nil {
			t.Fatal(err)
		}
		all, cur = append(all, eventIDs(got)...), next
	}
	if want := []string{"recon_pay_1_captured", "recon_pay_2_captured", "recon_pay_3_captured", "recon_pay_4_captured"}; !slices.Equal(all, want) {
		t.Fatalf("%v, want %v", all, want)
	}
}

// TestMissed_PagesWithSkip: a list longer than a page is read with count
// 100 and skip, as the reference describes.
func TestMissed_PagesWithSkip(t *testing.T) {
	api, srv := newReadAPI(t)
	now := t0.Add(time.Hour)
	for i := range 250 {
		api.put(payment(t, fmt.Sprintf("pay_%04d", i), fmt.Sprintf("order_%04d", i), "captured", t0.Add(time.Duration(i)*time.Second)))
	}
	got, _, err := inquirer(srv.URL, &now).Missed(context.Background(), "", t0, 1000)
	if err != nil || len(got) != 250 || got[0].ID != "recon_pay_0000_captured" || got[249].ID != "recon_pay_0249_captured" {
		t.Fatalf("%d events %v", len(got), err)
	}
	var skips []string
	for _, c := range api.made() {
		u, _ := url.Parse(c)
		skips = append(skips, u.Path+"@"+u.Query().Get("skip"))
	}
	if want := []string{"/v1/payments@0", "/v1/payments@100", "/v1/payments@200", "/v1/refunds@0", "/v1/disputes@0"}; !slices.Equal(skips, want) {
		t.Fatalf("pages %v, want %v", skips, want)
	}
}

// TestMissed_GatewayErrors: a 429 is retried and the sweep goes on; a 5xx
// that persists is an error, with no events and no cursor (the stored one
// stays).
func TestMissed_GatewayErrors(t *testing.T) {
	api, srv := newReadAPI(t)
	now := t0.Add(time.Hour)
	api.put(payment(t, "pay_A", "order_A", "captured", t0.Add(10*time.Second)))
	api.fail = []int{429}
	got, next, err := inquirer(srv.URL, &now).Missed(context.Background(), "", t0, 10)
	if err != nil || len(got) != 1 || next == "" {
		t.Fatalf("after a 429: %v %q %v", eventIDs(got), next, err)
	}
	api.fail = []int{500, 500, 500, 500}
	got, next, err = inquirer(srv.URL, &now).Missed(context.Background(), "", t0, 10)
	if err == nil || len(got) != 0 || next != "" {
		t.Fatalf("a 500 read as %v, next %q", eventIDs(got), next)
	}
}
