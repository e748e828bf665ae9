package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// activeSub is a subscription to the catalog's club, paid up through
// gateway: its first payment recorded, a period running, and its history.
func activeSub(gateway string, created time.Time) *subscription.Subscription {
	_, hash := order.NewToken()
	id := subscription.NewID()
	s := &subscription.Subscription{
		ID: id, Gateway: gateway, Status: subscription.Active, Version: 3,
		SKU: "club-monthly", Name: "Jam club", Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd",
		Interval: "month", IntervalCount: 1, Email: "jam@example.com", TokenHash: hash,
		AccessTokenHashes: []string{order.HashToken("access-link-token")},
		CreatedAt:         created, UpdatedAt: created.Add(time.Minute), Deadline: created.Add(time.Hour),
		SessionRef: "cs_test_" + id[4:], SubscriptionRef: "sub_" + id[4:18], Customer: "cus_" + id[4:16],
		Checkout: `{"url":"https://checkout.stripe.com/c/pay/cs_test"}`,
	}
	ref := "in_" + id[4:18]
	if gateway == "razorpay" {
		s.SKU, s.Name, s.UnitAmount, s.Amount, s.Currency = "club-monthly-inr", "Jam club (India)", 49900, 49900, "inr"
		s.SessionRef, s.PlanRef, s.Customer, s.TotalCount = s.SubscriptionRef, "plan_"+id[4:18], "", 1200
		ref = "pay_" + id[4:18]
	}
	start, end := created.Add(time.Minute), created.Add(time.Minute).AddDate(0, 1, 0)
	s.Evidence = subscription.Evidence{
		Completed: true, PeriodEnd: end.Unix(),
		Snapshot: subscription.Snapshot{At: start.Unix(), Status: subscription.Active},
		Renewals: []subscription.Renewal{{Ref: ref, Amount: s.Amount, Currency: s.Currency, PeriodStart: start.Unix(), PeriodEnd: end.Unix(), At: start.Unix(), First: true}},
	}
	s.History = []order.Change{{At: start, EventID: "evt_started_" + id[4:12], EventType: "customer.subscription.created",
		Source: order.SourceWebhook, From: order.Status(subscription.Pending), To: order.Status(subscription.Active)}}
	return s
}

func mustCreateSub(t *testing.T, s *dynamostore.Store, subs ...*subscription.Subscription) {
	t.Helper()
	for _, sub := range subs {
		if err := s.CreateSubscription(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
	}
}

func mustGetSub(t *testing.T, s *dynamostore.Store, id string) *subscription.Subscription {
	t.Helper()
	sub, err := s.GetSubscription(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestSubscriptions_TableAndJSON: `jampay subscriptions` shows the
// subscriptions each filter chooses, newest first, with the plan, the
// amount per period as the site writes money, whether the subscriber is
// entitled and when the period ends; or as JSON lines, without a token's
// hash. Orders in the same table are not listed.
func TestSubscriptions_TableAndJSON(t *testing.T) {
	env, store := shopTable(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	oldest := activeSub("stripe", day)
	rupees := activeSub("razorpay", day.Add(24*time.Hour))
	failing := activeSub("stripe", day.Add(48*time.Hour))
	failing.Status, failing.Evidence.FailureReason, failing.Evidence.FailureAt = subscription.PastDue, "card_declined", day.Add(49*time.Hour).Unix()
	ending := activeSub("stripe", day.Add(72*time.Hour))
	ending.Evidence.Snapshot.CancelAtPeriodEnd = true
	canceled := activeSub("stripe", day.Add(96*time.Hour))
	canceled.Status, canceled.Evidence.Canceled = subscription.Canceled, true
	mustCreateSub(t, store, oldest, rupees, failing, ending, canceled)
	mustCreate(t, store, paidOrder("stripe", day, 4000, "usd"))

	out, errOut, err := jampay(ctx, env, "subscriptions")
	if err != nil {
		t.Fatal(err, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []struct{ id, status, entitled, amount, ends string }{
		{canceled.ID, "canceled", "no", "$9.00/month", "2026-12-07 09:01 (ended)"},
		{ending.ID, "active", "yes", "$9.00/month", "2026-12-06 09:01 (then ends)"},
		{failing.ID, "past_due", "yes", "$9.00/month", "2026-12-05 09:01"},
		{rupees.ID, "active", "yes", "₹499.00/month", "2026-12-04 09:01"},
		{oldest.ID, "active", "yes", "$9.00/month", "2026-12-03 09:01"},
	}
	if len(lines) != 1+len(want) || !strings.HasPrefix(lines[0], "SUBSCRIPTION") {
		t.Fatalf("table:\n%s", out)
	}
	amountEnd := -1
	for i, w := range want {
		l := lines[i+1]
		f := strings.Fields(l)
		if f[0] != w.id || f[3] != w.status || f[4] != w.entitled || !strings.Contains(l, w.amount) || !strings.Contains(l, w.ends) ||
			f[len(f)-1] != "jam@example.com" {
			t.Errorf("line %d: %q, want %+v", i+1, l, w)
		}
		if end := len([]rune(l[:strings.Index(l, w.amount)+len(w.amount)])); amountEnd != -1 && end != amountEnd {
			t.Errorf("amounts not aligned right:\n%s", out)
		} else {
			amountEnd = end
		}
	}
	if errOut != "5 subscriptions.\n" {
		t.Errorf("stderr %q", errOut)
	}

	for _, c := range []struct {
		args []string
		want []string
		note string
	}{
		{[]string{"-status", "active"}, []string{ending.ID, rupees.ID, oldest.ID}, ""},
		{[]string{"-gateway", "razorpay"}, []string{rupees.ID}, "1 subscription.\n"},
		{[]string{"-status", "active", "-gateway", "stripe"}, []string{ending.ID, oldest.ID}, ""},
		{[]string{"-limit", "2"}, []string{canceled.ID, ending.ID}, "The newest 2 of 5 subscriptions that match (-limit 2).\n"},
		{[]string{"-status", "halted"}, nil, "No subscriptions match.\n"},
	} {
		out, errOut, err := jampay(ctx, env, append([]string{"subscriptions", "-json"}, c.args...)...)
		if err != nil {
			t.Fatalf("%v: %v %s", c.args, err, errOut)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%v: line %q: %v", c.args, l, err)
			}
			if strings.Contains(strings.ToLower(l), "tokenhash") || strings.Contains(l, oldest.TokenHash) || strings.Contains(l, "checkout.stripe.com") {
				t.Fatalf("a token's hash or the checkout is listed: %s", l)
			}
			got = append(got, m["subscriptionId"].(string))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("subscriptions %v: listed %v, want %v", c.args, got, c.want)
		}
		if c.note != "" && errOut != c.note {
			t.Errorf("subscriptions %v: stderr %q, want %q", c.args, errOut, c.note)
		}
	}

	// One line of -json, whole: the status endpoint's fields.
	out, _, _ = jampay(ctx, env, "subscriptions", "-json", "-status", "past_due")
	var line struct {
		SubscriptionID, Status, Gateway, SKU, Currency, Interval string
		Amount, IntervalCount                                    int64
		Entitled, CancelAtPeriodEnd                              bool
		CurrentPeriodEnd                                         *time.Time
		TrialEnd                                                 *time.Time
		FailureReason                                            *string
	}
	if err := json.Unmarshal([]byte(out), &line); err != nil || line.SubscriptionID != failing.ID || line.Status != "past_due" ||
		!line.Entitled || line.Amount != 900 || line.Currency != "usd" || line.Interval != "month" || line.IntervalCount != 1 ||
		line.CurrentPeriodEnd == nil || line.CurrentPeriodEnd.Unix() != failing.Evidence.PeriodEnd || line.TrialEnd != nil ||
		line.FailureReason == nil || *line.FailureReason != "card_declined" {
		t.Fatalf("-json line %s (%v)", out, err)
	}
}

// TestSubscription_Everything: `jampay subscription ID` shows the plan,
// the status and whether the subscriber is entitled, the period's and the
// trial's ends, the cancellation, the failure, the gateway's references,
// each payment with its amount and period (a mismatched one flagged), the
// refunds and disputes of its payments, the history with who acted, and
// its outbox; -json holds the same, and never a token's hash.
func TestSubscription_Everything(t *testing.T) {
	env, store := shopTable(t)
	ctx := context.Background()
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := activeSub("stripe", created)
	s.TrialDays = 7
	s.Status = subscription.PastDue
	s.Evidence.Snapshot = subscription.Snapshot{At: created.AddDate(0, 1, 0).Unix(), Status: subscription.PastDue,
		TrialEnd: created.AddDate(0, 0, 7).Unix(), CancelAtPeriodEnd: true}
	s.Evidence.FailureAt, s.Evidence.FailureReason = created.AddDate(0, 1, 0).Unix(), "insufficient_funds"
	first := s.Evidence.Renewals[0]
	first.Amount = 0 // the trial's invoice
	second := subscription.Renewal{Ref: "in_renewal2", Amount: 1200, Currency: "usd", PeriodStart: first.PeriodEnd,
		PeriodEnd: time.Unix(first.PeriodEnd, 0).AddDate(0, 1, 0).Unix(), At: first.PeriodEnd + 60}
	s.Evidence.Renewals = []subscription.Renewal{first, second}
	s.Evidence.PeriodEnd = second.PeriodEnd
	s.Evidence.Mismatched = []string{"in_renewal2"}
	s.Evidence.Refunded = []string{"in_renewal2"}
	s.Evidence.Disputed = []string{"dp_1Q2w3e"}
	s.History = append(s.History,
		order.Change{At: created.Add(time.Hour), EventID: "api_sub_1", EventType: "subscription.cancel_requested", Source: order.SourceOwner,
			Actor: "arn:aws:iam::123456789012:user/owner", From: order.Status(subscription.Active), To: order.Status(subscription.Active)},
		order.Change{At: created.AddDate(0, 1, 0), EventID: "evt_failed", EventType: "invoice.payment_failed", Source: order.SourceReconcile,
			Actor: "local", From: order.Status(subscription.Active), To: order.Status(subscription.PastDue)})
	s.Outbox = []order.Owed{
		{Effect: order.Effect{OrderID: s.ID, Version: 2, Type: "subscription.active", Mail: subscription.MailStarted, OwedAt: created}, State: order.EffectSent, Attempts: 1},
		{Effect: order.Effect{OrderID: s.ID, Version: 3, Type: "subscription.past_due", Mail: subscription.MailRenewalFailed, OwedAt: created.AddDate(0, 1, 0)},
			State: order.EffectFailed, Attempts: 5, LastError: "ses: throttled"},
	}
	mustCreateSub(t, store, s)

	out, _, err := jampay(ctx, env, "subscription", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Subscription", s.ID, "past_due", "yes (a renewal failed; the gateway is retrying)",
		"Jam club (club-monthly) × 1", "$9.00 every month (usd)", "7 days", "Trial ends", "2026-11-29 10:00:00 UTC",
		"jam@example.com", "version 3", "Period ends", stamp(time.Unix(second.PeriodEnd, 0)),
		"Cancel at period end", "yes: it ends then", "Failure", "insufficient_funds",
		s.SessionRef, s.SubscriptionRef, s.Customer,
		first.Ref, "first", "$0.00",
		"in_renewal2", "renewal", "$12.00", "MISMATCH: the subscription is $9.00 usd", "refunded at the gateway",
		"1 payment charged another amount or currency than the subscription's $9.00 usd: in_renewal2",
		"Disputes opened at the gateway: dp_1Q2w3e",
		"customer.subscription.created", "webhook", "pending → active",
		"subscription.cancel_requested", "owner", "arn:aws:iam::123456789012:user/owner", "active (no change of status)",
		"invoice.payment_failed", "reconcile", "local", "active → past_due",
		"subscription.past_due", subscription.MailRenewalFailed, "failed", "5 attempts", "ses: throttled",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("jampay subscription lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, first.Ref) > strings.Index(out, "in_renewal2 ") {
		t.Errorf("payments not in the order they were paid:\n%s", out)
	}
	if strings.Contains(out, s.TokenHash) || strings.Contains(out, "checkout.stripe.com") {
		t.Errorf("a token's hash or the checkout is shown:\n%s", out)
	}

	out, _, err = jampay(ctx, env, "subscription", "-json", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		SubscriptionID, Status, SubscriptionRef, Customer string
		Version, TrialDays                                int64
		Entitled, CancelAtPeriodEnd                       bool
		CurrentPeriodEnd, TrialEnd                        *time.Time
		FailureReason                                     *string
		Renewals                                          []struct {
			Ref                 string
			Amount              int64
			Currency            string
			PeriodStart, PaidAt *time.Time
			First, Mismatched   bool
		}
		MismatchedRenewals, RefundedPayments, Disputes []string
		History                                        []struct{ EventType, Source, Actor, From, To string }
		Outbox                                         []struct {
			Version         int64
			Type, State     string
			Attempts        int
			LastError, Mail string
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err, out)
	}
	if v.SubscriptionID != s.ID || v.Status != "past_due" || !v.Entitled || !v.CancelAtPeriodEnd || v.Version != 3 || v.TrialDays != 7 ||
		v.CurrentPeriodEnd == nil || v.CurrentPeriodEnd.Unix() != second.PeriodEnd || v.TrialEnd == nil || v.FailureReason == nil ||
		v.SubscriptionRef != s.SubscriptionRef || v.Customer != s.Customer {
		t.Errorf("subscription -json: %s", out)
	}
	if len(v.Renewals) != 2 || v.Renewals[0].Ref != first.Ref || !v.Renewals[0].First || v.Renewals[1].Amount != 1200 ||
		!v.Renewals[1].Mismatched || v.Renewals[1].PaidAt == nil || !slices.Equal(v.MismatchedRenewals, []string{"in_renewal2"}) ||
		!slices.Equal(v.RefundedPayments, []string{"in_renewal2"}) || !slices.Equal(v.Disputes, []string{"dp_1Q2w3e"}) {
		t.Errorf("payments: %+v %v %v %v", v.Renewals, v.MismatchedRenewals, v.RefundedPayments, v.Disputes)
	}
	if len(v.History) != 3 || v.History[1].Source != "owner" || v.History[1].Actor != "arn:aws:iam::123456789012:user/owner" ||
		v.History[2].To != "past_due" {
		t.Errorf("history: %+v", v.History)
	}
	if len(v.Outbox) != 2 || v.Outbox[1].State != "failed" || v.Outbox[1].Attempts != 5 || v.Outbox[1].Mail != subscription.MailRenewalFailed {
		t.Errorf("outbox: %+v", v.Outbox)
	}
	if strings.Contains(out, s.TokenHash) || strings.Contains(out, s.AccessTokenHashes[0]) || strings.Contains(out, "checkout.stripe.com") {
		t.Errorf("-json holds a token's hash or the checkout: %s", out)
	}
}

// TestSubscriptions_ClearErrors: a mistyped or hostile id is refused
// before the table is read, an order's id given to a subscription's
// command (and the other way round) says which command to use, and what
// the owner has not set is named.
func TestSubscriptions_ClearErrors(t *testing.T) {
	env, store := shopTable(t)
	ctx := context.Background()
	o := paidOrder("stripe", time.Now().Add(-time.Hour), 4000, "usd")
	mustCreate(t, store, o)
	s := activeSub("stripe", time.Now().Add(-time.Hour))
	mustCreateSub(t, store, s)
	unknown := subscription.NewID()
	hostile := []string{"sbn_nope", "../../etc/passwd", "sbn_" + strings.Repeat("A", 26) + "\x1b[2J", "sbn_" + strings.Repeat("0", 27),
		"SBN_" + unknown[4:], "subscription#" + s.ID, s.ID + " ", strings.Repeat("x", 5000)}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"subscriptions", "-status", "paid"}, `-status "paid" is not a subscription status`},
		{env, []string{"subscriptions", "-gateway", "paypal"}, "want stripe or razorpay"},
		{env, []string{"subscriptions", "-limit", "0"}, "-limit must be at least 1"},
		{env, []string{"subscriptions", "active"}, "subscriptions takes no arguments"},
		{env, []string{"subscription"}, "subscription takes 1 argument, got 0"},
		{env, []string{"subscription", unknown}, "unknown subscription " + unknown + ": table " + env["TABLE_NAME"] + " holds no subscription"},
		{with(env, "TABLE_NAME", ""), []string{"subscriptions"}, "missing setting: TABLE_NAME"},
		// Which command, for which id.
		{env, []string{"subscription", o.ID}, o.ID + " is an order, not a subscription: see it with `jampay order " + o.ID + "`"},
		{env, []string{"order", s.ID}, s.ID + " is a subscription, not an order: see it with `jampay subscription " + s.ID + "`"},
		{env, []string{"cancel", o.ID}, o.ID + " is an order: cancel ends subscriptions; `jampay refund " + o.ID + "` refunds an order"},
		{env, []string{"refund", s.ID}, s.ID + " is a subscription: jampay refund refunds orders"},
		{env, []string{"cancel"}, "cancel takes 1 argument, got 0 (usage: jampay cancel ID [-now])"},
	} {
		out, _, err := jampay(ctx, c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
		if out != "" {
			t.Errorf("%v printed %q", c.args, out)
		}
	}
	for _, id := range hostile {
		for _, cmd := range []string{"subscription", "cancel"} {
			_, _, err := jampay(ctx, env, cmd, id)
			if err == nil || !strings.Contains(err.Error(), "unknown subscription \"") || strings.Contains(err.Error(), "\x1b") || len(err.Error()) > 300 {
				t.Errorf("%s %.60q: %v", cmd, id, err)
			}
		}
		if _, _, err := jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json", id); err == nil ||
			!strings.Contains(err.Error(), "unknown order or subscription \"") || strings.Contains(err.Error(), "\x1b") {
			t.Errorf("effects retry %.60q: %v", id, err)
		}
	}
	if got := mustGetSub(t, store, s.ID); got.Version != s.Version {
		t.Fatalf("a refused command wrote the subscription: %+v", got.History)
	}
}

// TestCancel_StripeAtPeriodEndRecordsWhoActed: `jampay cancel ID` asks
// Stripe (stripe-mock) to cancel at the period's end, applies Stripe's
// answer through the evidence path, and records the owner's action, by
// "local" on DynamoDB Local; asking again asks nothing.
func TestCancel_StripeAtPeriodEndRecordsWhoActed(t *testing.T) {
	env, store := shopTable(t)
	env = with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "test", "STRIPE_API_BASE", stripeMock(t))
	ctx := context.Background()
	s := activeSub("stripe", time.Now().Add(-time.Hour))
	mustCreateSub(t, store, s)

	out, errOut, err := jampay(ctx, env, "cancel", s.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	got := mustGetSub(t, store, s.ID)
	if !got.CancelAtPeriodEnd() || got.Status != subscription.Active || !got.Entitled() {
		t.Fatalf("after cancel: %s, cancel at period end %v", got.Status, got.CancelAtPeriodEnd())
	}
	last := got.History[len(got.History)-1]
	if last.Source != order.SourceOwner || last.Actor != "local" || last.EventType != "subscription.cancel_requested" {
		t.Fatalf("history %+v", got.History)
	}
	for _, want := range []string{
		"stripe will cancel subscription " + s.ID + " at the end of its period (" + stamp(got.CurrentPeriodEnd()) + "): it stays active until then, and renews no more.",
		"Recorded in its history as the owner's, by local. Nothing was refunded.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = jampay(ctx, env, "cancel", s.ID)
	if err != nil || !strings.Contains(out, "ends at the end of its period already") {
		t.Fatalf("asked twice: %v\n%s", err, out)
	}
	if again := mustGetSub(t, store, s.ID); again.Version != got.Version {
		t.Fatalf("asking twice wrote the subscription again")
	}
	if out, _, _ := jampay(ctx, env, "subscription", s.ID); !strings.Contains(out, "subscription.cancel_requested") || !strings.Contains(out, "yes: it ends then") {
		t.Errorf("jampay subscription after the cancel:\n%s", out)
	}
}

// razorpaySubsAPI stands in for Razorpay's "Cancel a Subscription"
// (POST /v1/subscriptions/:id/cancel, HTTP basic auth, body
// {"cancel_at_cycle_end":0|1}), answering with the Subscription entity in
// the shape of pkg/razorpaygw/testdata/subscription-entity.json (the
// reference's example).
type razorpaySubsAPI struct {
	t     *testing.T
	mu    sync.Mutex
	calls []string
}

var subscriptionCancel = regexp.MustCompile(`^/v1/subscriptions/(sub_[A-Za-z0-9]+)/cancel$`)

func (a *razorpaySubsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+" "+string(b))
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret_1234567890" {
		a.t.Errorf("%s %s: basic auth %q %q %v", r.Method, r.URL.Path, u, p, ok)
	}
	m := subscriptionCancel.FindStringSubmatch(r.URL.Path)
	if r.Method != "POST" || m == nil {
		a.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body struct {
		CancelAtCycleEnd int `json:"cancel_at_cycle_end"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		a.t.Errorf("cancel body %s: %v", b, err)
	}
	now := time.Now().Unix()
	status, endedAt := "active", any(nil)
	if body.CancelAtCycleEnd == 0 {
		status, endedAt = "cancelled", now
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": m[1], "entity": "subscription", "plan_id": "plan_NwXJvJ7oEhG0Pa", "status": status,
		"current_start": now - 3600, "current_end": now + 29*24*3600, "ended_at": endedAt, "quantity": 1,
		"notes": map[string]string{}, "charge_at": now + 29*24*3600, "start_at": now - 3600, "end_at": now + 365*24*3600,
		"auth_attempts": 0, "total_count": 1200, "paid_count": 1, "customer_notify": false, "created_at": now - 7200,
		"expire_by": nil, "short_url": "https://rzp.io/i/k3bXq0pZ", "has_scheduled_changes": false, "change_scheduled_at": nil,
		"source": "api", "offer_id": nil, "remaining_count": 1199,
	})
}

// TestCancel_RazorpayNowAsTheAWSPrincipal: against AWS (DynamoDB Local
// behind AWS_ENDPOINT_URL_DYNAMODB, stand-ins for STS, SSM and Razorpay),
// `jampay cancel ID -now` reads the API keys from SSM under
// SECRETS_PARAMETER_PATH as `jampay refund` does, asks Razorpay to cancel
// now, and records the principal STS names in the history.
func TestCancel_RazorpayNowAsTheAWSPrincipal(t *testing.T) {
	env, store := awsTable(t)
	api := &razorpaySubsAPI{t: t}
	rzp := httptest.NewServer(api)
	t.Cleanup(rzp.Close)
	const arn = "arn:aws:sts::123456789012:assumed-role/ShopOwner/alice"
	var asked []string
	ssm := ssmAPI(t, map[string]string{
		"/jampay/test/RAZORPAY_KEY_ID": "rzp_test_key", "/jampay/test/RAZORPAY_KEY_SECRET": "key_secret_1234567890",
	}, &asked)
	env = with(env, "SECRETS_PARAMETER_PATH", "/jampay/test", "AWS_ENDPOINT_URL_SSM", ssm.URL, "AWS_ENDPOINT_URL_STS", stsAPI(t, arn).URL,
		"RAZORPAY_API_BASE", rzp.URL, "RAZORPAY_KEY_ID", "rzp_test_wrong", "RAZORPAY_KEY_SECRET", "wrong-secret")
	ctx := context.Background()
	s := activeSub("razorpay", time.Now().Add(-2*time.Hour))
	mustCreateSub(t, store, s)

	out, errOut, err := jampay(ctx, env, "cancel", "-now", s.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	want := []string{"/jampay/test/RAZORPAY_KEY_ID", "/jampay/test/RAZORPAY_KEY_SECRET", "/jampay/test/STRIPE_SECRET_KEY"}
	if slices.Sort(asked); !slices.Equal(asked, want) {
		t.Errorf("asked SSM for %v, want %v", asked, want)
	}
	if len(api.calls) != 1 || api.calls[0] != fmt.Sprintf("POST /v1/subscriptions/%s/cancel {\"cancel_at_cycle_end\":0}", s.SubscriptionRef) {
		t.Fatalf("Razorpay was asked %q", api.calls)
	}
	got := mustGetSub(t, store, s.ID)
	last := got.History[len(got.History)-1]
	if got.Status != subscription.Canceled || got.Entitled() || last.Source != order.SourceOwner || last.Actor != arn ||
		last.To != order.Status(subscription.Canceled) {
		t.Fatalf("after cancel -now: %s, history %+v", got.Status, got.History)
	}
	for _, want := range []string{"razorpay canceled subscription " + s.ID + " now: it is canceled, and the subscriber is no longer entitled.",
		"by " + arn + ". Nothing was refunded."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Ended: asking again asks nothing.
	out, _, err = jampay(ctx, env, "cancel", s.ID)
	if err != nil || !strings.Contains(out, "is canceled already: there is nothing to cancel") || len(api.calls) != 1 {
		t.Fatalf("asked again: %v %q, calls %q", err, out, api.calls)
	}
}

// TestCancel_ClearErrors: a subscription whose checkout never completed,
// and missing keys or settings, are each said plainly, and nothing is
// asked of a gateway or written.
func TestCancel_ClearErrors(t *testing.T) {
	env, store := shopTable(t)
	api := &razorpaySubsAPI{t: t}
	rzp := httptest.NewServer(api)
	t.Cleanup(rzp.Close)
	withStripe := with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "test", "STRIPE_API_BASE", "http://127.0.0.1:1")
	withRazorpay := with(env, razorpayKeys(rzp.URL)...)
	pending := activeSub("stripe", time.Now().Add(-time.Hour))
	pending.Status, pending.SubscriptionRef, pending.Evidence = subscription.Pending, "", subscription.Evidence{}
	stripeSub := activeSub("stripe", time.Now().Add(-time.Hour))
	rupees := activeSub("razorpay", time.Now().Add(-time.Hour))
	mustCreateSub(t, store, pending, stripeSub, rupees)
	for _, c := range []struct {
		env  map[string]string
		id   string
		want string
	}{
		{withStripe, pending.ID, "subscription " + pending.ID + " is pending: its checkout was never completed, so stripe has nothing to cancel"},
		{env, stripeSub.ID, "no gateway is configured (set STRIPE_SECRET_KEY, or RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET)"},
		{withRazorpay, stripeSub.ID, "missing setting: subscription " + stripeSub.ID + " is billed through stripe, and canceling it needs stripe's API keys: STRIPE_SECRET_KEY (and STRIPE_MODE)"},
		{withStripe, rupees.ID, "canceling it needs razorpay's API keys: RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET"},
		{with(withStripe, "STRIPE_MODE", ""), stripeSub.ID, "missing setting: STRIPE_MODE"},
		{with(withStripe, "DYNAMODB_ENDPOINT", ""), stripeSub.ID, "no AWS credentials to reach table"},
		// Stripe unreachable: said as the gateway's failure, nothing changed.
		{withStripe, stripeSub.ID, "stripe did not cancel subscription " + stripeSub.ID + ": "},
	} {
		out, _, err := jampay(context.Background(), c.env, "cancel", c.id)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("cancel %s: %v, want %q", c.id, err, c.want)
		}
		if out != "" {
			t.Errorf("cancel %s printed %q", c.id, out)
		}
	}
	for _, s := range []*subscription.Subscription{pending, stripeSub, rupees} {
		if got := mustGetSub(t, store, s.ID); got.Version != s.Version {
			t.Errorf("a refused cancel wrote %s: %+v", s.ID, got.History)
		}
	}
	if len(api.calls) != 0 {
		t.Fatalf("Razorpay was asked: %q", api.calls)
	}
}
