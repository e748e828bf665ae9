// Package localserver runs jampay on one origin for local use: the static
// site, the API (the same handlers the Lambda functions run), for each
// gateway without keys the sandbox, and the owner's dashboard at /_jampay/
// (this machine only). Orders live in memory unless TABLE_NAME (with
// DYNAMODB_ENDPOINT for DynamoDB Local) says otherwise.
package localserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jampay/jampay/internal/sandbox"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/gateways"
	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/mail"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
	"github.com/jampay/jampay/pkg/webhooks"
)

// localStripeMode is Stripe's mode unless STRIPE_MODE says otherwise: a
// developer's shop takes no real money.
const localStripeMode = "test"

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
	// Renderer renders what orders owe people, for the "Mail and events"
	// page: the mail templates' renderer is plugged in here. Nil is
	// the shop's own templates (pkg/mail).
	Renderer shop.Renderer
}

// Server is a running local jampay.
type Server struct {
	URL     string
	Store   order.Store
	Secrets map[string]string // the webhook secrets in use, by setting name
	ln      net.Listener
	srv     *http.Server
	done    chan error
	sandbox *sandbox.Sandbox
	// dispatch sends what each change owes people (to the recorder).
	dispatch *dispatcher
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
	stripeMode, err := cfg.StripeModeOr(localStripeMode)
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
	// Both gateways are served here (the sandbox stands in for one without
	// keys): a subscription product either cannot sell stops jampay serve.
	if err := cat.CheckGateways([]string{"razorpay", "stripe"}); err != nil {
		return nil, err
	}
	clk := &clock{}
	store, storeName, err := newStore(ctx, cfg, clk.Now)
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
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// What Lambda requires, jampay serve supplies: its own origin for the
	// shop's pages, Stripe's test mode, and webhook secrets made for this
	// run, which the sandbox signs with and the verifiers check.
	local := gateways.Defaults{SiteURL: base, StripeMode: localStripeMode}
	localHooks := webhooks.Defaults{
		StripeMode:             localStripeMode,
		StripeWebhookSecrets:   []string{sandbox.NewSecret("whsec_local_")},
		RazorpayWebhookSecrets: []string{sandbox.NewSecret("rzp_whsec_local_")},
	}
	stripeHook, err := webhooks.StripeVerifier(cfg, localHooks)
	if err != nil {
		ln.Close()
		return nil, err
	}
	rzpHook := webhooks.RazorpayVerifier(cfg, localHooks)
	// With several secrets set, the sandbox signs with the first.
	stripeSecrets, rzpSecrets := stripeHook.Secrets, rzpHook.Secrets
	s.Secrets[config.StripeWebhookSecret], s.Secrets[config.RazorpayWebhookSecret] = stripeSecrets[0], rzpSecrets[0]

	now := clk.Now
	// The owner's use cases (reconcile, refund) for the dashboard; its
	// gateways are filled in below, the sandbox's or the real ones.
	owner := shop.New(shop.Service{Store: store, Now: now, Effects: opts.Effects, AccountURL: siteURL + "/account.html",
		Inquirers: map[string]shop.Inquirer{}, Refunders: map[string]shop.Refunder{}})
	// Every mail and owner event goes to the recorder the dashboard shows:
	// locally nothing is sent, and every mail is kept whatever MAIL_FROM.
	sent := &recorder{now: now}
	owner.Renderer, owner.Mailer, owner.MailEnabled, owner.Publisher = opts.Renderer, sent, true, sent
	if owner.Renderer == nil {
		// The mails the shop sends in Lambda, from the same templates.
		r, err := mail.NewRenderer(cat.ShopName, siteURL)
		if err != nil {
			ln.Close()
			return nil, err
		}
		owner.Renderer = r
	}
	s.dispatch = &dispatcher{svc: owner, logger: opts.Logger}
	owed, subOwed := s.dispatch.owed(), s.dispatch.subscriptionOwed()
	owner.Owed, owner.SubscriptionOwed = owed, subOwed
	sb := sandbox.New(sandbox.Config{
		BaseURL: base, SiteURL: siteURL, ShopName: cat.ShopName,
		StripeSecret: stripeSecrets[0], RazorpaySecret: rzpSecrets[0],
		RazorpayKeySecret: cmp.Or(cfg.Razorpay.KeySecret, "sandbox"), TTL: cfg.CheckoutTTL, Now: now,
		Expire: func(ctx context.Context, orderID string) error {
			_, _, err := owner.ApplyEvent(ctx, order.Event{
				Gateway: "razorpay", ID: "jampay_expire_" + orderID, Type: "jampay.checkout.abandoned",
				Kind: order.KindExpired, OrderID: orderID,
			})
			return err
		},
	})
	s.sandbox = sb
	// A gateway with keys is the real one; one without, the sandbox.
	checkouts := map[string]api.Gateway{}
	mode := map[string]string{}
	stripe, err := gateways.StripeCheckout(cfg, local)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if stripe != nil {
		checkouts["stripe"] = stripe
		mode["stripe"] = "Stripe " + stripeMode + " mode (" + cmp.Or(cfg.Stripe.APIBase, "api.stripe.com") + ")"
	} else {
		checkouts["stripe"], mode["stripe"] = sb.Stripe(), "sandbox"
		owner.Inquirers["stripe"], owner.Refunders["stripe"] = sb.Stripe(), sb.Stripe()
	}
	plans, _ := store.(subscription.PlanStore) // both stores remember plans
	razorpay, err := gateways.RazorpayCheckout(cfg, cat.ShopName, plans)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if razorpay != nil {
		checkouts["razorpay"] = razorpay
		mode["razorpay"] = "Razorpay (" + cmp.Or(cfg.Razorpay.APIBase, razorpaygw.DefaultAPIBase) + ")"
	} else {
		checkouts["razorpay"], mode["razorpay"] = sb.Razorpay(), "sandbox"
		owner.Inquirers["razorpay"], owner.Refunders["razorpay"] = sb.Razorpay(), sb.Razorpay()
	}
	// The dashboard's Cancel asks the same gateways the API's cancel does.
	owner.Gateways = checkouts
	if stripe != nil || razorpay != nil {
		// A gateway with keys is asked through its API, as the reconcile
		// function and `jampay refund` ask it.
		inqs, err := inquirers.FromConfig(cfg, localStripeMode)
		if err != nil {
			ln.Close()
			return nil, err
		}
		refunders, err := inquirers.Refunders(cfg, localStripeMode)
		if err != nil {
			ln.Close()
			return nil, err
		}
		maps.Copy(owner.Inquirers, inqs)
		maps.Copy(owner.Refunders, refunders)
	}

	// One developer clicking through the shop is one client: the limit is
	// off here unless CHECKOUT_RATE_LIMIT asks for it.
	rateLimit := 0
	if cfg.CheckoutRateLimitSet {
		rateLimit = cfg.CheckoutRateLimit
	}
	apiHandler := api.Handler(api.Deps{
		Store: store, Catalog: cat, Gateways: checkouts, CheckoutRateLimit: rateLimit,
		Webhooks:       map[string]api.WebhookParser{"stripe": stripeHook, "razorpay": rzpHook},
		AllowedOrigins: origins, Effects: opts.Effects, Owed: owed, SubscriptionOwed: subOwed, Now: now, Logger: opts.Logger,
		// The sandbox's gateways (and the real ones) sell subscriptions:
		// jampay serve holds their keys, so it serves cancel and the portal.
		SubscriptionActions: true, AccountURL: siteURL + "/account.html",
		// No table stream here: a request for access links owes them at
		// once, and the dispatcher sends them to the recorder.
		AccessRequested: func(ctx context.Context, emailKey string) {
			if res, err := owner.OweAccessLinks(ctx, emailKey); err != nil || res.Err != nil {
				opts.Logger.Error("access links not owed", "err", errors.Join(err, res.Err))
			}
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/sandbox/", sb.Handler())
	mux.Handle("/_jampay/", newDashboard(owner, sent, clk, opts.Logger, fmt.Sprintf("serve %d", os.Getpid()), port).Handler())
	mux.Handle("/", staticFiles(opts.SiteDir))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { s.done <- s.srv.Serve(ln) }()

	fmt.Fprintf(opts.Out, "jampay serving %s\n", base)
	fmt.Fprintf(opts.Out, "  shop      %s/\n", base)
	fmt.Fprintf(opts.Out, "  api       %s/api/checkout, %s/api/orders/{id}\n", base, base)
	fmt.Fprintf(opts.Out, "  webhooks  %s/api/webhooks/stripe, %s/api/webhooks/razorpay\n", base, base)
	fmt.Fprintf(opts.Out, "  dashboard %s/_jampay/ (orders, refunds, reconcile now, mail and events; this machine only)\n", base)
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
	// The sandbox's refund webhooks go out after their answer: let them
	// land while the server still listens.
	s.sandbox.Wait()
	s.dispatch.Wait()
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

func newStore(ctx context.Context, cfg config.Config, now func() time.Time) (order.Store, string, error) {
	if cfg.TableName == "" {
		if cfg.DynamoDBEndpoint != "" {
			return nil, "", fmt.Errorf("missing setting: %s (DynamoDB Local at %s needs a table name)", config.TableName, cfg.DynamoDBEndpoint)
		}
		return memstore.New(now), "in memory (orders are gone when jampay stops)", nil
	}
	// DynamoDB Local starts empty, so jampay serve makes the table there;
	// in AWS the template made it.
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{CreateTable: cfg.DynamoDBEndpoint != ""})
	if err != nil {
		return nil, "", err
	}
	where := "DynamoDB table " + cfg.TableName
	if cfg.DynamoDBEndpoint != "" {
		where += " at " + cfg.DynamoDBEndpoint
	}
	return store, where, nil
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
