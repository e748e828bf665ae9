package shop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Applied is what applying one gateway event did, and to what: an order or
// a subscription (at most one is set).
type Applied struct {
	Outcome      Outcome
	Order        *order.Order
	Subscription *subscription.Subscription
}

// Apply applies a verified gateway event to the order or subscription it
// belongs to. A subscription event (e.Sub set, or our subscription's id in
// its metadata) goes to subscriptions; any other to orders. An event that
// finds its target by a reference indexed to the other kind (a Razorpay
// payment for a subscription's charge) is taken there.
func (s *Service) Apply(ctx context.Context, e order.Event) (Applied, error) {
	if s.Subs != nil && (e.Sub != nil || subscription.ValidID(e.OrderID)) {
		a, err := s.applySubscription(ctx, e)
		var el *order.ElsewhereError
		if errors.As(err, &el) && order.ValidID(el.ID) {
			e.OrderID = el.ID
			return s.applyOrder(ctx, e)
		}
		return a, err
	}
	a, err := s.applyOrder(ctx, e)
	var el *order.ElsewhereError
	if errors.As(err, &el) && subscription.ValidID(el.ID) && s.Subs != nil {
		// A payment event found its subscription through a payment a
		// renewal indexed to it (invariant 9: "a payment already indexed
		// to it"). The checkout it names is the order the gateway made
		// for the charge (Razorpay), not the subscription's own: its
		// provenance is the index, not the checkout.
		e.OrderID, e.SessionRef = el.ID, ""
		return s.applySubscription(ctx, e)
	}
	return a, err
}

func (s *Service) applyOrder(ctx context.Context, e order.Event) (Applied, error) {
	out, o, err := apply(ctx, s.orders(), s.Store, e, s.Now(), true)
	return Applied{Outcome: out, Order: o}, err
}

func (s *Service) applySubscription(ctx context.Context, e order.Event) (Applied, error) {
	out, sub, err := apply(ctx, s.subscriptions(), s.Store, e, s.Now(), true)
	return Applied{Outcome: out, Subscription: sub}, err
}

// subscriptions is the subscription kind of the event machinery.
func (s *Service) subscriptions() kind[subscription.Subscription] {
	st := s.Subs
	return kind[subscription.Subscription]{
		get:   st.GetSubscriptionForEvent,
		find:  st.FindSubscriptionByRef,
		named: subscription.ValidID,
		head: func(t *subscription.Subscription) head {
			return head{ID: t.ID, Gateway: t.Gateway, SessionRef: t.SessionRef, Status: string(t.Status),
				Version: t.Version, CreatedAt: t.CreatedAt, PendingReplay: t.PendingReplay}
		},
		decide: subscription.Apply,
		refs:   newSubscriptionRefs,
		// A renewal's payment is indexed for the payment events that may
		// follow it (Razorpay's payment.captured on the order it made for
		// the charge); one that came first and was parked is applied by
		// reconcile's sweep, so a renewal costs one read and one write.
		replays: func(next *subscription.Subscription, ref string) bool {
			return ref == next.SessionRef || ref == next.SubscriptionRef
		},
		advance: func(next, prev *subscription.Subscription, e order.Event, now time.Time, replay []string) {
			next.Version, next.UpdatedAt, next.PendingReplay = prev.Version+1, now, replay
			next.History = order.AppendHistory(prev.History, order.Change{
				At: now, EventID: e.ID, EventType: e.Type, Source: cmp.Or(e.Source, order.SourceWebhook),
				Actor: e.Actor, From: order.Status(prev.Status), To: order.Status(next.Status),
			})
			next.Outbox = order.AppendOwed(prev.Outbox, subscription.OwedEffects(*prev, *next, now))
		},
		move: func(ctx context.Context, prev *subscription.Subscription, next subscription.Subscription, rec *order.EventRecord, refs []string) error {
			if index, ok := st.(subscription.SubscriberIndex); ok && prev.Status == subscription.Pending && next.Status != subscription.Pending &&
				next.Status != subscription.Expired && next.Email != "" {
				// A subscriber is found by their address once the
				// subscription starts, not at checkout: anyone may start
				// checkouts in another's name, and none of those may crowd
				// out the real one. Indexed before the move (adding to the
				// set twice keeps one), so no start is left unindexed.
				if err := index.IndexEmail(ctx, subscription.EmailKey(next.Email), next.ID); err != nil {
					return err
				}
			}
			err := subscription.MoveIndexing(ctx, st, subscription.Move{Next: next, From: prev.Status, FromVersion: prev.Version, Event: rec, Refs: refs})
			if err == nil && s.SubscriptionOwed != nil && len(next.Outbox) > 0 && next.Outbox[len(next.Outbox)-1].Version > prev.Version {
				s.SubscriptionOwed(ctx, next)
			}
			return err
		},
		reread:      st.GetSubscription,
		clearReplay: st.ClearSubscriptionReplay,
	}
}

// newSubscriptionRefs lists the gateway references next has that prev did
// not: its checkout, its gateway subscription, and each new renewal's
// payment — Razorpay's pay_ (its payment events for the charge, on an
// order Razorpay made, name it), Stripe's PaymentIntent (its refunds and
// disputes name it) — so those events find the subscription. Stripe's
// invoice ids are named by no other event and are not indexed.
func newSubscriptionRefs(prev, next *subscription.Subscription) []string {
	var refs []string
	if next.SessionRef != prev.SessionRef && next.SessionRef != "" {
		refs = append(refs, next.SessionRef)
	}
	if next.SubscriptionRef != prev.SubscriptionRef && next.SubscriptionRef != "" && next.SubscriptionRef != next.SessionRef {
		refs = append(refs, next.SubscriptionRef)
	}
	for _, r := range next.Evidence.Renewals {
		if prev.Evidence.Renewed(r.Ref) {
			continue
		}
		switch {
		case r.Payment != "":
			refs = append(refs, r.Payment)
		case next.Gateway == "razorpay":
			refs = append(refs, r.Ref)
		}
	}
	return refs
}

// checkoutSubscription is Checkout for a cart that is one subscription
// product: the subscription is stored first (invariant 2), then the
// gateway makes its checkout, which is recorded on it.
func (s *Service) checkoutSubscription(ctx context.Context, req CheckoutRequest, gw Gateway, plan catalog.Plan) (CheckoutResult, error) {
	sg, ok := gw.(SubscriptionGateway)
	if !ok || s.Subs == nil {
		return CheckoutResult{}, order.Errorf(order.CodeNotSupported, "Gateway %q does not sell subscriptions here.", req.Gateway)
	}
	now := s.Now()
	sub := &subscription.Subscription{
		ID: subscription.NewID(), Gateway: req.Gateway, Status: subscription.Pending,
		SKU: plan.SKU, Name: plan.Name, Quantity: 1, UnitAmount: plan.Amount, Amount: plan.Amount,
		Currency: plan.Currency, Interval: string(plan.Interval), IntervalCount: plan.IntervalCount,
		TrialDays: plan.TrialDays, Email: req.Email, CreatedAt: now, UpdatedAt: now,
	}
	if req.Gateway == "razorpay" {
		sub.TotalCount = plan.TotalCount
	}
	if s.NewSubscriptionID != nil {
		sub.ID = s.NewSubscriptionID()
	}
	token, hash := s.NewToken()
	sub.TokenHash = hash
	if req.IdempotencyKey != "" {
		reqHash := requestHash(&order.Order{Gateway: req.Gateway, Email: req.Email,
			Items: []order.LineItem{{SKU: plan.SKU, Quantity: 1}}})
		replay, id, claimedToken, err := claimKey(ctx, s, req.IdempotencyKey, sub.ID, reqHash, token, now, s.claimedSubscription)
		if err != nil {
			return CheckoutResult{}, err
		}
		if claimedToken != token {
			sub.TokenHash = order.HashToken(claimedToken)
		}
		sub.ID, token = id, claimedToken
		if replay != nil {
			if replay.Checkout == "" {
				if err := s.takeRate(ctx, req.Client, now); err != nil {
					return CheckoutResult{}, err
				}
			}
			res, err := s.finishSubscription(ctx, sg, replay, token)
			res.Replayed = true
			return res, err
		}
	}
	if err := s.takeRate(ctx, req.Client, now); err != nil {
		return CheckoutResult{}, err
	}
	if err := s.Subs.CreateSubscription(ctx, sub); err != nil {
		return CheckoutResult{}, err
	}
	return s.finishSubscription(ctx, sg, sub, token)
}

// claimedSubscription reads a subscription for claimKey.
func (s *Service) claimedSubscription(ctx context.Context, id string) (*subscription.Subscription, claimed, error) {
	if !subscription.ValidID(id) {
		// The key was claimed for an order: another cart.
		return nil, claimed{}, order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key was used for a different checkout; use a new key for a new cart.")
	}
	sub, err := s.Subs.GetSubscription(ctx, id)
	if err != nil {
		return nil, claimed{}, err
	}
	return sub, claimed{checkout: sub.Checkout, gatewayError: sub.GatewayError, createdAt: sub.CreatedAt}, nil
}

// finishSubscription asks the gateway for the subscription's checkout,
// unless it has one, and records it.
func (s *Service) finishSubscription(ctx context.Context, gw SubscriptionGateway, sub *subscription.Subscription, token string) (CheckoutResult, error) {
	if sub.Checkout != "" {
		return CheckoutResult{Subscription: sub, Token: token}, nil
	}
	c, err := gw.CreateSubscriptionCheckout(ctx, sub)
	if err != nil {
		e := &GatewayError{OrderID: sub.ID, Gateway: sub.Gateway, Message: redactEmails(err.Error(), sub.Email)}
		next := sub.Clone()
		next.GatewayError = order.Clip(e.Message, 500)
		next.Version, next.UpdatedAt = sub.Version+1, s.Now()
		e.NotRecorded = s.Subs.MoveSubscription(ctx, subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version})
		return CheckoutResult{}, e
	}
	for attempt := 0; attempt < 5; attempt++ {
		next := sub.Clone()
		next.SessionRef, next.Checkout, next.Deadline, next.GatewayError = c.SessionRef, string(c.Data), c.Deadline, ""
		next.PlanRef = cmp.Or(c.PlanRef, next.PlanRef)
		next.PaymentLink = cmp.Or(c.PaymentLink, next.PaymentLink)
		next.SubscriptionRef = cmp.Or(next.SubscriptionRef, c.SubscriptionRef)
		next.Version, next.UpdatedAt = sub.Version+1, s.Now()
		refs := newSubscriptionRefs(sub, &next)
		err = subscription.MoveIndexing(ctx, s.Subs, subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version, Refs: refs})
		if err == nil {
			return CheckoutResult{Subscription: &next, Token: token, Created: true}, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return CheckoutResult{}, err
		}
		if sub, err = s.Subs.GetSubscription(ctx, sub.ID); err != nil {
			return CheckoutResult{}, err
		}
	}
	return CheckoutResult{}, &order.StoreError{Err: fmt.Errorf("subscription %s kept changing while its checkout was recorded", sub.ID)}
}

// ErrNotCancelable: a subscription whose checkout was never completed has
// nothing at the gateway to cancel.
var ErrNotCancelable = &order.Error{Code: order.CodeNotCancelable, Message: "This subscription has not started, so there is nothing to cancel."}

// answerSkew is how much earlier than our clock a gateway's answer to our
// own request is dated, against clock skew with the gateway.
const answerSkew = 2 * time.Second

// CancelRequest is a subscriber (with their token, checked by the caller)
// or the owner asking to end a subscription.
type CancelRequest struct {
	ID string
	// Now ends it at once; otherwise it ends with the current period.
	Now bool
	// Source is order.SourceOwner for the owner's CLI; Actor who acted.
	Source, Actor string
}

// CancelSubscription asks the gateway to cancel a subscription and applies
// the gateway's answer through the evidence path (Razorpay sends no event
// for a cancel at the period's end). A subscription already ended is
// answered as it is: asking twice is fine.
func (s *Service) CancelSubscription(ctx context.Context, req CancelRequest) (*subscription.Subscription, error) {
	sub, err := s.Subs.GetSubscription(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	if sub.Status.Final() || (!req.Now && sub.CancelAtPeriodEnd()) {
		return sub, nil
	}
	if sub.SubscriptionRef == "" {
		return nil, ErrNotCancelable
	}
	sg, ok := s.Gateways[sub.Gateway].(SubscriptionGateway)
	if !ok {
		return nil, order.Errorf(order.CodeNotSupported, "Gateway %q cannot cancel subscriptions here.", sub.Gateway)
	}
	e, err := sg.CancelSubscription(ctx, sub, !req.Now)
	if err != nil {
		return nil, &GatewayError{OrderID: sub.ID, Gateway: sub.Gateway, Message: redactEmails(err.Error(), sub.Email)}
	}
	e.Gateway, e.OrderID = sub.Gateway, sub.ID
	// The answer is stamped by our clock, the gateway's events by theirs:
	// dated a little earlier, it never outranks an event the gateway sends
	// just after (the subscriber undoing the cancel in Stripe's portal)
	// because our clock runs ahead.
	e.Created = e.Created.Add(-answerSkew)
	e.Source, e.Actor = cmp.Or(req.Source, e.Source, order.SourceOwner), cmp.Or(req.Actor, e.Actor)
	a, err := s.applySubscription(ctx, e)
	if err != nil {
		return nil, err
	}
	return cmp.Or(a.Subscription, sub), nil
}

// PortalURL opens the gateway's billing portal for a subscriber, returning
// to the site's account page.
func (s *Service) PortalURL(ctx context.Context, id string) (string, error) {
	sub, err := s.Subs.GetSubscription(ctx, id)
	if err != nil {
		return "", err
	}
	bp, ok := s.Gateways[sub.Gateway].(BillingPortal)
	if !ok {
		return "", order.Errorf(order.CodeNotSupported, "Gateway %q has no billing portal: cancel here, and pay a failed renewal from the link in its email.", sub.Gateway)
	}
	if sub.SubscriptionRef == "" {
		return "", ErrNotCancelable
	}
	url, err := bp.PortalURL(ctx, sub, s.AccountURL)
	if err != nil {
		return "", &GatewayError{OrderID: sub.ID, Gateway: sub.Gateway, Message: redactEmails(err.Error(), sub.Email)}
	}
	return url, nil
}
