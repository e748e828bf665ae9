// Package shop holds jampay's use cases, the domain's verbs: checking out
// and applying a gateway event (next: reconciling, refunding, cancelling).
// They are methods of one Service built from its ports — the store, the
// gateways, the clock, the id and token source — and are tested directly
// on the in-memory store. The HTTP handlers, the CLI and the Lambda mains
// only translate and wire.
package shop

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Gateway creates the gateway's checkout for an order that is already
// stored (invariant 2: the order is written before the gateway is called).
type Gateway interface {
	CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error)
}

// RateLimiter counts checkouts per client, for CHECKOUT_RATE_LIMIT. The
// DynamoDB and in-memory stores implement it (internal/storetest checks both).
type RateLimiter interface {
	// TakeRate counts one under key unless the count has reached limit, in
	// one conditional write, and reports whether it counted. The counter
	// may be forgotten after expiresAt.
	TakeRate(ctx context.Context, key string, limit int, expiresAt time.Time) (bool, error)
}

// Service is jampay's use cases over their ports. Build it with New; a
// function that serves only some use cases leaves the others' ports empty
// (the webhook function has no Gateways, the status function none at all).
type Service struct {
	Store    order.Store
	Catalog  *catalog.Catalog
	Gateways map[string]Gateway // by name: "stripe", "razorpay"
	// RateLimit is checkouts per client per config.RateWindow; 0 is none.
	// Limiter counts them (the store, when it can).
	RateLimit int
	Limiter   RateLimiter
	// Effects runs once per status change this process won.
	Effects order.Effects
	// Owed, when set, runs after every write this process won that added
	// to the order's outbox, status change or not (a second payment owes
	// the owner an event without moving the order): where a host with no
	// table stream dispatches.
	Owed func(ctx context.Context, after order.Order)
	Now  func() time.Time
	// Inquirers ask each gateway's API what its webhooks missed, for
	// Reconcile; the store must then be a ReconcileStore too.
	Inquirers map[string]Inquirer
	// Refunders ask each gateway for the owner's refunds.
	Refunders map[string]Refunder
	// NewID and NewToken are the id and status-token source.
	NewID    func() string
	NewToken func() (token, hash string)
	// Renderer, Mailer and Publisher tell people what the outbox owes
	// them, for Dispatch. MailEnabled says MAIL_FROM is set: without it,
	// as without a Mailer, email effects are skipped (recorded as
	// skipped, not failed); without a Publisher, owner events are.
	Renderer    Renderer
	Mailer      Mailer
	MailEnabled bool
	Publisher   Publisher

	// Subs keeps subscriptions; nil takes Store when it can (both stores
	// do). Gateways that also implement SubscriptionGateway sell them, and
	// those that implement BillingPortal open a portal.
	Subs subscription.Store
	// SubscriptionOwed is Owed for subscriptions.
	SubscriptionOwed func(ctx context.Context, after subscription.Subscription)
	// NewSubscriptionID is the subscription id source (subscription.NewID).
	NewSubscriptionID func() string
	// AccountURL is SITE_URL/account.html: where the billing portal
	// returns to, and access links lead.
	AccountURL string
	// AccessRequested, when set, runs after an access-link request is
	// recorded, where no table stream turns it into links (jampay serve).
	AccessRequested func(ctx context.Context, emailKey string)
}

// New returns s with the defaults filled in: the wall clock, random ids and
// tokens, and the store as the rate limiter when it can count.
func New(s Service) *Service {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.NewID == nil {
		s.NewID = order.NewID
	}
	if s.NewToken == nil {
		s.NewToken = order.NewToken
	}
	if s.Limiter == nil {
		s.Limiter, _ = s.Store.(RateLimiter)
	}
	if s.Subs == nil {
		s.Subs, _ = s.Store.(subscription.Store)
	}
	return &s
}
