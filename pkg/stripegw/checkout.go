// Package stripegw is jampay's Stripe checkout: it creates Checkout
// Sessions with stripe-go (priced from the stored order or subscription,
// never from the request), and cancels subscriptions and opens the billing
// portal for them. Stripe's webhooks are stripehook's, so the webhook
// function links no client that can call Stripe; what reconcile asks
// Stripe is stripeinquiry's, which reads with stripehook. Of stripehook
// this package uses only ReadSubscription, so that Stripe's answer to a
// cancellation reads exactly as its webhook would.
package stripegw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/checkout/session"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/order"
)

// Stripe accepts a Checkout Session's expires_at from 30 minutes to 24
// hours after it creates the session. jampay keeps a minute inside each
// end: stripe-go's retries resend the same expires_at a little later, and
// our clock and Stripe's may differ by a little.
const (
	minExpiry = 31 * time.Minute
	maxExpiry = 24*time.Hour - time.Minute
)

// Config configures the Stripe checkout.
type Config struct {
	SecretKey string // sk_… or rk_…
	// APIBase points the client elsewhere (stripe-mock); empty is Stripe.
	APIBase string
	// SiteURL is where the success and cancel pages are (never the request).
	SiteURL string
	// TTL is how long a checkout may be paid (CHECKOUT_TTL): the session
	// expires that long after the order was made, kept within what Stripe
	// accepts. Zero is config.DefaultCheckoutTTL.
	TTL        time.Duration
	HTTPClient *http.Client
	Now        func() time.Time
	// RetryWait is how long reconcile's calls wait before retrying a 429
	// or a 5xx, doubling each time; zero is half a second.
	RetryWait time.Duration
}

// Gateway creates Stripe Checkout Sessions.
type Gateway struct {
	sessions session.Client
	siteURL  string
	ttl      time.Duration
	now      func() time.Time
}

// New returns a Stripe gateway.
func New(c Config) *Gateway {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TTL <= 0 {
		c.TTL = config.DefaultCheckoutTTL
	}
	return &Gateway{
		// stripe-go retries network errors and 5xx (and 409s) with the same
		// idempotency key, so a retry never makes a second session.
		sessions: session.Client{B: c.Backend(2), Key: c.SecretKey},
		siteURL:  strings.TrimRight(c.SiteURL, "/"),
		ttl:      c.TTL,
		now:      c.Now,
	}
}

// Backend is stripe-go's client for c, making each request at most
// 1+retries times.
func (c Config) Backend(retries int64) stripe.Backend {
	bc := &stripe.BackendConfig{
		HTTPClient:        c.HTTPClient,
		MaxNetworkRetries: stripe.Int64(retries),
		// jampay logs failures itself, as JSON and without request details.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if c.HTTPClient == nil {
		bc.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(c.APIBase, "/"))
	}
	return stripe.GetBackendWithConfig(stripe.APIBackend, bc)
}

// CreateCheckout creates the order's Checkout Session in payment mode. The
// order id travels in the session's metadata and the PaymentIntent's,
// which only the account's keys can set, so every later event can find it;
// client_reference_id carries it too, for the Dashboard, and is never read
// back (anyone can set it on a Payment Link).
func (g *Gateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	deadline := g.expiry(o.CreatedAt)
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
	// Derived from the order id and the parameters that can differ between
	// two attempts: a retried create (ours, or stripe-go's) returns the first
	// session instead of making a second one, and a retry late enough that
	// expires_at had to move is a new request, which Stripe would refuse
	// under the old key.
	p.SetIdempotencyKey("jampay-checkout-" + o.ID + "-" + strconv.FormatInt(deadline.Unix(), 10))
	s, err := g.sessions.New(p)
	if err != nil {
		return order.Checkout{}, checkoutError(err)
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

// expiry is when the session of an order (or subscription) created at
// from expires: its creation plus the TTL, so a retry for the same order
// (after a 502) sends Stripe the same expires_at under the same idempotency
// key, moved only as far as needed to stay within what Stripe accepts from
// now.
func (g *Gateway) expiry(from time.Time) time.Time {
	now := g.now()
	if from.IsZero() {
		from = now
	}
	at := from.Add(g.ttl)
	if lo := now.Add(minExpiry); at.Before(lo) {
		at = lo
	}
	if hi := now.Add(maxExpiry); at.After(hi) {
		at = hi
	}
	return at.Truncate(time.Second)
}

// checkoutError says what went wrong in a line: the HTTP status, Stripe's
// error type and code, the parameter, the request id and the message,
// rather than stripe-go's JSON dump of the whole error. The message can
// quote what was sent (an invalid customer_email); the api package takes
// addresses out before it logs or stores it.
func checkoutError(err error) error { return CallError("create checkout session", err) }

// CallError is err, from the call op, said in a line (see checkoutError).
func CallError(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripe: %s: %w", op, err)
	}
	return &apiError{op, se}
}

type apiError struct {
	op  string
	err *stripe.Error
}

func (e *apiError) Unwrap() error { return e.err }
func (e *apiError) Error() string {
	s := fmt.Sprintf("stripe: %s: %d %s", e.op, e.err.HTTPStatusCode, e.err.Type)
	if e.err.Code != "" {
		s += " " + string(e.err.Code)
	}
	if e.err.Param != "" {
		s += " (param " + e.err.Param + ")"
	}
	if e.err.RequestID != "" {
		s += " [" + e.err.RequestID + "]"
	}
	return s + ": " + e.err.Msg
}
