// Package razorpaygw is jampay's Razorpay checkout: it creates Razorpay
// Orders with razorpay-go (amount in paise from the stored order, receipt =
// our order id), and Razorpay plans and subscriptions with its REST client
// (subscription.go), whose answers razorpaysub reads as the webhooks do.
// Razorpay's webhooks are razorpayhook's, so the webhook function links no
// razorpay-go; what reconcile asks Razorpay is
// razorpayinquiry's, which reads with razorpayhook, so the checkout
// function links no webhook decoder.
package razorpaygw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/razorpay/razorpay-go/requests"
	"github.com/razorpay/razorpay-go/resources"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// DefaultAPIBase is Razorpay's API.
const DefaultAPIBase = "https://api.razorpay.com"

// sdkTimeout is razorpay-go's own fixed client timeout; the call is bounded
// by the smaller of it and the time the Lambda has left.
const sdkTimeout = 10 * time.Second

// CheckoutLifetime is the TTL when Config.TTL is zero.
const CheckoutLifetime = config.DefaultCheckoutTTL

// Config configures the Razorpay checkout.
type Config struct {
	KeyID, KeySecret string
	APIBase          string // empty is Razorpay's API
	ShopName         string // shown in Razorpay's Checkout
	// TTL is how long a checkout may be paid (CHECKOUT_TTL): Checkout.js's
	// timeout, and the order's deadline, after which the reconcile job asks
	// Razorpay and expires it (Razorpay orders have no expiry of their own
	// and no event says a customer walked away). Zero is CheckoutLifetime.
	TTL time.Duration
	// Transport is the HTTP transport (tests); nil is the default.
	Transport http.RoundTripper
	Now       func() time.Time
	// RetryWait is how long reconcile's calls wait before retrying a 429
	// or a 5xx, doubling each time; zero is half a second.
	RetryWait time.Duration
	// Plans remembers the Razorpay plans subscriptions are made on (see
	// CreateSubscriptionCheckout); nil sells no subscription.
	Plans subscription.PlanStore
}

// Gateway creates Razorpay Orders, and Razorpay subscriptions on plans it
// makes once (subscription.go).
type Gateway struct{ c Config }

// New returns a Razorpay gateway.
func New(c Config) *Gateway {
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	c.APIBase = strings.TrimRight(c.APIBase, "/")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TTL <= 0 {
		c.TTL = CheckoutLifetime
	}
	return &Gateway{c}
}

// orders returns razorpay-go's Orders resource for one call, with an HTTP
// client bounded by ctx's deadline: razorpay-go takes no context.
func (g *Gateway) orders(ctx context.Context) *resources.Order {
	timeout := sdkTimeout
	if d, ok := ctx.Deadline(); ok {
		// Leave a little time to answer 502 before the Lambda is cut off.
		if left := time.Until(d) - 300*time.Millisecond; left < timeout {
			timeout = max(left, 100*time.Millisecond)
		}
	}
	return &resources.Order{Request: &requests.Request{
		Auth:       requests.Auth{Key: g.c.KeyID, Secret: g.c.KeySecret},
		HTTPClient: &http.Client{Timeout: timeout, Transport: g.c.Transport},
		BaseURL:    g.c.APIBase,
		Version:    "1.3.2",
		SDKName:    "razorpay-go",
		Headers:    map[string]string{},
	}}
}

// CreateCheckout creates the order's Razorpay Order and returns what
// Razorpay's Checkout.js needs to open.
func (g *Gateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	var rzp map[string]any
	var err error
	if o.GatewayError != "" {
		// An earlier attempt failed, maybe after Razorpay made the order:
		// look for it by receipt before making another.
		rzp, err = g.findByReceipt(ctx, o.ID)
	}
	if rzp == nil && err == nil {
		rzp, err = g.create(ctx, o)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() && ctx.Err() == nil {
			// Timed out: the order may exist. Find it, or create once more.
			if rzp, err = g.findByReceipt(ctx, o.ID); rzp == nil && err == nil {
				rzp, err = g.create(ctx, o)
			}
		}
	}
	if err != nil {
		return order.Checkout{}, err
	}
	id, _ := rzp["id"].(string)
	data, _ := json.Marshal(checkoutData{
		KeyID: g.c.KeyID, OrderID: id, Amount: o.Amount, Currency: strings.ToUpper(o.Currency),
		Name: g.c.ShopName, Prefill: prefill{Email: o.Email}, Timeout: int64(g.c.TTL / time.Second),
	})
	return order.Checkout{SessionRef: id, Data: data, Deadline: g.c.Now().Add(g.c.TTL)}, nil
}

// checkoutData is the 201 response's checkout for Razorpay: the options of
// `new Razorpay(options)`.
type checkoutData struct {
	KeyID    string  `json:"keyId"`
	OrderID  string  `json:"orderId"`
	Amount   int64   `json:"amount"`
	Currency string  `json:"currency"`
	Name     string  `json:"name"`
	Prefill  prefill `json:"prefill"`
	// Timeout is Checkout.js's timeout, in seconds: past it the customer
	// cannot pay in that Checkout.
	Timeout int64 `json:"timeout,omitempty"`
	// Script is where to load Checkout.js from when it is not Razorpay's
	// (the local sandbox's stand-in).
	Script string `json:"script,omitempty"`
}

type prefill struct {
	Email string `json:"email,omitempty"`
}

func (g *Gateway) create(ctx context.Context, o *order.Order) (map[string]any, error) {
	resp, err := g.orders(ctx).Create(map[string]any{
		"amount":   o.Amount,
		"currency": strings.ToUpper(o.Currency),
		"receipt":  o.ID,
		"notes":    map[string]string{"order_id": o.ID},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("razorpay: create order: %w", err)
	}
	// razorpay-go answers some 4xx with an empty map and no error.
	if id, _ := resp["id"].(string); !strings.HasPrefix(id, "order_") {
		return nil, fmt.Errorf("razorpay: create order: no order in the answer")
	}
	return resp, nil
}

func (g *Gateway) findByReceipt(ctx context.Context, receipt string) (map[string]any, error) {
	resp, err := g.orders(ctx).All(map[string]any{"receipt": receipt}, nil)
	if err != nil {
		return nil, fmt.Errorf("razorpay: find order by receipt: %w", err)
	}
	items, _ := resp["items"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && m["receipt"] == receipt {
			return m, nil
		}
	}
	return nil, nil
}
