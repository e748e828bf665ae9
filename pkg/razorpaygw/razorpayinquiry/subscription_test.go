package razorpayinquiry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// subscriptionAPI stands in for Razorpay's Subscriptions API as
// testdata/README.md describes it: one subscription, its invoices, and
// its cancel.
type subscriptionAPI struct {
	t        *testing.T
	mu       sync.Mutex
	sub      map[string]any
	invoices []map[string]any
	fail     int // answer this many requests with a 500
	calls    []string
}

func newSubscriptionAPI(t *testing.T, set map[string]any) (*subscriptionAPI, *httptest.Server) {
	a := &subscriptionAPI{t: t, sub: from(t, "subscription.json", set)}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func (a *subscriptionAPI) made() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *subscriptionAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret" {
		a.t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	w.Header().Set("Content-Type", "application/json")
	if a.fail > 0 {
		a.fail--
		w.WriteHeader(500)
		b, _ := os.ReadFile("testdata/error-server.json")
		_, _ = w.Write(b)
		return
	}
	id := a.sub["id"].(string)
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/subscriptions/"+id && r.URL.RawQuery == "":
		_ = json.NewEncoder(w).Encode(a.sub)
	case r.Method == "POST" && r.URL.Path == "/v1/subscriptions/"+id+"/cancel":
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil || len(req) != 1 || req["cancel_at_cycle_end"] != float64(0) || r.Header.Get("Content-Type") != "application/json" {
			a.t.Errorf("cancel body %s (%s)", body, r.Header.Get("Content-Type"))
		}
		if s := a.sub["status"]; s == "cancelled" || s == "completed" || s == "expired" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"code":"BAD_REQUEST_ERROR","description":"Subscription is not cancellable in ` + s.(string) + ` status.","source":"business","step":"payment_initiation","reason":"input_validation_failed","metadata":{}}}`))
			return
		}
		a.sub["status"], a.sub["ended_at"] = "cancelled", time.Now().Unix()
		_ = json.NewEncoder(w).Encode(a.sub)
	case r.Method == "GET" && r.URL.Path == "/v1/invoices":
		q := r.URL.Query()
		if q.Get("subscription_id") != id || q.Get("count") != "100" || q.Get("skip") != "0" || len(q) != 3 {
			a.t.Errorf("invoices query %v", q)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"entity": "collection", "count": len(a.invoices), "items": a.invoices})
	default:
		a.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(404)
	}
}

const rzpSub = "sub_00000000000001"

// pendingRzp is a subscription pending since its checkout, whose deadline
// was at deadline.
func pendingRzp(deadline time.Time) subscription.Subscription {
	return subscription.Subscription{ID: subscription.NewID(), Gateway: "razorpay", Status: subscription.Pending, Amount: 49900, Currency: "inr",
		SessionRef: rzpSub, SubscriptionRef: rzpSub, Deadline: deadline, CreatedAt: deadline.Add(-time.Hour)}
}

// TestInquireSubscription_StillCreatedIsCancelledThenExpired: a
// subscription nobody authenticated is left until ExpiryGrace past its
// deadline, then cancelled at Razorpay and ended expired; a dry run reads
// it and says so without cancelling it.
func TestInquireSubscription_StillCreatedIsCancelledThenExpired(t *testing.T) {
	deadline := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := pendingRzp(deadline)
	for _, tc := range []struct {
		name  string
		now   time.Time
		dry   bool
		calls []string
		kinds []order.Kind
	}{
		{"within the grace", deadline.Add(shop.ExpiryGrace - time.Second), false, []string{"GET /v1/subscriptions/" + rzpSub + "?"}, nil},
		{"dry run", deadline.Add(shop.ExpiryGrace + time.Second), true, []string{"GET /v1/subscriptions/" + rzpSub + "?"}, []order.Kind{order.KindExpired}},
		{"past the grace", deadline.Add(shop.ExpiryGrace + time.Second), false,
			[]string{"GET /v1/subscriptions/" + rzpSub + "?", "POST /v1/subscriptions/" + rzpSub + "/cancel?"}, []order.Kind{order.KindExpired}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, srv := newSubscriptionAPI(t, nil)
			ctx := context.Background()
			if tc.dry {
				ctx = shop.WithDryRun(ctx)
			}
			now := tc.now
			events, err := inquirer(srv.URL, &now).InquireSubscription(ctx, s, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := api.made(); !slices.Equal(got, tc.calls) {
				t.Fatalf("calls %v, want %v", got, tc.calls)
			}
			var kinds []order.Kind
			for _, e := range events {
				kinds = append(kinds, e.Kind)
				if e.ID != "recon_"+rzpSub+"_expired" || e.OrderID != s.ID || e.SessionRef != rzpSub || e.Sub == nil || e.Source != order.SourceReconcile {
					t.Errorf("event %+v", e)
				}
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("kinds %v, want %v", kinds, tc.kinds)
			}
		})
	}
}

// TestInquireSubscription_AuthenticatedIsItsSnapshot: a subscription the
// customer authenticated (the webhook missed) is what Razorpay says,
// decoded as its webhook is, and nothing is cancelled.
func TestInquireSubscription_AuthenticatedIsItsSnapshot(t *testing.T) {
	deadline := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := deadline.Add(time.Hour)
	start := now.Add(7 * 24 * time.Hour)
	api, srv := newSubscriptionAPI(t, map[string]any{"status": "authenticated", "start_at": start.Unix(), "charge_at": start.Unix()})
	events, err := inquirer(srv.URL, &now).InquireSubscription(context.Background(), pendingRzp(deadline), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := api.made(); len(got) != 1 {
		t.Fatalf("calls %v", got)
	}
	if len(events) != 1 || events[0].Kind != order.KindSubscription || events[0].Sub.Status != "trialing" || !events[0].Sub.TrialEnd.Equal(start) ||
		events[0].ID != "rzp_sub_"+rzpSub+"_trialing_0_0" || events[0].SessionRef != rzpSub {
		t.Fatalf("events %+v", events)
	}
}

// TestWatchSubscription_SnapshotAndTheRenewalsMissed: a live subscription
// is read again; with more cycles paid than renewals recorded, its paid
// invoices are the renewals (payment, amount, currency, billing period;
// the first one first), then its snapshot as its webhook maps it, under an
// id stable per state.
func TestWatchSubscription_SnapshotAndTheRenewalsMissed(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	end := now.Add(20 * 24 * time.Hour).Unix()
	api, srv := newSubscriptionAPI(t, map[string]any{"status": "active", "paid_count": 2, "current_start": now.Add(-10 * 24 * time.Hour).Unix(), "current_end": end})
	first := from(t, "invoice.json", map[string]any{"id": "inv_1", "payment_id": "pay_1", "order_id": "order_1", "billing_start": 1000, "billing_end": 2000, "paid_at": 1000})
	second := from(t, "invoice.json", map[string]any{"id": "inv_2", "payment_id": "pay_2", "order_id": "order_2", "billing_start": 2000, "billing_end": 3000, "paid_at": 2000})
	issued := from(t, "invoice.json", map[string]any{"id": "inv_3", "payment_id": nil, "status": "issued", "billing_start": 3000, "billing_end": 4000})
	api.invoices = []map[string]any{issued, second, first}
	s := pendingRzp(now)
	s.Status = subscription.Active
	q := inquirer(srv.URL, &now)
	events, err := q.WatchSubscription(context.Background(), s, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("events %+v", events)
	}
	for i, inv := range []string{"1", "2"} {
		e := events[i]
		f := e.Sub
		if e.ID != "recon_inv_"+inv+"_paid" || e.Kind != order.KindRenewalPaid || e.Amount != 49900 || e.Currency != "inr" || f.Renewal != "pay_"+inv ||
			f.FirstInvoice != (i == 0) || f.PeriodStart.Unix() != int64(1000*(i+1)) || f.PeriodEnd.Unix() != int64(1000*(i+2)) ||
			!slices.Contains(e.Refs, "order_"+inv) || e.SessionRef != rzpSub || e.Source != order.SourceReconcile {
			t.Errorf("renewal %d: %+v %+v", i, e, f)
		}
	}
	var ent razorpaysub.Entity
	raw, _ := json.Marshal(api.sub)
	_ = json.Unmarshal(raw, &ent)
	snap := events[2]
	if want := ent.Facts(now, false); snap.Kind != order.KindSubscription || *snap.Sub != want || snap.ID != "rzp_sub_"+rzpSub+"_active_"+strconv.FormatInt(end, 10)+"_2" {
		t.Fatalf("snapshot %+v %+v, want %+v", snap, snap.Sub, want)
	}
	// With both renewals recorded, the invoices are not read again.
	s.Evidence.Renewals = []subscription.Renewal{{Ref: "pay_1", First: true}, {Ref: "pay_2"}}
	before := len(api.made())
	events, err = q.WatchSubscription(context.Background(), s, now)
	if err != nil || len(events) != 1 || len(api.made()) != before+1 {
		t.Fatalf("%+v %v, calls %v", events, err, api.made()[before:])
	}
}

// TestSubscriptionInquiry_AGatewayErrorIsAnError: a 5xx that outlasts the
// retries is an error, never "nothing happened"; nothing is cancelled.
func TestSubscriptionInquiry_AGatewayErrorIsAnError(t *testing.T) {
	deadline := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := deadline.Add(time.Hour)
	api, srv := newSubscriptionAPI(t, nil)
	api.fail = 100
	if events, err := inquirer(srv.URL, &now).InquireSubscription(context.Background(), pendingRzp(deadline), now); err == nil || events != nil {
		t.Fatalf("%+v %v", events, err)
	}
	for _, c := range api.made() {
		if strings.HasPrefix(c, "POST") {
			t.Fatalf("cancelled after an error: %v", api.made())
		}
	}
	s := pendingRzp(deadline)
	s.Status = subscription.Active
	if events, err := inquirer(srv.URL, &now).WatchSubscription(context.Background(), s, now); err == nil || events != nil {
		t.Fatalf("%+v %v", events, err)
	}
}

// TestMissed_ASubscriptionsChargeIsLeftToItsSubscription: the sweep of
// payments skips a subscription's charge (invoice_id set), which its
// subscription's reads report with its period, so it is never parked as
// a payment without order; a refund of one is sent to the subscription
// its invoice names.
func TestMissed_ASubscriptionsChargeIsLeftToItsSubscription(t *testing.T) {
	api, srv := newReadAPI(t)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	charge := payment(t, "pay_Charge1", "order_Inv1", "captured", t0)
	charge["invoice_id"] = "inv_Charge1"
	refund := from(t, "refund.json", map[string]any{"id": "rfnd_Charge1", "payment_id": "pay_Charge1", "status": "processed", "created_at": t0.Add(time.Second).Unix()})
	api.put(charge, refund, from(t, "invoice.json", map[string]any{"id": "inv_Charge1", "subscription_id": rzpSub}))
	now := t0.Add(time.Hour)
	events, _, err := inquirer(srv.URL, &now).Missed(context.Background(), "", t0.Add(-time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != order.KindRefunded || events[0].Sub == nil || events[0].Sub.Ref != rzpSub ||
		events[0].SessionRef != rzpSub || events[0].OrderID != "" {
		t.Fatalf("events %+v", events)
	}
}
