package sandbox

import (
	"context"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var (
	_ shop.SubscriptionInquirer = (*StripeGateway)(nil)
	_ shop.SubscriptionInquirer = (*RazorpayGateway)(nil)
)

// InquireSubscription says what the sandbox's books say of a subscription
// whose checkout deadline has passed, as reconcile asks the real gateways:
// a checkout still open is closed first (Stripe expires the session;
// reconcile cancels a Razorpay subscription never authenticated), so
// nothing can start after; then it is started or expired. A subscription
// the sandbox no longer has (jampay serve restarted) reads as expired.
func (g *StripeGateway) InquireSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error) {
	return g.s.inquireSubscription(ctx, "stripe", s, now)
}

// InquireSubscription: see StripeGateway.InquireSubscription.
func (g *RazorpayGateway) InquireSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error) {
	return g.s.inquireSubscription(ctx, "razorpay", s, now)
}

func (s *Sandbox) inquireSubscription(ctx context.Context, gateway string, sub subscription.Subscription, now time.Time) ([]order.Event, error) {
	if now.Before(sub.Deadline) {
		return nil, nil
	}
	b, ok := s.subscriptionBook(sub.SessionRef)
	expired := func() []order.Event {
		return []order.Event{{Gateway: gateway, ID: "recon_" + sub.ID + "_expired", Type: "subscription.checkout_expired",
			Kind: order.KindExpired, Source: order.SourceReconcile, OrderID: sub.ID, SessionRef: sub.SessionRef,
			Created: now.UTC(), Sub: &order.SubFacts{Ref: sub.SubscriptionRef}}}
	}
	if !ok || b.Gateway != gateway {
		return expired(), nil
	}
	s.mu.Lock()
	if b.Checkout == "" && !shop.IsDryRun(ctx) {
		b.Checkout, b.Declined = "expired", ""
	}
	state := b.Checkout
	s.mu.Unlock()
	if state != "complete" {
		return expired(), nil
	}
	if gateway == "stripe" {
		out := stripeEvent(b, "checkout.session.completed", now, func(ev *payloads.Stripe) { ev.EventID = "recon_" + b.SessionRef + "_complete" })
		return decoded(out, "recon_"+b.SessionRef+"_complete")
	}
	out := razorpayEvent(b, "subscription.authenticated", now, nil)
	return decoded(out, "recon_"+b.SessionRef+"_"+b.Status)
}

// decoded reads an event the sandbox wrote with the webhook's decoder, as
// reconcile's own inquiries do.
func decoded(o outgoing, id string) ([]order.Event, error) {
	var e order.Event
	var err error
	if o.Gateway == "stripe" {
		e, err = decodeStripeBody(o.Body)
	} else {
		e, err = decodeRazorpayBody(o.Body)
	}
	if err != nil {
		return nil, err
	}
	e.Gateway, e.ID, e.Source = o.Gateway, id, order.SourceReconcile
	return []order.Event{e}, nil
}
