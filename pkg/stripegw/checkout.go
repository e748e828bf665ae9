// Package stripegw is jampay's Stripe adapter: it creates Checkout Sessions
// with stripe-go (priced from the stored order, never from the request) and
// verifies Stripe webhooks with stripe-go's own functions, then decodes only
// the fields jampay acts on, so an account on another API version works.
package stripegw

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/checkout/session"

	"github.com/jampay/jampay/pkg/order"
)

// CheckoutLifetime is how long a Checkout Session stays open. Stripe's
// minimum is 30 minutes; a shorter session settles abandoned orders sooner.
const CheckoutLifetime = 30 * time.Minute

// Config configures the Stripe checkout.
type Config struct {
	SecretKey string // sk_… or rk_…
	// APIBase points the client elsewhere (stripe-mock); empty is Stripe.
	APIBase string
	// SiteURL is where the success and cancel pages are (never the request).
	SiteURL    string
	HTTPClient *http.Client
	Now        func() time.Time
}

// Gateway creates Stripe Checkout Sessions.
type Gateway struct {
	sessions session.Client
	siteURL  string
	now      func() time.Time
}

// New returns a Stripe gateway.
func New(c Config) *Gateway {
	bc := &stripe.BackendConfig{
		HTTPClient: c.HTTPClient,
		// stripe-go retries network errors and 5xx (and 409s) with the same
		// idempotency key, so a retry never makes a second session.
		MaxNetworkRetries: stripe.Int64(2),
		// jampay logs failures itself, as JSON and without request details.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if c.HTTPClient == nil {
		bc.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(c.APIBase, "/"))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Gateway{
		sessions: session.Client{B: stripe.GetBackendWithConfig(stripe.APIBackend, bc), Key: c.SecretKey},
		siteURL:  strings.TrimRight(c.SiteURL, "/"),
		now:      c.Now,
	}
}

// CreateCheckout creates the order's Checkout Session in payment mode. The
// order id travels three ways (client_reference_id, the session's metadata
// and the PaymentIntent's metadata) so every later event can find it.
func (g *Gateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	deadline := g.now().Add(CheckoutLifetime)
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(o.ID),
		SuccessURL:        stripe.String(g.siteURL + "/success.html"),
		CancelURL:         stripe.String(g.siteURL + "/cancel.html"),
		ExpiresAt:         stripe.Int64(deadline.Unix()),
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Metadata: map[string]string{"order_id": o.ID},
		},
	}
	p.Context = ctx
	p.AddMetadata("order_id", o.ID)
	if o.Email != "" {
		p.CustomerEmail = stripe.String(o.Email)
	}
	for _, it := range o.Items {
		p.LineItems = append(p.LineItems, &stripe.CheckoutSessionLineItemParams{
			Quantity: stripe.Int64(it.Quantity),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(o.Currency),
				UnitAmount:  stripe.Int64(it.UnitAmount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(it.Name)},
			},
		})
	}
	// Derived from the order id: a retried create (ours, or stripe-go's)
	// returns the first session instead of making a second one.
	p.SetIdempotencyKey("jampay-checkout-" + o.ID)
	s, err := g.sessions.New(p)
	if err != nil {
		return order.Checkout{}, fmt.Errorf("stripe: create checkout session: %w", err)
	}
	if s.ID == "" || s.URL == "" {
		return order.Checkout{}, fmt.Errorf("stripe: checkout session without id or url")
	}
	data, _ := json.Marshal(map[string]string{"url": s.URL})
	if s.ExpiresAt > 0 {
		deadline = time.Unix(s.ExpiresAt, 0)
	}
	return order.Checkout{SessionRef: s.ID, Data: data, Deadline: deadline}, nil
}
