package razorpaygw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/subscription"
)

// subNow is the clock of the subscription tests: the gateway's and the
// stand-in's.
var subNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// subscriptionAPI is an httptest stand-in for Razorpay's Plans and
// Subscriptions APIs that checks requests the way the API reference
// describes them (testdata/README.md) and answers with the reference's
// entity shapes, built from testdata.
type subscriptionAPI struct {
	t *testing.T

	mu    sync.Mutex
	plans map[string]planReq
	subs  []map[string]any // in creation order
	seq   int

	planCreates, subCreates, lists, cancels, fetches atomic.Int64
	planBodies, subBodies, cancelBodies              [][]byte

	// failSubscription answers POST /v1/subscriptions with this status,
	// after making the subscription when makeThenFail is set (an answer
	// lost in a proxy); once only when failOnce.
	failSubscription int
	makeThenFail     bool
	failOnce         bool
	failPlan         int // POST /v1/plans answers this status
	failList         int // GET /v1/subscriptions answers this status
	failCancel       int // POST …/cancel answers this status
	cancelAnswersFor string
}

func newSubscriptionAPI(t *testing.T) *subscriptionAPI {
	return &subscriptionAPI{t: t, plans: map[string]planReq{}}
}

// planReq is every field "Create a Plan" takes; any other is refused.
type planReq struct {
	Period   *string `json:"period"`
	Interval *int64  `json:"interval"`
	Item     *struct {
		Name        *string `json:"name"`
		Amount      *int64  `json:"amount"`
		Currency    *string `json:"currency"`
		Description *string `json:"description"`
	} `json:"item"`
	Notes map[string]string `json:"notes"`
}

// subReq is every field "Create a Subscription" takes.
type subReq struct {
	PlanID         *string           `json:"plan_id"`
	TotalCount     *int64            `json:"total_count"`
	Quantity       *int64            `json:"quantity"`
	StartAt        *int64            `json:"start_at"`
	ExpireBy       *int64            `json:"expire_by"`
	CustomerNotify *json.RawMessage  `json:"customer_notify"`
	Addons         []json.RawMessage `json:"addons"`
	OfferID        *string           `json:"offer_id"`
	Notes          map[string]string `json:"notes"`
}

func (a *subscriptionAPI) badRequest(w http.ResponseWriter, desc string) {
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": "BAD_REQUEST_ERROR", "description": desc, "source": "NA", "step": "NA", "reason": "NA", "metadata": map[string]any{}}})
}

func (a *subscriptionAPI) serverError(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
	if status == http.StatusBadGateway {
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		return
	}
	_, _ = w.Write([]byte(`{"error":{"code":"SERVER_ERROR","description":"The server encountered an error. The incident has been reported to admins."}}`))
}

// decode reads a JSON body strictly: Razorpay refuses fields it does not
// take.
func (a *subscriptionAPI) decode(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
		a.badRequest(w, "Content-Type must be application/json")
		return nil, false
	}
	raw, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		a.t.Errorf("%s %s: %s: %v", r.Method, r.URL.Path, raw, err)
		a.badRequest(w, err.Error()+" is/are not required and should not be sent")
		return nil, false
	}
	return raw, true
}

func (a *subscriptionAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret" {
		a.t.Errorf("basic auth = %q %q %v", u, p, ok)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	rest, _ := strings.CutPrefix(r.URL.Path, "/v1/subscriptions/")
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/plans":
		a.createPlan(w, r)
	case r.Method == "POST" && r.URL.Path == "/v1/subscriptions":
		a.createSubscription(w, r)
	case r.Method == "GET" && r.URL.Path == "/v1/subscriptions":
		a.list(w, r)
	case r.Method == "GET" && rest != r.URL.Path && !strings.Contains(rest, "/"):
		a.fetches.Add(1)
		a.mu.Lock()
		defer a.mu.Unlock()
		if s := a.find(rest); s != nil {
			_ = json.NewEncoder(w).Encode(s)
			return
		}
		a.badRequest(w, "The id provided does not exist")
	case r.Method == "POST" && strings.HasSuffix(rest, "/cancel"):
		a.cancel(w, r, strings.TrimSuffix(rest, "/cancel"))
	default:
		a.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (a *subscriptionAPI) createPlan(w http.ResponseWriter, r *http.Request) {
	var p planReq
	raw, ok := a.decode(w, r, &p)
	if !ok {
		return
	}
	a.planCreates.Add(1)
	switch {
	case p.Period == nil || !slices.Contains([]string{"daily", "weekly", "monthly", "yearly"}, *p.Period):
		a.badRequest(w, "The period field is required.")
		return
	case p.Interval == nil || *p.Interval < 1:
		a.badRequest(w, "The interval field is required.")
		return
	case p.Item == nil || p.Item.Name == nil || p.Item.Amount == nil || *p.Item.Amount < 100 || p.Item.Currency == nil || len(*p.Item.Currency) != 3:
		a.badRequest(w, "The item field is invalid.")
		return
	case strings.ToUpper(*p.Item.Currency) != *p.Item.Currency:
		a.badRequest(w, "The currency is invalid.")
		return
	}
	if a.failPlan != 0 {
		a.serverError(w, a.failPlan)
		return
	}
	a.mu.Lock()
	a.seq++
	id := fmt.Sprintf("plan_Pln%011d", a.seq)
	a.plans[id] = p
	a.planBodies = append(a.planBodies, raw)
	a.mu.Unlock()
	b, _ := os.ReadFile("testdata/plan-create-response.json")
	_, _ = w.Write(bytes.ReplaceAll(b, []byte("{{PLAN_ID}}"), []byte(id)))
}

func (a *subscriptionAPI) createSubscription(w http.ResponseWriter, r *http.Request) {
	var s subReq
	raw, ok := a.decode(w, r, &s)
	if !ok {
		return
	}
	a.subCreates.Add(1)
	a.mu.Lock()
	_, planExists := a.plans[deref(s.PlanID)]
	a.mu.Unlock()
	switch {
	case s.PlanID == nil || !planExists:
		a.badRequest(w, "The id provided does not exist")
		return
	case s.TotalCount == nil || *s.TotalCount < 1:
		a.badRequest(w, "The total count field is required.")
		return
	case s.Quantity != nil && *s.Quantity < 1:
		a.badRequest(w, "The quantity must be at least 1.")
		return
	case s.StartAt != nil && *s.StartAt <= subNow.Unix():
		a.badRequest(w, "Start time should be in the future")
		return
	case s.ExpireBy != nil && *s.ExpireBy <= subNow.Unix():
		a.badRequest(w, "expire_by should be in the future")
		return
	case len(s.Notes) > 15:
		a.badRequest(w, "Number of fields in notes should be less than or equal to 15")
		return
	}
	fail := a.failSubscription
	if fail != 0 && !a.makeThenFail {
		if a.failOnce {
			a.failSubscription = 0
		}
		a.serverError(w, fail)
		return
	}
	ent := a.entity()
	a.mu.Lock()
	a.seq++
	ent["id"] = fmt.Sprintf("sub_Sub%011d", a.seq)
	ent["plan_id"], ent["total_count"], ent["remaining_count"] = *s.PlanID, *s.TotalCount, *s.TotalCount
	ent["quantity"] = int64(1)
	if s.Quantity != nil {
		ent["quantity"] = *s.Quantity
	}
	ent["notes"] = s.Notes
	ent["created_at"] = subNow.Unix()
	ent["start_at"], ent["charge_at"], ent["expire_by"] = nil, nil, nil
	if s.StartAt != nil {
		ent["start_at"], ent["charge_at"] = *s.StartAt, *s.StartAt
	}
	if s.ExpireBy != nil {
		ent["expire_by"] = *s.ExpireBy
	}
	ent["customer_notify"] = s.CustomerNotify != nil && string(*s.CustomerNotify) != "0" && string(*s.CustomerNotify) != "false"
	a.subs = append(a.subs, ent)
	a.subBodies = append(a.subBodies, raw)
	a.mu.Unlock()
	if fail != 0 {
		if a.failOnce {
			a.failSubscription = 0
		}
		a.serverError(w, fail)
		return
	}
	_ = json.NewEncoder(w).Encode(ent)
}

func (a *subscriptionAPI) list(w http.ResponseWriter, r *http.Request) {
	a.lists.Add(1)
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"plan_id", "from", "to", "count", "skip"}, k) {
			a.t.Errorf("list subscriptions: unknown parameter %q", k)
		}
	}
	if a.failList != 0 {
		a.serverError(w, a.failList)
		return
	}
	count, skip := 10, 0
	if c := q.Get("count"); c != "" {
		count, _ = strconv.Atoi(c)
	}
	if count < 1 || count > 100 {
		a.badRequest(w, "The count may not be greater than 100.")
		return
	}
	skip, _ = strconv.Atoi(q.Get("skip"))
	from, _ := strconv.ParseInt(q.Get("from"), 10, 64)
	a.mu.Lock()
	defer a.mu.Unlock()
	items := []map[string]any{}
	for i := len(a.subs) - 1; i >= 0; i-- { // newest first
		s := a.subs[i]
		if (q.Get("plan_id") == "" || s["plan_id"] == q.Get("plan_id")) && s["created_at"].(int64) >= from {
			items = append(items, s)
		}
	}
	items = items[min(skip, len(items)):]
	items = items[:min(count, len(items))]
	_ = json.NewEncoder(w).Encode(map[string]any{"entity": "collection", "count": len(items), "items": items})
}

func (a *subscriptionAPI) cancel(w http.ResponseWriter, r *http.Request, id string) {
	var c struct {
		CancelAtCycleEnd *json.RawMessage `json:"cancel_at_cycle_end"`
	}
	raw, ok := a.decode(w, r, &c)
	if !ok {
		return
	}
	a.cancels.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancelBodies = append(a.cancelBodies, raw)
	if a.failCancel != 0 {
		a.serverError(w, a.failCancel)
		return
	}
	s := a.find(id)
	if s == nil {
		a.badRequest(w, "The id provided does not exist")
		return
	}
	if st := s["status"].(string); st == "cancelled" || st == "completed" || st == "expired" {
		w.WriteHeader(http.StatusBadRequest)
		b, _ := os.ReadFile("testdata/error-subscription-not-cancellable.json")
		_, _ = w.Write(bytes.ReplaceAll(b, []byte("cancelled status"), []byte(st+" status")))
		return
	}
	atEnd := c.CancelAtCycleEnd != nil && (string(*c.CancelAtCycleEnd) == "1" || string(*c.CancelAtCycleEnd) == "true")
	if !atEnd {
		// Cancelled now; at the cycle's end the status stays until then.
		s["status"], s["ended_at"], s["charge_at"] = "cancelled", subNow.Unix(), nil
	}
	answer := s
	if a.cancelAnswersFor != "" {
		answer = cloneMap(s)
		answer["id"] = a.cancelAnswersFor
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// entity is a fresh Subscription entity of the reference's shape.
func (a *subscriptionAPI) entity() map[string]any {
	b, err := os.ReadFile("testdata/subscription-entity.json")
	if err != nil {
		a.t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

// find returns the subscription with id; a.mu is held.
func (a *subscriptionAPI) find(id string) map[string]any {
	for _, s := range a.subs {
		if s["id"] == id {
			return s
		}
	}
	return nil
}

// activate moves a subscription along as Razorpay would after the
// customer paid: active, in its first cycle.
func (a *subscriptionAPI) activate(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.find(id)
	start := subNow.Unix()
	s["status"], s["current_start"], s["current_end"], s["paid_count"] = "active", start, subNow.AddDate(0, 1, 0).Unix(), 1
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// planStore is a PlanStore that is safe for concurrent use and, when
// gate is set, holds every Plan call until gate of them are waiting, so
// that many first checkouts all find no plan.
type planStore struct {
	mu    sync.Mutex
	plans map[string]string
	puts  int
	fail  error

	gate    int
	waiting int
	open    chan struct{}
}

func newPlanStore() *planStore {
	return &planStore{plans: map[string]string{}, open: make(chan struct{})}
}

func (p *planStore) Plan(ctx context.Context, gateway, key string) (string, error) {
	p.mu.Lock()
	// What the store holds when asked: a gated reader answers it after the
	// gate opens, as if every read landed before any write.
	id, ok := p.plans[gateway+"/"+key]
	fail := p.fail
	if p.gate > 0 {
		p.waiting++
		if p.waiting == p.gate {
			close(p.open)
		}
		p.mu.Unlock()
		select {
		case <-p.open:
		case <-time.After(5 * time.Second):
		}
	} else {
		p.mu.Unlock()
	}
	if fail != nil {
		return "", fail
	}
	if !ok {
		return "", order.ErrNotFound
	}
	return id, nil
}

func (p *planStore) PutPlan(ctx context.Context, gateway, key, planID string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.puts++
	if id, ok := p.plans[gateway+"/"+key]; ok {
		return id, nil
	}
	p.plans[gateway+"/"+key] = planID
	return planID, nil
}

func subGateway(url string, plans subscription.PlanStore, rt http.RoundTripper) *razorpaygw.Gateway {
	return razorpaygw.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: url, ShopName: "Jam & Co.",
		Plans: plans, Transport: rt, Now: func() time.Time { return subNow }})
}

func newSub() *subscription.Subscription {
	return &subscription.Subscription{ID: subscription.NewID(), Gateway: "razorpay", Status: subscription.Pending,
		SKU: "club-monthly", Name: "Jam club", Quantity: 1, UnitAmount: 90000, Amount: 90000, Currency: "inr",
		Interval: "month", IntervalCount: 1, TrialDays: 7, TotalCount: 12, Email: "a@example.com",
		CreatedAt: subNow.Add(-time.Second), UpdatedAt: subNow.Add(-time.Second)}
}

func TestCreateSubscriptionCheckout_AsTheReferenceDescribes(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	plans := newPlanStore()
	gw := subGateway(srv.URL, plans, nil)
	s := newSub()
	c, err := gw.CreateSubscriptionCheckout(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	// The plan: one unit, per period, with the sku to find it by.
	var plan map[string]any
	_ = json.Unmarshal(api.planBodies[0], &plan)
	wantPlan := map[string]any{"period": "monthly", "interval": 1.0,
		"item":  map[string]any{"name": "Jam club", "amount": 90000.0, "currency": "INR", "description": "every month"},
		"notes": map[string]any{"sku": "club-monthly"}}
	if !equalJSON(plan, wantPlan) {
		t.Errorf("plan = %s", api.planBodies[0])
	}
	planID := plans.plans["razorpay/club-monthly|90000|inr|month|1"]
	if !strings.HasPrefix(planID, "plan_") || c.PlanRef != planID {
		t.Fatalf("stored plan %q, checkout's %q", planID, c.PlanRef)
	}
	// Razorpay's page for the subscription: a failed renewal's mail gives it.
	if c.PaymentLink != "https://rzp.io/i/k3bXq0pZ" {
		t.Errorf("payment link %q, want the entity's short_url", c.PaymentLink)
	}
	// The subscription: our id in its notes, the trial as a future
	// start, the checkout's deadline as its expiry, no Razorpay mail.
	var sub map[string]any
	_ = json.Unmarshal(api.subBodies[0], &sub)
	wantSub := map[string]any{"plan_id": planID, "total_count": 12.0, "quantity": 1.0, "customer_notify": 0.0,
		"notes":    map[string]any{"subscription_id": s.ID},
		"start_at": float64(subNow.AddDate(0, 0, 7).Unix()), "expire_by": float64(subNow.Add(time.Hour).Unix())}
	if !equalJSON(sub, wantSub) {
		t.Errorf("subscription = %s", api.subBodies[0])
	}
	made := api.subs[0]["id"].(string)
	if c.SessionRef != made || c.SubscriptionRef != made || !c.Deadline.Equal(subNow.Add(time.Hour)) {
		t.Errorf("checkout = %+v", c)
	}
	var data map[string]any
	if err := json.Unmarshal(c.Data, &data); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]any{"keyId": "rzp_test_key", "subscriptionId": made, "name": "Jam & Co.",
		"description": "Jam club, every month", "amount": 90000.0, "currency": "INR",
		"prefill": map[string]any{"email": "a@example.com"}, "timeout": 3600.0}
	if !equalJSON(data, wantData) {
		t.Errorf("data = %s", c.Data)
	}
	if strings.Contains(string(c.Data), "key_secret") {
		t.Fatal("the key secret is in what goes to the browser")
	}
	// A plan made by this call has no subscription to look for.
	if api.lists.Load() != 0 {
		t.Errorf("listed subscriptions %d times on a plan just made", api.lists.Load())
	}

	// The next subscriber to the same product uses the same plan; without
	// a trial there is no start_at, and two units cost twice one.
	s2 := newSub()
	s2.TrialDays, s2.Quantity, s2.Amount = 0, 2, 180000
	c2, err := gw.CreateSubscriptionCheckout(context.Background(), s2)
	if err != nil {
		t.Fatal(err)
	}
	sub = map[string]any{}
	_ = json.Unmarshal(api.subBodies[1], &sub)
	_, hasStart := sub["start_at"]
	if api.planCreates.Load() != 1 || c2.PlanRef != planID || hasStart || sub["quantity"] != 2.0 {
		t.Errorf("second subscriber: %d plans, plan %s, body %s", api.planCreates.Load(), c2.PlanRef, api.subBodies[1])
	}
	_ = json.Unmarshal(c2.Data, &data)
	if data["amount"] != 180000.0 || data["description"] != "2 × Jam club, every month" {
		t.Errorf("second subscriber's checkout: %s", c2.Data)
	}

	// Another price or interval is another plan.
	s3 := newSub()
	s3.Interval, s3.IntervalCount = "week", 2
	c3, err := gw.CreateSubscriptionCheckout(context.Background(), s3)
	plan = map[string]any{}
	_ = json.Unmarshal(api.planBodies[1], &plan)
	if err != nil || c3.PlanRef == planID || plan["period"] != "weekly" || plan["interval"] != 2.0 ||
		plan["item"].(map[string]any)["description"] != "every 2 weeks" {
		t.Errorf("fortnightly: %+v %v %s", c3, err, api.planBodies[1])
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestCreateSubscriptionCheckout_ConcurrentFirstCheckoutsUseOnePlan:
// twenty first checkouts of one product at once, none finding a plan, each
// make one; the one stored first is the plan every subscription is on.
func TestCreateSubscriptionCheckout_ConcurrentFirstCheckoutsUseOnePlan(t *testing.T) {
	const n = 20
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	plans := newPlanStore()
	plans.gate = n
	gw := subGateway(srv.URL, plans, nil)
	var wg sync.WaitGroup
	refs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c, err := gw.CreateSubscriptionCheckout(context.Background(), newSub())
			refs[i], errs[i] = c.PlanRef, err
		})
	}
	wg.Wait()
	stored := plans.plans["razorpay/club-monthly|90000|inr|month|1"]
	for i := range n {
		if errs[i] != nil || refs[i] != stored {
			t.Errorf("checkout %d: plan %q, %v; stored %q", i, refs[i], errs[i], stored)
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.subs) != n {
		t.Fatalf("%d subscriptions for %d checkouts", len(api.subs), n)
	}
	for _, s := range api.subs {
		if s["plan_id"] != stored {
			t.Errorf("subscription %s is on %s, not the stored plan %s", s["id"], s["plan_id"], stored)
		}
	}
	if api.planCreates.Load() != n || plans.puts != n {
		t.Errorf("%d plans made and %d stored for %d first checkouts that all found none", api.planCreates.Load(), plans.puts, n)
	}
}

// TestCreateSubscriptionCheckout_ReplayMakesNoSecond: Razorpay made the
// subscription but its answer was lost (a 502 from a proxy); the replay
// finds it by its notes instead of making another.
func TestCreateSubscriptionCheckout_ReplayMakesNoSecond(t *testing.T) {
	api := newSubscriptionAPI(t)
	api.failSubscription, api.makeThenFail, api.failOnce = http.StatusBadGateway, true, true
	srv := httptest.NewServer(api)
	defer srv.Close()
	plans := newPlanStore()
	gw := subGateway(srv.URL, plans, nil)
	// Someone else's subscription on the same plan, made in between.
	other := newSub()
	s := newSub()
	if _, err := gw.CreateSubscriptionCheckout(context.Background(), s); err == nil {
		t.Fatal("a 502 was taken for a subscription")
	}
	if _, err := gw.CreateSubscriptionCheckout(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	s.GatewayError = "razorpay: create subscription: 502"
	c, err := gw.CreateSubscriptionCheckout(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	first := api.subs[0]
	api.mu.Unlock()
	if api.subCreates.Load() != 2 || c.SessionRef != first["id"] || first["notes"].(map[string]string)["subscription_id"] != s.ID {
		t.Fatalf("%d creates; replay got %s, Razorpay made %v for us", api.subCreates.Load(), c.SessionRef, first)
	}
	// Its deadline is the one Razorpay has, from the first attempt.
	if !c.Deadline.Equal(time.Unix(first["expire_by"].(int64), 0)) {
		t.Errorf("deadline %s", c.Deadline)
	}

	// A 5xx before anything was made: the replay makes it, once.
	api.failSubscription, api.makeThenFail, api.failOnce = http.StatusServiceUnavailable, false, true
	s2 := newSub()
	if _, err := gw.CreateSubscriptionCheckout(context.Background(), s2); err == nil {
		t.Fatal("a 503 was taken for a subscription")
	}
	c2, err := gw.CreateSubscriptionCheckout(context.Background(), s2)
	if err != nil || api.subCreates.Load() != 4 || len(api.subs) != 3 || c2.SessionRef != api.subs[2]["id"] {
		t.Fatalf("replay after a 503: %+v %v; %d creates, %d made", c2, err, api.subCreates.Load(), len(api.subs))
	}
}

// lostSubscription delivers the first POST /v1/subscriptions to Razorpay,
// then loses the answer as a client timeout would.
type lostSubscription struct{ lost atomic.Bool }

func (l *lostSubscription) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == "POST" && r.URL.Path == "/v1/subscriptions" && l.lost.CompareAndSwap(false, true) {
		resp.Body.Close()
		return nil, timeoutError{}
	}
	return resp, err
}

func TestCreateSubscriptionCheckout_TimeoutFindsTheSubscription(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := subGateway(srv.URL, newPlanStore(), &lostSubscription{})
	c, err := gw.CreateSubscriptionCheckout(context.Background(), newSub())
	if err != nil {
		t.Fatal(err)
	}
	if api.subCreates.Load() != 1 || api.lists.Load() != 1 || c.SessionRef != api.subs[0]["id"] {
		t.Fatalf("creates %d, lists %d, ref %s: a timed-out create must find the subscription, not make another",
			api.subCreates.Load(), api.lists.Load(), c.SessionRef)
	}
}

// alwaysTimeout never reaches Razorpay.
type alwaysTimeout struct{}

func (alwaysTimeout) RoundTrip(*http.Request) (*http.Response, error) { return nil, timeoutError{} }

// answerWithout answers every create with 200 and an entity with no id.
type answerWithout struct{}

func (answerWithout) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"entity":"subscription","status":"created"}`)), Request: r}, nil
}

// TestCreateSubscriptionCheckout_GatewayFailuresAreErrors: a 5xx, a
// timeout, an unusable answer or a store that cannot keep the plan is an
// error, never a made-up subscription.
func TestCreateSubscriptionCheckout_GatewayFailuresAreErrors(t *testing.T) {
	withPlan := func() *planStore {
		p := newPlanStore()
		p.plans["razorpay/club-monthly|90000|inr|month|1"] = "plan_Pln00000000001"
		return p
	}
	for name, tc := range map[string]struct {
		setup func(*subscriptionAPI)
		plans *planStore
		rt    http.RoundTripper
	}{
		"plan 500":           {setup: func(a *subscriptionAPI) { a.failPlan = 500 }, plans: newPlanStore()},
		"subscription 500":   {setup: func(a *subscriptionAPI) { a.failSubscription = 500 }, plans: newPlanStore()},
		"subscription 502":   {setup: func(a *subscriptionAPI) { a.failSubscription = 502 }, plans: newPlanStore()},
		"list 503":           {setup: func(a *subscriptionAPI) { a.failList = 503 }, plans: withPlan()},
		"every call timeout": {plans: newPlanStore(), rt: alwaysTimeout{}},
		"an answer with no subscription": {plans: withPlan(), rt: answerWithout{},
			setup: func(a *subscriptionAPI) {}},
		"plan store down": {plans: func() *planStore { p := newPlanStore(); p.fail = errors.New("dynamodb: timeout"); return p }()},
	} {
		api := newSubscriptionAPI(t)
		if tc.setup != nil {
			tc.setup(api)
		}
		srv := httptest.NewServer(api)
		c, err := subGateway(srv.URL, tc.plans, tc.rt).CreateSubscriptionCheckout(context.Background(), newSub())
		if err == nil || c.SessionRef != "" || c.Data != nil {
			t.Errorf("%s: %+v %v", name, c, err)
		}
		srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := subGateway("http://127.0.0.1:1", newPlanStore(), nil).CreateSubscriptionCheckout(ctx, newSub()); err == nil {
		t.Error("unreachable: no error")
	}
}

// TestCreateSubscriptionCheckout_RefusesWhatRazorpayCannotSell: a
// subscription Razorpay cannot be asked for is refused before any call.
func TestCreateSubscriptionCheckout_RefusesWhatRazorpayCannotSell(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	for name, change := range map[string]func(*subscription.Subscription){
		"no billing-cycle count": func(s *subscription.Subscription) { s.TotalCount = 0 },
		"an unknown interval":    func(s *subscription.Subscription) { s.Interval = "fortnight" },
		"no interval count":      func(s *subscription.Subscription) { s.IntervalCount = 0 },
		"no quantity":            func(s *subscription.Subscription) { s.Quantity = 0 },
	} {
		s := newSub()
		change(s)
		if _, err := subGateway(srv.URL, newPlanStore(), nil).CreateSubscriptionCheckout(context.Background(), s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := subGateway(srv.URL, nil, nil).CreateSubscriptionCheckout(context.Background(), newSub()); err == nil {
		t.Error("no plan store: no error")
	}
	if n := api.planCreates.Load() + api.subCreates.Load() + api.lists.Load(); n != 0 {
		t.Errorf("%d calls to Razorpay", n)
	}
}

// subscribed makes a subscription at the stand-in and moves it to active,
// as the customer's payment would.
func subscribed(t *testing.T, api *subscriptionAPI, gw *razorpaygw.Gateway) *subscription.Subscription {
	t.Helper()
	s := newSub()
	c, err := gw.CreateSubscriptionCheckout(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	s.SessionRef, s.SubscriptionRef, s.PlanRef = c.SessionRef, c.SubscriptionRef, c.PlanRef
	api.activate(c.SubscriptionRef)
	return s
}

func TestCancelSubscription_AtPeriodEnd(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := subGateway(srv.URL, newPlanStore(), nil)
	s := subscribed(t, api, gw)
	e, err := gw.CancelSubscription(context.Background(), s, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(api.cancelBodies[0]) != `{"cancel_at_cycle_end":1}` {
		t.Errorf("cancel body %s", api.cancelBodies[0])
	}
	id := s.SubscriptionRef
	want := order.Event{Gateway: "razorpay", ID: "api_" + id + "_" + strconv.FormatInt(subNow.UnixNano(), 10),
		Type: "subscription.cancel_requested", Kind: order.KindSubscription, Source: order.SourceOwner,
		SessionRef: id, Refs: []string{id}, Created: subNow,
		Sub: &order.SubFacts{Ref: id, Status: "active", PeriodStart: subNow, PeriodEnd: subNow.AddDate(0, 1, 0), CancelAtPeriodEnd: true}}
	if !equalEvent(e, want) {
		t.Fatalf("\n got %+v %+v\nwant %+v %+v", e, e.Sub, want, want.Sub)
	}
	// Asking again is fine: Razorpay accepts it again.
	if e, err := gw.CancelSubscription(context.Background(), s, true); err != nil || !e.Sub.CancelAtPeriodEnd {
		t.Fatalf("again: %+v %v", e, err)
	}
}

func equalEvent(a, b order.Event) bool {
	return equalJSON(a, b) && equalJSON(a.Sub, b.Sub) && a.Created.Equal(b.Created)
}

func TestCancelSubscription_Now(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := subGateway(srv.URL, newPlanStore(), nil)
	s := subscribed(t, api, gw)
	e, err := gw.CancelSubscription(context.Background(), s, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(api.cancelBodies[0]) != `{"cancel_at_cycle_end":0}` || e.Sub.Status != "canceled" || e.Sub.CancelAtPeriodEnd ||
		e.Kind != order.KindSubscription || e.Source != order.SourceOwner || e.SessionRef != s.SubscriptionRef {
		t.Fatalf("%s: %+v %+v", api.cancelBodies[0], e, e.Sub)
	}
	// Again: Razorpay refuses to cancel what is cancelled; its state is
	// the answer.
	e2, err := gw.CancelSubscription(context.Background(), s, false)
	if err != nil || e2.Sub.Status != "canceled" || api.fetches.Load() != 1 {
		t.Fatalf("again: %+v %v, %d fetches", e2, err, api.fetches.Load())
	}
	if e3, err := gw.CancelSubscription(context.Background(), s, true); err != nil || e3.Sub.Status != "canceled" || e3.Sub.CancelAtPeriodEnd {
		t.Fatalf("at period end after cancelled: %+v %v", e3, err)
	}
}

// TestCancelSubscription_TheWebhooksMapping: the answer is read as the
// webhook reads the same entity: a subscription.cancelled carrying what
// the API answered decodes to the same snapshot.
func TestCancelSubscription_TheWebhooksMapping(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := subGateway(srv.URL, newPlanStore(), nil)
	s := subscribed(t, api, gw)
	e, err := gw.CancelSubscription(context.Background(), s, false)
	if err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	ent := api.find(s.SubscriptionRef)
	body, _ := json.Marshal(map[string]any{"entity": "event", "event": "subscription.cancelled", "contains": []string{"subscription"},
		"payload": map[string]any{"subscription": map[string]any{"entity": ent}}, "created_at": subNow.Unix()})
	api.mu.Unlock()
	w, err := razorpayhook.Decode(body)
	if err != nil || !equalJSON(w.Sub, e.Sub) {
		t.Fatalf("webhook %+v %v, API answer %+v", w.Sub, err, e.Sub)
	}
}

func TestCancelSubscription_Failures(t *testing.T) {
	api := newSubscriptionAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := subGateway(srv.URL, newPlanStore(), nil)
	s := subscribed(t, api, gw)
	for _, status := range []int{500, 502, 503} {
		api.failCancel = status
		if e, err := gw.CancelSubscription(context.Background(), s, true); err == nil || e.Sub != nil {
			t.Errorf("%d: %+v %v", status, e, err)
		}
	}
	api.failCancel = 0
	api.cancelAnswersFor = "sub_Someoneelses01"
	if _, err := gw.CancelSubscription(context.Background(), s, true); err == nil {
		t.Error("an answer about another subscription was taken")
	}
	api.cancelAnswersFor = ""
	calls := api.cancels.Load()
	if _, err := gw.CancelSubscription(context.Background(), newSub(), true); err == nil || api.cancels.Load() != calls {
		t.Errorf("a subscription Razorpay never made: %v", err)
	}
	unknown := newSub()
	unknown.SessionRef = "sub_Neverheardof01"
	if _, err := gw.CancelSubscription(context.Background(), unknown, false); err == nil {
		t.Error("a subscription Razorpay does not know was cancelled")
	}
	if _, err := subGateway(srv.URL, newPlanStore(), alwaysTimeout{}).CancelSubscription(context.Background(), s, true); err == nil {
		t.Error("a timeout was taken for an answer")
	}
}
