package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/subscription"
)

// CreateSubscriptionCheckout opens a local stand-in for a Checkout Session
// in subscription mode: Stripe makes the subscription (sub_…) only when
// the customer subscribes, and says so in the session's completion.
func (g *StripeGateway) CreateSubscriptionCheckout(ctx context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	b := g.s.openSubscription("stripe", s, func(b *subBook) {
		b.SessionRef, b.Ref, b.Customer = "cs_sandbox_"+randomHex(12), "sub_sandbox_"+randomHex(12), "cus_sandbox_"+randomHex(7)
	})
	data, _ := json.Marshal(map[string]string{"url": g.s.cfg.BaseURL + "/sandbox/subscriptions/" + b.SessionRef})
	return subscription.Checkout{SessionRef: b.SessionRef, Data: data, Deadline: g.s.cfg.Now().Add(g.s.cfg.ttl())}, nil
}

// stripeCheckoutAction plays the customer's choice on the subscription's
// Checkout page (the caller holds the lock). Subscribe sends what Stripe
// sends when a subscription starts — the session completed, the
// subscription created (trialing, or active), and its first invoice paid
// (nothing to pay in a trial, billing_reason subscription_create); Decline
// sends nothing (Checkout shows the error and waits for another card);
// Abandon expires the session.
func (s *Sandbox) stripeCheckoutAction(b *subBook, action string) []outgoing {
	switch action {
	case "decline":
		b.Declined = declineMessage
		return nil
	case "abandon":
		b.Checkout, b.Declined = "expired", ""
		return []outgoing{stripeEvent(b, "checkout.session.expired", s.tick(b, time.Time{}), nil)}
	}
	t := s.tick(b, time.Time{})
	b.Checkout, b.Declined, b.Started, b.PeriodStart = "complete", "", t, t
	first := b.Sub.Amount
	if b.Sub.TrialDays > 0 {
		b.Status, b.TrialEnd, first = "trialing", t.AddDate(0, 0, int(b.Sub.TrialDays)), 0
		b.PeriodEnd = b.TrialEnd
	} else {
		b.Status, b.PeriodEnd = "active", b.next(t)
	}
	invoice := "in_sandbox_" + randomHex(12)
	return []outgoing{
		stripeEvent(b, "checkout.session.completed", t, func(e *payloads.Stripe) { e.Amount = first }),
		stripeEvent(b, "customer.subscription.created", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = invoice }),
		stripeEvent(b, "invoice.paid", s.tick(b, time.Time{}), func(e *payloads.Stripe) {
			e.Amount, e.InvoiceID, e.BillingReason = first, invoice, "subscription_create"
		}),
	}
}

// stripeTime makes time pass for a Stripe subscription (the caller holds
// the lock) and returns what Stripe sends for it.
func (s *Sandbox) stripeTime(b *subBook, action string) ([]outgoing, error) {
	switch action {
	case "renew":
		switch {
		case b.CancelAtPeriodEnd:
			return nil, errRefused("This subscription ends with its period: let the period end.")
		case b.trialing():
			return s.stripeEndTrial(b), nil
		case b.failing():
			// Stripe's next retry of the open invoice succeeds.
			return s.stripePayOpenInvoice(b), nil
		}
		// The period ends and Stripe charges the next one: the new
		// invoice paid, and the subscription moved on to its period.
		t := s.tick(b, b.PeriodEnd)
		b.PeriodStart, b.PeriodEnd = b.PeriodEnd, b.next(b.PeriodEnd)
		invoice := "in_sandbox_" + randomHex(12)
		return []outgoing{
			stripeEvent(b, "invoice.paid", t, func(e *payloads.Stripe) { e.InvoiceID = invoice }),
			stripeEvent(b, "customer.subscription.updated", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = invoice }),
		}, nil
	case "fail":
		if b.Status == "unpaid" {
			return nil, errRefused("Stripe has stopped retrying: the subscription is unpaid.")
		}
		return s.stripeFail(b), nil
	case "exhaust":
		if b.Status == "unpaid" {
			return nil, errRefused("Stripe has already stopped retrying.")
		}
		var out []outgoing
		if b.Status != "past_due" {
			out = s.stripeFail(b)
		}
		// Stripe's last retry fails (by default four attempts over about
		// three weeks), and the subscription is left unpaid.
		t := s.tick(b, b.Clock.AddDate(0, 0, 7))
		b.Attempts = max(b.Attempts+1, 4)
		b.Status = "unpaid"
		return append(out,
			stripeEvent(b, "invoice.payment_failed", t, func(e *payloads.Stripe) { e.InvoiceID, e.AttemptCount = b.OpenInvoice, b.Attempts }),
			stripeEvent(b, "customer.subscription.updated", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = b.OpenInvoice }),
		), nil
	case "end-trial":
		if !b.trialing() {
			return nil, errRefused("This subscription is not in a trial.")
		}
		return s.stripeEndTrial(b), nil
	case "end-period":
		if !b.CancelAtPeriodEnd {
			return nil, errRefused("This subscription renews at the end of its period: cancel it first, or renew it.")
		}
		t := s.tick(b, b.PeriodEnd)
		b.Status = "canceled"
		return []outgoing{stripeEvent(b, "customer.subscription.deleted", t, nil)}, nil
	}
	return nil, fmt.Errorf("unknown action %q", action)
}

// stripeEndTrial ends b's trial: Stripe moves the subscription to active
// on its first paid period and pays that period's invoice.
func (s *Sandbox) stripeEndTrial(b *subBook) []outgoing {
	t := s.tick(b, b.TrialEnd)
	b.Status, b.PeriodStart, b.PeriodEnd = "active", b.TrialEnd, b.next(b.TrialEnd)
	invoice := "in_sandbox_" + randomHex(12)
	return []outgoing{
		stripeEvent(b, "customer.subscription.updated", t, func(e *payloads.Stripe) { e.InvoiceID = invoice }),
		stripeEvent(b, "invoice.paid", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = invoice }),
	}
}

// stripeFail fails the renewal due now (or, already past_due, one more
// retry of it). Stripe moves the subscription to its next period at the
// renewal, before it is paid, and marks it past_due.
func (s *Sandbox) stripeFail(b *subBook) []outgoing {
	if b.Status == "past_due" {
		t := s.tick(b, b.Clock.AddDate(0, 0, 3))
		b.Attempts++
		return []outgoing{stripeEvent(b, "invoice.payment_failed", t, func(e *payloads.Stripe) { e.InvoiceID, e.AttemptCount = b.OpenInvoice, b.Attempts })}
	}
	end := b.PeriodEnd
	if b.trialing() {
		end = b.TrialEnd
	}
	t := s.tick(b, end)
	b.Status, b.PeriodStart, b.PeriodEnd = "past_due", end, b.next(end)
	b.OpenInvoice, b.Attempts = "in_sandbox_"+randomHex(12), 1
	return []outgoing{
		stripeEvent(b, "invoice.payment_failed", t, func(e *payloads.Stripe) { e.InvoiceID, e.PaymentIntentID = b.OpenInvoice, "pi_sandbox_"+randomHex(12) }),
		stripeEvent(b, "customer.subscription.updated", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = b.OpenInvoice }),
	}
}

// stripePayOpenInvoice pays the invoice that failed: the subscription is
// active again, on the period the invoice is for.
func (s *Sandbox) stripePayOpenInvoice(b *subBook) []outgoing {
	t := s.tick(b, time.Time{})
	invoice := b.OpenInvoice
	b.Status, b.OpenInvoice, b.Attempts = "active", "", 0
	return []outgoing{
		stripeEvent(b, "invoice.paid", t, func(e *payloads.Stripe) { e.InvoiceID = invoice }),
		stripeEvent(b, "customer.subscription.updated", s.tick(b, time.Time{}), func(e *payloads.Stripe) { e.InvoiceID = invoice }),
	}
}

// stripeUpdateCard is the billing portal's card update: with a renewal
// failing, Stripe retries its invoice on the new card, which pays it; else
// nothing jampay hears of changes.
func (s *Sandbox) stripeUpdateCard(b *subBook) []outgoing {
	if !b.failing() || b.OpenInvoice == "" || b.ended() {
		return nil
	}
	return s.stripePayOpenInvoice(b)
}

// CancelSubscription cancels b at the end of its period (or now) in the
// sandbox's books and answers as Stripe's API does, with the subscription
// as it then stands, read with the webhooks' mapping; then, as Stripe,
// sends customer.subscription.updated (cancel_at_period_end) or, ended
// now, customer.subscription.deleted.
func (g *StripeGateway) CancelSubscription(ctx context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	b, ok := g.s.subscriptionBook(s.ID)
	if !ok || b.Gateway != "stripe" {
		return order.Event{}, fmt.Errorf("stripe sandbox: no subscription for %s: the sandbox keeps its books in memory, and forgets them when jampay serve stops", s.ID)
	}
	g.s.mu.Lock()
	if b.Checkout != "complete" {
		g.s.mu.Unlock()
		return order.Event{}, order.Errorf(order.CodeNotSupported, "The subscription %s has not started: Stripe has no subscription for it yet.", s.ID)
	}
	t := g.s.tick(b, time.Time{})
	typ := ""
	if b.Status != "canceled" {
		typ = "customer.subscription.updated"
		if atPeriodEnd {
			b.CancelAtPeriodEnd = true
		} else {
			b.Status, typ = "canceled", "customer.subscription.deleted"
		}
	}
	answer := stripeEvent(b, "customer.subscription.updated", t, nil)
	var hook outgoing
	if typ != "" {
		hook = stripeEvent(b, typ, g.s.tick(b, time.Time{}), nil)
	}
	g.s.mu.Unlock()
	var obj struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer.Body, &obj); err != nil {
		return order.Event{}, err
	}
	read, err := stripehook.ReadSubscription(obj.Data.Object)
	if err != nil {
		return order.Event{}, err
	}
	if typ != "" {
		g.s.later("stripe", "", hook.Body, func(ctx context.Context) error { return g.s.send(ctx, hook) })
	}
	return order.Event{
		Gateway: "stripe", ID: "api_" + b.Ref + "_" + strconv.FormatInt(time.Now().UnixNano(), 10),
		Type: "subscription.cancel_requested", Kind: order.KindSubscription, Source: order.SourceOwner,
		OrderID: s.ID, Refs: []string{b.Ref}, Created: t, Sub: &read.Facts,
	}, nil
}

// PortalURL opens the sandbox's stand-in for Stripe's billing portal.
func (g *StripeGateway) PortalURL(ctx context.Context, s *subscription.Subscription, returnURL string) (string, error) {
	b, ok := g.s.subscriptionBook(s.ID)
	if !ok || b.Gateway != "stripe" {
		return "", fmt.Errorf("stripe sandbox: no subscription for %s: the sandbox keeps its books in memory, and forgets them when jampay serve stops", s.ID)
	}
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	if b.Checkout != "complete" {
		return "", order.Errorf(order.CodeNotSupported, "The subscription %s has not started: Stripe has no subscription for it yet.", s.ID)
	}
	b.ReturnURL = returnURL
	if b.ReturnURL == "" {
		b.ReturnURL = g.s.cfg.SiteURL + "/account.html?subscription=" + s.ID
	}
	return g.s.cfg.BaseURL + "/sandbox/portal/" + b.Ref, nil
}
