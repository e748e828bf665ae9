package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/subscription"
)

// CreateSubscriptionCheckout makes a local Razorpay subscription (jampay's
// checkout is the subscription itself) and returns Checkout.js's options
// with subscription_id, and the stand-in script to load.
func (g *RazorpayGateway) CreateSubscriptionCheckout(ctx context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	b := g.s.openSubscription("razorpay", s, func(b *subBook) {
		b.SessionRef, b.PlanRef = "sub_"+randomHex(7), "plan_"+randomHex(7)
		b.Ref, b.Status = b.SessionRef, "created"
	})
	data, _ := json.Marshal(map[string]any{
		"keyId": SandboxKeyID, "subscriptionId": b.Ref, "name": g.s.cfg.ShopName, "description": s.Name + ", every " + subscription.IntervalText(s.Interval, s.IntervalCount),
		"amount": s.Amount, "currency": strings.ToUpper(s.Currency), "prefill": map[string]string{"email": s.Email},
		"script":  g.s.cfg.BaseURL + "/sandbox/razorpay/checkout.js",
		"timeout": int64(g.s.cfg.ttl() / time.Second),
	})
	return subscription.Checkout{SessionRef: b.Ref, SubscriptionRef: b.Ref, PlanRef: b.PlanRef, Data: data,
		Deadline: g.s.cfg.Now().Add(g.s.cfg.ttl())}, nil
}

// razorpayCheckoutAction plays the customer's choice in Checkout.js for a
// subscription (the caller holds the lock) and returns what Checkout.js
// hands the page. Subscribe authenticates the subscription — with a trial
// (a future start_at) that is all; without, Razorpay charges the first
// cycle at once: activated, then charged. Decline is a failed attempt
// Checkout shows, and the subscription stays created; Abandon leaves it
// created, for jampay to expire (Razorpay sends nothing for either).
func (s *Sandbox) razorpayCheckoutAction(b *subBook, action string) ([]outgoing, any) {
	switch action {
	case "decline":
		b.Declined = declineDescription
		return nil, map[string]any{"error": map[string]any{
			"code": "BAD_REQUEST_ERROR", "description": declineDescription,
			"source": "bank", "step": "payment_authorization", "reason": "payment_failed",
			"metadata": map[string]string{"subscription_id": b.Ref},
		}}
	case "abandon":
		b.Checkout, b.Declined = "expired", ""
		return nil, map[string]string{}
	}
	t := s.tick(b, time.Time{})
	b.Checkout, b.Declined, b.Started, b.Status = "complete", "", t, "authenticated"
	b.TrialEnd = t
	if b.Sub.TrialDays > 0 {
		b.TrialEnd = t.AddDate(0, 0, int(b.Sub.TrialDays))
	}
	// The authentication payment (a mandate, refunded when there is a
	// trial) is what Checkout hands the page.
	payment := "pay_" + randomHex(7)
	out := []outgoing{razorpayEvent(b, "subscription.authenticated", t, nil)}
	if b.Sub.TrialDays == 0 {
		out = append(out, s.razorpayStart(b, payment)...)
		b.TrialEnd = time.Time{}
	} else {
		b.PeriodStart, b.PeriodEnd = t, b.TrialEnd
	}
	return out, map[string]string{
		"razorpay_payment_id": payment, "razorpay_subscription_id": b.Ref,
		// Razorpay's HMAC of "payment_id|subscription_id" with the key secret.
		"razorpay_signature": razorpayhook.Sign([]byte(payment+"|"+b.Ref), s.cfg.RazorpayKeySecret),
	}
}

// razorpayStart starts billing: the subscription is activated on its first
// cycle and the cycle is charged.
func (s *Sandbox) razorpayStart(b *subBook, payment string) []outgoing {
	start := b.TrialEnd
	t := s.tick(b, start)
	b.Status, b.PeriodStart, b.PeriodEnd, b.Paid = "active", start, b.next(start), 1
	return []outgoing{
		razorpayEvent(b, "subscription.activated", t, nil),
		razorpayEvent(b, "subscription.charged", s.tick(b, time.Time{}), func(e *payloads.Razorpay) { e.PaymentID = payment }),
	}
}

// razorpayTime makes time pass for a Razorpay subscription (the caller
// holds the lock) and returns what Razorpay sends for it.
func (s *Sandbox) razorpayTime(b *subBook, action string) ([]outgoing, error) {
	switch action {
	case "renew":
		switch {
		case b.CancelAtPeriodEnd:
			return nil, errRefused("This subscription ends with its cycle: let the period end.")
		case b.trialing():
			return s.razorpayStart(b, "pay_"+randomHex(7)), nil
		}
		// The next cycle (or, after a failure, the one Razorpay was
		// retrying) is charged.
		t := s.tick(b, b.PeriodEnd)
		b.Status, b.PeriodStart, b.PeriodEnd = "active", b.PeriodEnd, b.next(b.PeriodEnd)
		b.Paid++
		out := []outgoing{razorpayEvent(b, "subscription.charged", t, func(e *payloads.Razorpay) { e.PaymentID = "pay_" + randomHex(7) })}
		if b.Sub.TotalCount > 0 && b.Paid >= b.Sub.TotalCount {
			b.Status = "completed"
			out = append(out, razorpayEvent(b, "subscription.completed", s.tick(b, time.Time{}), nil))
		}
		return out, nil
	case "fail":
		if b.Status == "halted" {
			return nil, errRefused("Razorpay has stopped retrying: the subscription is halted.")
		}
		return []outgoing{s.razorpayFail(b)}, nil
	case "exhaust":
		if b.Status == "halted" {
			return nil, errRefused("Razorpay has already stopped retrying.")
		}
		var out []outgoing
		if b.Status != "pending" {
			out = append(out, s.razorpayFail(b))
		}
		t := s.tick(b, b.Clock.AddDate(0, 0, 3))
		b.Status = "halted"
		return append(out, razorpayEvent(b, "subscription.halted", t, nil)), nil
	case "end-trial":
		if !b.trialing() {
			return nil, errRefused("This subscription is not in a trial.")
		}
		return s.razorpayStart(b, "pay_"+randomHex(7)), nil
	case "end-period":
		if !b.CancelAtPeriodEnd {
			return nil, errRefused("This subscription renews at the end of its cycle: cancel it first, or renew it.")
		}
		t := s.tick(b, b.PeriodEnd)
		b.Status = "cancelled"
		return []outgoing{razorpayEvent(b, "subscription.cancelled", t, nil)}, nil
	}
	return nil, fmt.Errorf("unknown action %q", action)
}

// razorpayFail fails the charge due now (or one more retry of it): the
// subscription is pending, its current cycle still the last one paid.
func (s *Sandbox) razorpayFail(b *subBook) outgoing {
	due := b.PeriodEnd
	if b.Status == "pending" {
		due = b.Clock.AddDate(0, 0, 1)
	} else if b.trialing() {
		due = b.TrialEnd
	}
	t := s.tick(b, due)
	b.Status = "pending"
	return razorpayEvent(b, "subscription.pending", t, nil)
}

// CancelSubscription cancels the subscription in the sandbox's books and
// answers as Razorpay's API does, with the entity read by the webhooks'
// mapping. At the cycle's end Razorpay sends nothing (the status stays as
// it is until then); now, it sends subscription.cancelled.
func (g *RazorpayGateway) CancelSubscription(ctx context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	b, ok := g.s.subscriptionBook(s.ID)
	if !ok || b.Gateway != "razorpay" {
		return order.Event{}, fmt.Errorf("razorpay sandbox: no subscription for %s: the sandbox keeps its books in memory, and forgets them when jampay serve stops", s.ID)
	}
	g.s.mu.Lock()
	t := g.s.tick(b, time.Time{})
	var hook *outgoing
	if !b.ended() {
		if atPeriodEnd {
			b.CancelAtPeriodEnd = true
		} else {
			b.Status = "cancelled"
			h := razorpayEvent(b, "subscription.cancelled", g.s.tick(b, time.Time{}), nil)
			hook = &h
		}
	}
	ent := razorpaysub.Entity{ID: b.Ref, Entity: "subscription", Status: b.Status, StartAt: b.TrialEnd.Unix()}
	if b.Paid > 0 {
		ent.CurrentStart, ent.CurrentEnd = b.PeriodStart.Unix(), b.PeriodEnd.Unix()
	}
	g.s.mu.Unlock()
	if hook != nil {
		h := *hook
		g.s.later("razorpay", h.ID, h.Body, func(ctx context.Context) error { return g.s.send(ctx, h) })
	}
	facts := ent.Facts(t, atPeriodEnd)
	return order.Event{
		Gateway: "razorpay", ID: "api_" + b.Ref + "_" + strconv.FormatInt(time.Now().UnixNano(), 10),
		Type: "subscription.cancel_requested", Kind: order.KindSubscription, Source: order.SourceOwner,
		SessionRef: b.Ref, Refs: []string{b.Ref}, Created: t, Sub: &facts,
	}, nil
}
