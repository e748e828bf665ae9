// Package api is jampay's HTTP layer: it translates the contract's routes to
// the use cases of pkg/shop and back, answers CORS, and is the one place
// errors become JSON and status codes (it owns the HTTP-only codes). It is
// plain net/http, so the Lambda adapter, the local server and httptest run
// it unchanged, and it imports no gateway SDK: the status function links
// neither stripe-go nor razorpay-go.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// Gateway creates the gateway's checkout for a stored order: see
// shop.Gateway.
type Gateway = shop.Gateway

// WebhookParser verifies a gateway's webhook over the exact raw bytes and
// reduces it to an order.Event. A bad signature is an *order.Error with
// CodeInvalidSignature, a verified body that makes no sense one with
// CodeInvalidPayload. ctx bounds the work: a gateway whose events are
// verified over the network (fetching a key, asking the API) needs it.
type WebhookParser interface {
	ParseWebhook(ctx context.Context, header http.Header, body []byte) (order.Event, error)
}

// Deps is what the handlers need: the use cases' ports, from which Handler
// builds the shop.Service they translate to, and the HTTP-only settings. A
// function leaves out what it does not serve: the status function has no
// Gateways and no Webhooks.
type Deps struct {
	Store    order.Store
	Catalog  *catalog.Catalog
	Gateways map[string]Gateway       // by name: "stripe", "razorpay"
	Webhooks map[string]WebhookParser // by name
	// AllowedOrigins may call the API from a browser (CORS).
	AllowedOrigins []string
	// Effects runs once per status change this process won; Owed after
	// every write that added to an order's outbox (see shop.Service).
	Effects order.Effects
	Owed    func(ctx context.Context, after order.Order)
	// SubscriptionOwed is Owed for subscriptions.
	SubscriptionOwed func(ctx context.Context, after subscription.Subscription)
	// CheckoutRateLimit is how many checkouts one client (an IPv4 address,
	// an IPv6 /64) may make per config.RateWindow: CHECKOUT_RATE_LIMIT.
	// 0 turns the limit off.
	CheckoutRateLimit int
	// SubscriptionActions serves cancel and the billing portal: only in a
	// function that holds the gateway keys (the checkout function), never
	// the status function.
	SubscriptionActions bool
	// AccountURL is SITE_URL/account.html, where the billing portal returns.
	AccountURL string
	// AccessRequested turns an access-link request into the links owed
	// where no table stream does (jampay serve): see shop.Service.
	AccessRequested func(ctx context.Context, emailKey string)
	// RateLimiter counts them; nil uses Store, which both stores serve.
	RateLimiter RateLimiter
	Now         func() time.Time
	Logger      *slog.Logger
}

// Body limits: the contract's 64 KiB for checkout; gateway events carry the
// whole object and can be larger, but never near this.
const (
	maxCheckoutBody = 64 << 10
	maxWebhookBody  = 512 << 10
)

// Handler serves the contract's routes.
func Handler(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.RateLimiter == nil {
		d.RateLimiter, _ = d.Store.(RateLimiter)
	}
	if d.CheckoutRateLimit > 0 && d.RateLimiter == nil {
		// Wiring, not input: fail at start, not on the first checkout.
		panic(fmt.Sprintf("api: CheckoutRateLimit is %d but %T counts nothing and Deps.RateLimiter is nil", d.CheckoutRateLimit, d.Store))
	}
	s := &server{Deps: d, shop: shop.New(shop.Service{
		Store: d.Store, Catalog: d.Catalog, Gateways: d.Gateways, RateLimit: d.CheckoutRateLimit,
		Limiter: d.RateLimiter, Effects: d.Effects, Owed: d.Owed, Now: d.Now,
		SubscriptionOwed: d.SubscriptionOwed, AccountURL: d.AccountURL, AccessRequested: d.AccessRequested,
	})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/checkout", s.checkout)
	mux.HandleFunc("POST /api/webhooks/{gateway}", s.webhook)
	mux.HandleFunc("GET /api/orders/{orderId}", s.status)
	mux.HandleFunc("GET /api/subscriptions/{id}", s.subscriptionStatus)
	if d.SubscriptionActions {
		mux.HandleFunc("POST /api/subscriptions/{id}/cancel", s.cancelSubscription)
		mux.HandleFunc("POST /api/subscriptions/{id}/portal", s.billingPortal)
		mux.HandleFunc("POST /api/access-links", s.accessLinks)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/api/checkout" || p == "/api/access-links" && d.SubscriptionActions || strings.HasPrefix(p, "/api/webhooks/") || strings.HasPrefix(p, "/api/orders/") ||
			strings.HasPrefix(p, "/api/subscriptions/") && (d.SubscriptionActions || !strings.Contains(p[len("/api/subscriptions/"):], "/")) {
			s.fail(w, r, order.Errorf(order.CodeMethodNotAllowed, "%s is not allowed on %s.", order.Clip(r.Method, 16), order.Clip(p, 100)))
			return
		}
		s.fail(w, r, order.Errorf(order.CodeNotFound, "No such route: %s %s.", order.Clip(r.Method, 16), order.Clip(p, 100)))
	})
	return noStore(s.withRequestID(s.cors(s.recover(mux))))
}

type server struct {
	Deps
	shop *shop.Service
}

func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
