// Package localserver runs jampay on one origin for local use: the static
// site, the API (the same handlers the Lambda functions run) and, for each
// gateway without keys, the sandbox. Orders live in memory unless
// TABLE_NAME (with DYNAMODB_ENDPOINT for DynamoDB Local) says otherwise.
package localserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/internal/sandbox"
	"github.com/jampay/jampay/pkg/stripegw"
)

// Options are the `jampay serve` flags.
type Options struct {
	Addr        string // default 127.0.0.1:8787
	SiteDir     string // default site
	CatalogPath string // default site/catalog.json, or CATALOG_PATH
	Getenv      func(string) string
	Out         io.Writer // where the banner goes
	Logger      *slog.Logger
	// Effects, when set, runs once per status change this server won.
	Effects order.Effects
}

// Server is a running local jampay.
type Server struct {
	URL     string
	Store   order.Store
	Secrets map[string]string // the webhook secrets in use, by setting name
	ln      net.Listener
	srv     *http.Server
	done    chan error
}

// Start listens on opts.Addr and serves until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Getenv == nil {
		return nil, errors.New("localserver: Getenv is required")
	}
	cfg, err := config.Load(opts.Getenv)
	if err != nil {
		return nil, err
	}
	// Locally Stripe is in test mode unless STRIPE_MODE says otherwise.
	stripeMode, err := cfg.StripeModeOr("test")
	if err != nil {
		return nil, err
	}
	if opts.CatalogPath == "" {
		opts.CatalogPath = cmp.Or(cfg.CatalogPath, "site/catalog.json")
	}
	opts.Addr, opts.SiteDir = cmp.Or(opts.Addr, "127.0.0.1:8787"), cmp.Or(opts.SiteDir, "site")
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	cat, err := catalog.Load(opts.CatalogPath)
	if err != nil {
		return nil, err
	}
	store, storeName, err := newStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	siteURL := cmp.Or(cfg.SiteURL, base)
	origins := cfg.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{base}
	}

	s := &Server{URL: base, Store: store, Secrets: map[string]string{}, ln: ln, done: make(chan error, 1)}
	stripeSecrets := cfg.Stripe.WebhookSecrets
	if len(stripeSecrets) == 0 {
		stripeSecrets = []string{sandbox.NewSecret("whsec_local_")}
	}
	rzpSecrets := cfg.Razorpay.WebhookSecrets
	if len(rzpSecrets) == 0 {
		rzpSecrets = []string{sandbox.NewSecret("rzp_whsec_local_")}
	}
	s.Secrets[config.StripeWebhookSecret], s.Secrets[config.RazorpayWebhookSecret] = stripeSecrets[0], rzpSecrets[0]

	now := time.Now
	sb := sandbox.New(sandbox.Config{
		BaseURL: base, SiteURL: siteURL, ShopName: cat.ShopName,
		StripeSecret: stripeSecrets[0], RazorpaySecret: rzpSecrets[0],
		RazorpayKeySecret: cmp.Or(cfg.Razorpay.KeySecret, "sandbox"), TTL: cfg.CheckoutTTL,
		Expire: func(ctx context.Context, orderID string) error {
			_, _, err := order.ApplyEvent(ctx, store, order.Event{
				Gateway: "razorpay", ID: "jampay_expire_" + orderID, Type: "jampay.checkout.abandoned",
				Kind: order.KindExpired, OrderID: orderID,
			}, now(), opts.Effects)
			return err
		},
	})
	gateways := map[string]api.Gateway{}
	mode := map[string]string{}
	if cfg.StripeEnabled() {
		gateways["stripe"] = stripegw.New(stripegw.Config{SecretKey: cfg.Stripe.SecretKey, APIBase: cfg.Stripe.APIBase, SiteURL: siteURL, TTL: cfg.CheckoutTTL})
		mode["stripe"] = "Stripe " + stripeMode + " mode (" + cmp.Or(cfg.Stripe.APIBase, "api.stripe.com") + ")"
	} else {
		gateways["stripe"], mode["stripe"] = sb.Stripe(), "sandbox"
	}
	if cfg.RazorpayEnabled() {
		if err := cfg.Require(config.RazorpayKeyID, config.RazorpayKeySecret); err != nil {
			ln.Close()
			return nil, err
		}
		gateways["razorpay"] = razorpaygw.New(razorpaygw.Config{KeyID: cfg.Razorpay.KeyID, KeySecret: cfg.Razorpay.KeySecret, APIBase: cfg.Razorpay.APIBase, ShopName: cat.ShopName, TTL: cfg.CheckoutTTL})
		mode["razorpay"] = "Razorpay (" + cmp.Or(cfg.Razorpay.APIBase, razorpaygw.DefaultAPIBase) + ")"
	} else {
		gateways["razorpay"], mode["razorpay"] = sb.Razorpay(), "sandbox"
	}

	// One developer clicking through the shop is one client: the limit is
	// off here unless CHECKOUT_RATE_LIMIT asks for it.
	rateLimit := 0
	if cfg.CheckoutRateLimitSet {
		rateLimit = cfg.CheckoutRateLimit
	}
	apiHandler := api.Handler(api.Deps{
		Store: store, Catalog: cat, Gateways: gateways, CheckoutRateLimit: rateLimit,
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripegw.Verifier{Secrets: stripeSecrets, Mode: stripeMode},
			"razorpay": &razorpaygw.Verifier{Secrets: rzpSecrets},
		},
		AllowedOrigins: origins, Effects: opts.Effects, Now: now, Logger: opts.Logger,
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/sandbox/", sb.Handler())
	mux.Handle("/", staticFiles(opts.SiteDir))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { s.done <- s.srv.Serve(ln) }()

	fmt.Fprintf(opts.Out, "jampay serving %s\n", base)
	fmt.Fprintf(opts.Out, "  shop      %s/\n", base)
	fmt.Fprintf(opts.Out, "  api       %s/api/checkout, %s/api/orders/{id}\n", base, base)
	fmt.Fprintf(opts.Out, "  webhooks  %s/api/webhooks/stripe, %s/api/webhooks/razorpay\n", base, base)
	fmt.Fprintf(opts.Out, "  stripe    %s\n  razorpay  %s\n  store     %s\n", mode["stripe"], mode["razorpay"], storeName)
	if len(cfg.Stripe.WebhookSecrets) == 0 {
		fmt.Fprintf(opts.Out, "  %s=%s (made for this run)\n", config.StripeWebhookSecret, stripeSecrets[0])
	}
	if len(cfg.Razorpay.WebhookSecrets) == 0 {
		fmt.Fprintf(opts.Out, "  %s=%s (made for this run)\n", config.RazorpayWebhookSecret, rzpSecrets[0])
	}
	return s, nil
}

// Close stops the server, letting requests in flight finish.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

func newStore(ctx context.Context, cfg config.Config) (order.Store, string, error) {
	if cfg.TableName == "" {
		if cfg.DynamoDBEndpoint != "" {
			return nil, "", fmt.Errorf("missing setting: %s (DynamoDB Local at %s needs a table name)", config.TableName, cfg.DynamoDBEndpoint)
		}
		return memstore.New(time.Now), "in memory (orders are gone when jampay stops)", nil
	}
	client, err := dynamostore.NewClient(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, "", err
	}
	where := "DynamoDB table " + cfg.TableName
	if cfg.DynamoDBEndpoint != "" {
		if err := dynamostore.CreateTable(ctx, client, cfg.TableName); err != nil {
			return nil, "", err
		}
		where += " at " + cfg.DynamoDBEndpoint
	}
	return dynamostore.New(client, cfg.TableName, time.Now), where, nil
}

// staticFiles serves the site, with headers a shop page should have.
func staticFiles(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if strings.HasSuffix(r.URL.Path, ".json") || strings.HasSuffix(r.URL.Path, ".html") || strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
