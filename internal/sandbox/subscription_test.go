package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

func testSubscription(id, currency string, trialDays int64) *subscription.Subscription {
	return &subscription.Subscription{ID: id, Gateway: "stripe", Status: subscription.Pending, SKU: "club-monthly", Name: "Jam club",
		Quantity: 1, UnitAmount: 900, Amount: 900, Currency: currency, Interval: "month", IntervalCount: 1, TrialDays: trialDays,
		TotalCount: 1200, Email: "a@example.com"}
}

// heard is one webhook as jampay's decoder read it: its type, kind, the
// snapshot's status, and when the gateway stamped it.
type heard struct {
	Type   string
	Kind   order.Kind
	Status string
}

func (r *rig) heardSince() []heard {
	var out []heard
	for _, e := range r.decoded() {
		h := heard{Type: e.Type, Kind: e.Kind}
		if e.Sub != nil {
			h.Status = e.Sub.Status
		}
		out = append(out, h)
	}
	return out
}

// press posts one of the subscription page's buttons and expects status.
func (r *rig) press(id, action string, want int) {
	r.Helper()
	resp, body := r.post(r.url + "/sandbox/subscriptions/" + id + "/" + action)
	if resp.StatusCode != want {
		r.Fatalf("%s: %d %s, want %d", action, resp.StatusCode, body, want)
	}
}

// TestStripeSubscription_EveryControlSendsStripesEvents: subscribing to a
// plan with a trial, then each time control, sends Stripe's events for it,
// signed and read by jampay's decoder as the right kinds and snapshots,
// each stamped later than the one before; a cancel answers like Stripe's
// API and sends the update, and the period's end deletes it.
func TestStripeSubscription_EveryControlSendsStripesEvents(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	sub := testSubscription("sbn_stripe1", "usd", 7)
	co, err := r.sb.Stripe().CreateSubscriptionCheckout(ctx, sub)
	if err != nil || !strings.HasPrefix(co.SessionRef, "cs_sandbox_") || co.SubscriptionRef != "" {
		t.Fatalf("%+v %v", co, err)
	}
	again, _ := r.sb.Stripe().CreateSubscriptionCheckout(ctx, sub)
	if again.SessionRef != co.SessionRef {
		t.Fatal("asking twice made two checkouts")
	}
	var data struct{ URL string }
	_ = json.Unmarshal(co.Data, &data)
	if html := r.page(data.URL); !strings.Contains(html, ">Subscribe</button>") || !strings.Contains(html, "7-day free trial") {
		t.Fatalf("checkout page:\n%s", html)
	}
	r.press(co.SessionRef, "decline", http.StatusSeeOther)
	if got := r.heardSince(); len(got) != 0 {
		t.Fatalf("a decline sent %v: Stripe sends nothing final", got)
	}
	if html := r.page(data.URL); !strings.Contains(html, "Your card was declined.") {
		t.Fatal("the decline is not shown on the page")
	}
	resp, _ := r.post(data.URL + "/subscribe")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != r.url+"/account.html?subscription="+sub.ID {
		t.Fatalf("subscribe: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	steps := []struct {
		action string
		want   []heard
	}{
		{"", []heard{{"checkout.session.completed", order.KindPaid, ""}, {"customer.subscription.created", order.KindSubscription, "trialing"},
			{"invoice.paid", order.KindRenewalPaid, ""}}},
		{"end-trial", []heard{{"customer.subscription.updated", order.KindSubscription, "active"}, {"invoice.paid", order.KindRenewalPaid, ""}}},
		{"renew", []heard{{"invoice.paid", order.KindRenewalPaid, ""}, {"customer.subscription.updated", order.KindSubscription, "active"}}},
		{"fail", []heard{{"invoice.payment_failed", order.KindRenewalFailed, ""}, {"customer.subscription.updated", order.KindSubscription, "past_due"}}},
		{"exhaust", []heard{{"invoice.payment_failed", order.KindRenewalFailed, ""}, {"customer.subscription.updated", order.KindSubscription, "halted"}}},
		{"update-card", []heard{{"invoice.paid", order.KindRenewalPaid, ""}, {"customer.subscription.updated", order.KindSubscription, "active"}}},
	}
	var last time.Time
	var firstInvoice bool
	for _, step := range steps {
		if step.action != "" {
			r.press(sub.ID, step.action, http.StatusSeeOther)
		}
		events := r.decoded()
		var got []heard
		for _, e := range events {
			h := heard{Type: e.Type, Kind: e.Kind}
			if e.Sub != nil {
				h.Status = e.Sub.Status
			}
			got = append(got, h)
			if !e.Created.After(last) {
				t.Errorf("%s: %s stamped %s, not after %s", step.action, e.Type, e.Created, last)
			}
			last = e.Created
			if e.OrderID != sub.ID && e.SessionRef != co.SessionRef {
				t.Errorf("%s: %s names neither the subscription nor its checkout: %+v", step.action, e.Type, e)
			}
			if e.Type == "invoice.paid" && step.action == "" {
				firstInvoice = e.Sub.FirstInvoice && e.Amount == 0
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%q sent %v, want %v", step.action, got, step.want)
		}
	}
	if !firstInvoice {
		t.Error("the trial's first invoice is not a zero subscription_create one")
	}
	// Cancel at the period's end, as the site's Cancel asks it.
	e, err := r.sb.Stripe().CancelSubscription(ctx, sub, true)
	if err != nil || e.Kind != order.KindSubscription || e.Sub == nil || !e.Sub.CancelAtPeriodEnd || e.Sub.Status != "active" || !e.Created.After(last) {
		t.Fatalf("cancel's answer: %+v %v", e, err)
	}
	r.sb.Wait()
	if got := r.heardSince(); fmt.Sprint(got) != fmt.Sprint([]heard{{"customer.subscription.updated", order.KindSubscription, "active"}}) {
		t.Fatalf("after cancel: %v", got)
	}
	r.press(sub.ID, "renew", http.StatusConflict)
	r.press(sub.ID, "end-period", http.StatusSeeOther)
	if got := r.heardSince(); fmt.Sprint(got) != fmt.Sprint([]heard{{"customer.subscription.deleted", order.KindSubscription, "canceled"}}) {
		t.Fatalf("the period's end: %v", got)
	}
	r.press(sub.ID, "renew", http.StatusConflict)
}

// TestStripeSubscription_AbandonExpiresTheSession: Abandon expires the
// session in subscription mode; the closed checkout takes nothing more.
func TestStripeSubscription_AbandonExpiresTheSession(t *testing.T) {
	r := newRig(t)
	sub := testSubscription("sbn_stripe2", "usd", 0)
	co, _ := r.sb.Stripe().CreateSubscriptionCheckout(context.Background(), sub)
	r.press(co.SessionRef, "abandon", http.StatusSeeOther)
	ev := r.decoded()
	if len(ev) != 1 || ev[0].Type != "checkout.session.expired" || ev[0].Kind != order.KindExpired || ev[0].OrderID != sub.ID || ev[0].Sub == nil {
		t.Fatalf("abandon: %+v", ev)
	}
	r.press(co.SessionRef, "subscribe", http.StatusConflict)
	r.press(sub.ID, "renew", http.StatusConflict)
	if _, err := r.sb.Stripe().PortalURL(context.Background(), sub, ""); err == nil {
		t.Error("a portal for a subscription that never started")
	}
}

// TestRazorpaySubscription_EveryControlSendsRazorpaysEvents: Checkout.js's
// Subscribe authenticates the subscription and, with no trial, activates
// and charges it; each time control sends Razorpay's events; a cancel at
// the cycle's end answers like Razorpay's API and sends nothing, and the
// cycle's end cancels it.
func TestRazorpaySubscription_EveryControlSendsRazorpaysEvents(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	sub := testSubscription("sbn_rzp1", "inr", 0)
	sub.Gateway, sub.Amount, sub.UnitAmount = "razorpay", 49900, 49900
	co, err := r.sb.Razorpay().CreateSubscriptionCheckout(ctx, sub)
	var data struct{ SubscriptionID, Script string }
	_ = json.Unmarshal(co.Data, &data)
	if err != nil || !strings.HasPrefix(co.SessionRef, "sub_") || co.SubscriptionRef != co.SessionRef || data.SubscriptionID != co.SessionRef || data.Script == "" {
		t.Fatalf("%+v %s %v", co, co.Data, err)
	}
	resp, body := r.post(r.url + "/sandbox/subscriptions/" + co.SessionRef + "/decline")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "declined by your bank") || len(r.decoded()) != 0 {
		t.Fatalf("decline: %d %s", resp.StatusCode, body)
	}
	resp, body = r.post(r.url + "/sandbox/subscriptions/" + co.SessionRef + "/subscribe")
	var handed map[string]string
	_ = json.Unmarshal([]byte(body), &handed)
	if resp.StatusCode != http.StatusOK || handed["razorpay_subscription_id"] != co.SessionRef || handed["razorpay_signature"] == "" {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	steps := []struct {
		action string
		want   []heard
	}{
		{"", []heard{{"subscription.authenticated", order.KindSubscription, "active"}, {"subscription.activated", order.KindSubscription, "active"},
			{"subscription.charged", order.KindRenewalPaid, "active"}}},
		{"renew", []heard{{"subscription.charged", order.KindRenewalPaid, "active"}}},
		{"fail", []heard{{"subscription.pending", order.KindSubscription, "past_due"}}},
		{"renew", []heard{{"subscription.charged", order.KindRenewalPaid, "active"}}},
		{"exhaust", []heard{{"subscription.pending", order.KindSubscription, "past_due"}, {"subscription.halted", order.KindSubscription, "halted"}}},
	}
	var last time.Time
	for _, step := range steps {
		if step.action != "" {
			r.press(sub.ID, step.action, http.StatusSeeOther)
		}
		var got []heard
		for _, e := range r.decoded() {
			got = append(got, heard{e.Type, e.Kind, e.Sub.Status})
			if !e.Created.After(last) || e.SessionRef != co.SessionRef {
				t.Errorf("%s: %s at %s (after %s) naming %q", step.action, e.Type, e.Created, last, e.SessionRef)
			}
			last = e.Created
		}
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%q sent %v, want %v", step.action, got, step.want)
		}
	}
	r.press(sub.ID, "update-card", http.StatusConflict)
	e, err := r.sb.Razorpay().CancelSubscription(ctx, sub, true)
	if err != nil || !e.Sub.CancelAtPeriodEnd || e.SessionRef != co.SessionRef {
		t.Fatalf("cancel: %+v %v", e, err)
	}
	r.sb.Wait()
	if got := r.decoded(); len(got) != 0 {
		t.Fatalf("Razorpay sends nothing for a cancel at the cycle's end: %v", got)
	}
	r.press(sub.ID, "end-period", http.StatusSeeOther)
	if got := r.heardSince(); fmt.Sprint(got) != fmt.Sprint([]heard{{"subscription.cancelled", order.KindSubscription, "canceled"}}) {
		t.Fatalf("the cycle's end: %v", got)
	}
}

// TestRazorpaySubscription_ATrialIsAuthenticatedThenStarted: with a trial
// Subscribe only authenticates (trialing); ending the trial activates and
// charges the first cycle. Abandon sends nothing (the sandbox's Expire ends it in jampay).
func TestRazorpaySubscription_ATrialIsAuthenticatedThenStarted(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	sub := testSubscription("sbn_rzp2", "inr", 7)
	sub.Gateway = "razorpay"
	co, _ := r.sb.Razorpay().CreateSubscriptionCheckout(ctx, sub)
	r.press(co.SessionRef, "subscribe", http.StatusOK)
	if got := r.heardSince(); fmt.Sprint(got) != fmt.Sprint([]heard{{"subscription.authenticated", order.KindSubscription, "trialing"}}) {
		t.Fatalf("subscribe with a trial: %v", got)
	}
	r.press(sub.ID, "end-trial", http.StatusSeeOther)
	got := r.decoded()
	if len(got) != 2 || got[0].Type != "subscription.activated" || got[1].Type != "subscription.charged" || !got[1].Sub.FirstInvoice || got[1].Amount != 900 {
		t.Fatalf("end of the trial: %+v", got)
	}

	other := testSubscription("sbn_rzp3", "inr", 0)
	other.Gateway = "razorpay"
	co2, _ := r.sb.Razorpay().CreateSubscriptionCheckout(ctx, other)
	r.press(co2.SessionRef, "abandon", http.StatusOK)
	if got := r.decoded(); len(got) != 0 {
		t.Fatalf("abandon sent %v: Razorpay says nothing", got)
	}
	r.press(co2.SessionRef, "subscribe", http.StatusConflict)
}

// TestInquireSubscription_AnAbandonedCheckoutExpiresAndAStartedOneStarts:
// reconcile asks the sandbox as it asks the real gateways once a
// subscription's checkout deadline has passed: one still open is closed
// (so nobody can subscribe after) and reads expired; one subscribed reads
// started, through the webhooks' own decoders.
func TestInquireSubscription_AnAbandonedCheckoutExpiresAndAStartedOneStarts(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, gw := range []string{"stripe", "razorpay"} {
		inq := map[string]interface {
			CreateSubscriptionCheckout(context.Context, *subscription.Subscription) (subscription.Checkout, error)
			InquireSubscription(context.Context, subscription.Subscription, time.Time) ([]order.Event, error)
		}{"stripe": r.sb.Stripe(), "razorpay": r.sb.Razorpay()}[gw]
		abandoned, started := testSubscription("sbn_"+gw+"_gone", "usd", 0), testSubscription("sbn_"+gw+"_ok", "usd", 0)
		abandoned.Gateway, started.Gateway = gw, gw
		var cos []subscription.Checkout
		for _, s := range []*subscription.Subscription{abandoned, started} {
			co, err := inq.CreateSubscriptionCheckout(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			s.SessionRef, s.Deadline = co.SessionRef, co.Deadline
			cos = append(cos, co)
		}
		if gw == "stripe" {
			r.press(cos[1].SessionRef, "subscribe", http.StatusSeeOther)
		} else {
			r.press(cos[1].SessionRef, "subscribe", http.StatusOK)
		}
		// Before the deadline there is nothing to say.
		if evs, err := inq.InquireSubscription(ctx, *abandoned, abandoned.Deadline.Add(-time.Minute)); err != nil || len(evs) != 0 {
			t.Fatalf("%s before the deadline: %v %v", gw, evs, err)
		}
		after := abandoned.Deadline.Add(time.Hour)
		evs, err := inq.InquireSubscription(ctx, *abandoned, after)
		if err != nil || len(evs) != 1 || evs[0].Kind != order.KindExpired || evs[0].Source != order.SourceReconcile || evs[0].OrderID != abandoned.ID {
			t.Fatalf("%s abandoned: %+v %v", gw, evs, err)
		}
		evs, err = inq.InquireSubscription(ctx, *started, after)
		if err != nil || len(evs) != 1 || evs[0].Sub == nil || evs[0].Kind == order.KindExpired || evs[0].Source != order.SourceReconcile {
			t.Fatalf("%s started: %+v %v", gw, evs, err)
		}
	}
}
