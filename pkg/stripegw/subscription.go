package stripegw

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	portal "github.com/stripe/stripe-go/v76/billingportal/session"
	stripesub "github.com/stripe/stripe-go/v76/subscription"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/subscription"
)

// CancelRequested is the type of the event CancelSubscription returns: not
// one of Stripe's, so it can never be mistaken for a webhook's.
const CancelRequested = "subscription.cancel_requested"

// subscriptionKey is the metadata key that carries jampay's subscription
// id, as stripehook reads it.
const subscriptionKey = "subscription_id"

// CreateSubscriptionCheckout creates s's Checkout Session in subscription
// mode, priced from the stored subscription. Its id travels in the
// session's metadata and, through subscription_data, the subscription's —
// which Stripe shows on every invoice — and only the account's keys can set
// either (invariant 2); no client_reference_id, which anyone can set on a
// Payment Link and nothing reads. The success page is the account page
// for s: it carries the subscription id, never its token, which the page
// kept from the checkout response.
func (g *Gateway) CreateSubscriptionCheckout(ctx context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	deadline := g.expiry(s.CreatedAt)
	p := &stripe.CheckoutSessionParams{
		Mode:       stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		SuccessURL: stripe.String(g.siteURL + "/account.html?subscription=" + url.QueryEscape(s.ID)),
		CancelURL:  stripe.String(g.siteURL + "/cancel.html"),
		ExpiresAt:  stripe.Int64(deadline.Unix()),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(s.Quantity),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(s.Currency),
				UnitAmount:  stripe.Int64(s.UnitAmount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(s.Name)},
				Recurring: &stripe.CheckoutSessionLineItemPriceDataRecurringParams{
					Interval:      stripe.String(s.Interval),
					IntervalCount: stripe.Int64(cmp.Or(s.IntervalCount, 1)),
				},
			},
		}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{subscriptionKey: s.ID},
		},
	}
	p.Context = ctx
	p.AddMetadata(subscriptionKey, s.ID)
	if s.TrialDays > 0 {
		p.SubscriptionData.TrialPeriodDays = stripe.Int64(s.TrialDays)
	}
	if s.Email != "" {
		p.CustomerEmail = stripe.String(s.Email)
	}
	// As for orders (see CreateCheckout): a retry for the same subscription
	// returns the first session, unless expires_at had to move.
	p.SetIdempotencyKey("jampay-subscription-" + s.ID + "-" + strconv.FormatInt(deadline.Unix(), 10))
	cs, err := g.sessions.New(p)
	if err != nil {
		return subscription.Checkout{}, checkoutError(err)
	}
	if cs.ID == "" || cs.URL == "" {
		return subscription.Checkout{}, fmt.Errorf("stripe: checkout session without id or url")
	}
	data, _ := json.Marshal(map[string]string{"url": cs.URL})
	if cs.ExpiresAt > 0 {
		deadline = time.Unix(cs.ExpiresAt, 0)
	}
	return subscription.Checkout{SessionRef: cs.ID, Data: data, Deadline: deadline}, nil
}

// CancelSubscription asks Stripe to cancel s at the end of its current
// period (cancel_at_period_end), or now, and returns Stripe's answer — the
// subscription as it then stands, read with the webhooks' own mapping — as
// evidence. Asking twice is fine: Stripe refuses to change a subscription
// it has already canceled, and then the subscription read again is the
// answer.
func (g *Gateway) CancelSubscription(ctx context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	if s.SubscriptionRef == "" {
		return order.Event{}, notStarted(s)
	}
	subs := g.subscriptions()
	ref := s.SubscriptionRef
	var sub *stripe.Subscription
	var err error
	if atPeriodEnd {
		p := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
		p.Context = ctx
		sub, err = subs.Update(ref, p)
	} else {
		p := &stripe.SubscriptionCancelParams{}
		p.Context = ctx
		sub, err = subs.Cancel(ref, p)
	}
	if refused(err) {
		if again, read, gerr := g.readSubscription(ctx, ref); gerr == nil && ended(read.Facts.Status) {
			sub, err = again, nil
		}
	}
	if err != nil {
		return order.Event{}, CallError("cancel subscription "+ref, err)
	}
	read, err := g.answer(s, sub)
	if err != nil {
		return order.Event{}, err
	}
	now := g.now()
	return order.Event{
		Gateway: gateway,
		// Unique to this answer: each is evidence of its own, and asking
		// twice records two answers rather than a duplicate.
		ID:      "api_" + ref + "_" + strconv.FormatInt(now.UnixNano(), 10),
		Type:    CancelRequested,
		Kind:    order.KindSubscription,
		Source:  order.SourceOwner,
		OrderID: s.ID,
		Refs:    []string{ref},
		Created: now.UTC(),
		Sub:     &read.Facts,
	}, nil
}

// PortalURL opens a Stripe billing portal session for s's customer,
// returning to returnURL (s's account page when empty). A subscription
// whose customer is not recorded yet is asked of Stripe.
func (g *Gateway) PortalURL(ctx context.Context, s *subscription.Subscription, returnURL string) (string, error) {
	customer := s.Customer
	if customer == "" {
		if s.SubscriptionRef == "" {
			return "", notStarted(s)
		}
		sub, _, err := g.readSubscription(ctx, s.SubscriptionRef)
		if err != nil {
			return "", CallError("read subscription "+s.SubscriptionRef, err)
		}
		read, err := g.answer(s, sub)
		if err != nil {
			return "", err
		}
		if customer = read.Customer; customer == "" {
			return "", fmt.Errorf("stripe: subscription %s names no customer", s.SubscriptionRef)
		}
	}
	p := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customer),
		ReturnURL: stripe.String(cmp.Or(returnURL, g.siteURL+"/account.html?subscription="+url.QueryEscape(s.ID))),
	}
	p.Context = ctx
	ps, err := portal.Client{B: g.sessions.B, Key: g.sessions.Key}.New(p)
	if err != nil {
		return "", CallError("create billing portal session", err)
	}
	if ps.URL == "" {
		return "", fmt.Errorf("stripe: billing portal session without url")
	}
	return ps.URL, nil
}

const gateway = "stripe"

// subscriptions is the Subscriptions API, on the gateway's backend and
// key (with their retries).
func (g *Gateway) subscriptions() stripesub.Client {
	return stripesub.Client{B: g.sessions.B, Key: g.sessions.Key}
}

// readSubscription reads Stripe's subscription ref, and what jampay reads
// of it.
func (g *Gateway) readSubscription(ctx context.Context, ref string) (*stripe.Subscription, stripehook.Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	sub, err := g.subscriptions().Get(ref, p)
	if err != nil {
		return nil, stripehook.Subscription{}, err
	}
	read, err := stripehook.ReadSubscription(sub.LastResponse.RawJSON)
	return sub, read, err
}

// answer reads Stripe's subscription object as the webhooks do, and checks
// it is s's: the one s recorded, and not marked (in metadata only the
// account's keys set) as another subscription's.
func (g *Gateway) answer(s *subscription.Subscription, sub *stripe.Subscription) (stripehook.Subscription, error) {
	if sub == nil || sub.LastResponse == nil {
		return stripehook.Subscription{}, fmt.Errorf("stripe: no subscription in the answer")
	}
	read, err := stripehook.ReadSubscription(sub.LastResponse.RawJSON)
	if err != nil {
		return stripehook.Subscription{}, fmt.Errorf("stripe: subscription %s: %w", s.SubscriptionRef, err)
	}
	if read.Facts.Ref != s.SubscriptionRef || (read.ID != "" && read.ID != s.ID) {
		return stripehook.Subscription{}, fmt.Errorf("stripe: asked for subscription %s of %s, answered with %s of %q",
			s.SubscriptionRef, s.ID, read.Facts.Ref, read.ID)
	}
	return read, nil
}

// notStarted is the error for a subscription Stripe has not made yet: its
// checkout was never completed (or its completion not yet heard of).
func notStarted(s *subscription.Subscription) error {
	return order.Errorf(order.CodeNotSupported, "The subscription %s has not started: Stripe has no subscription for it yet.", s.ID)
}

// refused reports Stripe refusing the request itself (a canceled
// subscription cannot be changed), as opposed to failing to answer.
func refused(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.Type == stripe.ErrorTypeInvalidRequest &&
		(se.HTTPStatusCode == http.StatusBadRequest || se.HTTPStatusCode == http.StatusNotFound)
}

// ended reports a status nothing can cancel further.
func ended(status string) bool {
	return status == string(subscription.Canceled) || status == string(subscription.Expired)
}
