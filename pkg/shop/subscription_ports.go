package shop

import (
	"context"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// SubscriptionGateway makes and cancels one gateway's subscriptions:
// Stripe Checkout in subscription mode, Razorpay's plans and subscriptions,
// the local sandbox.
type SubscriptionGateway interface {
	// CreateSubscriptionCheckout makes the gateway's checkout for s, which
	// is already stored (invariant 2), carrying s.ID in fields only the
	// server sets. It is safe to call again for the same s (a replay after
	// a 502): the gateway makes at most one checkout per subscription id.
	CreateSubscriptionCheckout(ctx context.Context, s *subscription.Subscription) (subscription.Checkout, error)
	// CancelSubscription asks the gateway to cancel s at the end of its
	// current period (atPeriodEnd), or now, and returns the gateway's
	// answer as evidence: a KindSubscription event with the snapshot the
	// API returned (Source order.SourceOwner, Created when it answered, an
	// ID unique to that answer). Asking twice is fine.
	CancelSubscription(ctx context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error)
}

// BillingPortal opens the gateway's self-service page for a subscriber
// (Stripe's billing portal), returning to returnURL.
type BillingPortal interface {
	PortalURL(ctx context.Context, s *subscription.Subscription, returnURL string) (string, error)
}
