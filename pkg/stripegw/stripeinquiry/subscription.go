package stripeinquiry

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var _ shop.SubscriptionInquirer = (*Inquirer)(nil)

// InquireSubscription says what Stripe knows of a subscription still
// pending past its checkout deadline: its Checkout Session (subscription
// mode), expired first if it is still open, as an order's is (not in a dry
// run). A completed session is the customer subscribing, decoded as its
// checkout.session.completed webhook (paid, with the subscription Stripe
// made); an expired one ends the subscription expired. What happens to a
// subscription after its checkout comes from the events API (Missed), so
// nothing else is asked. At most two calls.
func (q *Inquirer) InquireSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error) {
	if s.Status != subscription.Pending || s.Deadline.IsZero() || now.Before(s.Deadline) {
		return nil, nil
	}
	if s.SessionRef == "" {
		// Making the session failed: no one can subscribe through it.
		return []order.Event{{Gateway: gateway, ID: "recon_" + s.ID + "_expired", Type: CheckoutExpired, Kind: order.KindExpired,
			Source: order.SourceReconcile, OrderID: s.ID, Created: now.UTC(), Sub: &order.SubFacts{}}}, nil
	}
	events, err := q.checkout(ctx, s.SessionRef, now)
	if err != nil {
		return nil, err
	}
	for i := range events {
		if events[i].Sub == nil {
			// A session read as an order's (stripe-mock's fixture is in
			// payment mode): it is still this subscription's checkout.
			events[i].Sub = &order.SubFacts{}
		}
	}
	return events, nil
}
