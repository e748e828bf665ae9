// Package hosted runs jampay on hosts other than AWS Lambda — Netlify
// Functions and Vercel Functions — with the same handlers and DynamoDB as
// the store. What differs per host is in one place, Host; App is the
// whole contract as one handler (on these hosts settings are site-wide, so
// splitting functions by privilege, as Lambda's template does, would
// protect nothing), with the effects a write owes dispatched before the
// answer within a time bound (there is no table stream), and the
// scheduled reconcile entry point with its secret and time budget.
package hosted

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/gateways"
	"github.com/jampay/jampay/pkg/hosted/shipped"
	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
	"github.com/jampay/jampay/pkg/webhooks"
)

// Host is what differs between the hosts jampay runs on besides Lambda,
// in one place: the README's per-host sections say the same.
type Host struct {
	Name string
	// ClientIPHeader is the one header the host sets to the client's
	// address and a client cannot set: the checkout rate limit counts by
	// it. Any other (X-Forwarded-For) is the client's to write.
	ClientIPHeader string
	// ReconcileBudget bounds one scheduled reconcile run. Netlify's
	// scheduled functions are stopped after 30 s; Vercel's handlers get no
	// deadline at all (its function's maxDuration, vercel.json, is 60 s).
	ReconcileBudget time.Duration
	// ReconcileSecretEnv names the setting whose value a call to the
	// scheduled reconcile entry point must present as a Bearer token, or
	// "" where the host's scheduler sends none (Netlify: its scheduled
	// functions are not reachable by URL in production).
	ReconcileSecretEnv string
	// Cadence is how often the host's scheduler runs reconcile, for the
	// README and the owner: missed events wait that long at most.
	Cadence string
}

// The hosts.
var (
	Netlify = Host{
		Name: "netlify", ClientIPHeader: "X-Nf-Client-Connection-Ip",
		ReconcileBudget: 25 * time.Second, Cadence: "every 10 minutes (netlify.toml's schedule)",
	}
	Vercel = Host{
		Name: "vercel", ClientIPHeader: "X-Real-Ip",
		ReconcileBudget: 50 * time.Second, ReconcileSecretEnv: "CRON_SECRET",
		Cadence: "once a day on Vercel's Hobby plan, as often as vercel.json's crons say on Pro",
	}
)

// DispatchBudget bounds the effects dispatched before an answer: the
// gateways time their webhooks out in seconds, and a slow mail service
// must never turn into a 5xx (and a redelivery). What it leaves owed,
// reconcile's sweep sends.
const DispatchBudget = 3 * time.Second

// minReconcileSecret is the shortest reconcile secret accepted, as for
// webhook secrets.
const minReconcileSecret = 16

// Options build an App. Getenv is the settings' source (os.Getenv).
type Options struct {
	Getenv func(string) string
	// Catalog is the shop's catalog; nil loads CATALOG_PATH.
	Catalog *catalog.Catalog
	// Store replaces the DynamoDB store built from the settings (tests).
	Store  order.Store
	Logger *slog.Logger
	Now    func() time.Time
}

// App is jampay's whole API for one host.
type App struct {
	host   Host
	api    http.Handler
	svc    *shop.Service
	log    *slog.Logger
	secret string
	now    func() time.Time
}

// New builds the App from the settings, the same names as Lambda's (see
// ARCHITECTURE.md, Configuration), read from the host's environment; the
// secrets are settings too (no SSM). A missing or malformed setting is an
// error naming it.
func New(ctx context.Context, host Host, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg, err := config.Load(o.Getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Require(config.SiteURL, config.AllowedOrigins); err != nil {
		return nil, err
	}
	a := &App{host: host, log: o.Logger, now: o.Now}
	if host.ReconcileSecretEnv != "" {
		a.secret = o.Getenv(host.ReconcileSecretEnv)
		if len(a.secret) < minReconcileSecret {
			return nil, fmt.Errorf("missing setting: %s must be at least %d characters (the scheduler presents it)", host.ReconcileSecretEnv, minReconcileSecret)
		}
	}

	cat := o.Catalog
	if cat == nil {
		if cat, err = catalog.Load(cmp.Or(cfg.CatalogPath, "site/catalog.json")); err != nil {
			return nil, err
		}
	}
	store := o.Store
	if store == nil {
		if err := ownAWS(o.Getenv, cfg); err != nil {
			return nil, err
		}
		if store, err = dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{}); err != nil {
			return nil, err
		}
	}
	plans, _ := store.(subscription.PlanStore)
	gws, err := gateways.Checkouts(cfg, cat.ShopName, plans)
	if err != nil {
		return nil, err
	}
	if err := cat.CheckGateways(slices.Sorted(maps.Keys(gws))); err != nil {
		return nil, err
	}
	hooks, err := webhooks.Verifiers(cfg)
	if err != nil {
		return nil, err
	}
	mode, err := cfg.StripeModeOr("")
	if err != nil && cfg.StripeEnabled() {
		return nil, err
	}
	inqs, err := inquirers.FromConfig(cfg, mode)
	if err != nil {
		return nil, err
	}
	svc := shop.Service{Store: store, Catalog: cat, Gateways: gws, Inquirers: inqs, Now: o.Now}
	if err := senders.Set(ctx, &svc, cfg, cat.ShopName); err != nil {
		return nil, err
	}
	a.svc = shop.New(svc)
	a.api = api.Handler(api.Deps{
		Store: store, Catalog: cat, Gateways: gws, Webhooks: hooks, AllowedOrigins: cfg.AllowedOrigins,
		CheckoutRateLimit: cfg.CheckoutRateLimit, SubscriptionActions: true, AccountURL: cfg.AccountURL(),
		// What a write owes is noted here and sent once the handler has
		// answered (ServeHTTP): the answer is decided before any mail
		// service is waited on, so a slow one can never turn it into a
		// 5xx, whatever deadline the request has.
		Owed:             func(ctx context.Context, after order.Order) { owedOf(ctx).add(after.ID) },
		SubscriptionOwed: func(ctx context.Context, after subscription.Subscription) { owedOf(ctx).add(after.ID) },
		AccessRequested:  func(ctx context.Context, emailKey string) { owedOf(ctx).access = emailKey },
		Now:              o.Now, Logger: o.Logger,
	})
	return a, nil
}

// FromEnvironment builds the App as a deployed function on host does: the
// settings from the environment (the host's site settings), the catalog
// the build embedded (`make hosted-catalog`), else CATALOG_PATH.
func FromEnvironment(ctx context.Context, host Host, log *slog.Logger) (*App, error) {
	cat, err := shipped.Catalog()
	if err != nil {
		return nil, err
	}
	return New(ctx, host, Options{Getenv: os.Getenv, Catalog: cat, Logger: log})
}

// ownAWS requires the owner's AWS identity under the JAMPAY_AWS_* names
// (unless the store is DynamoDB Local): Netlify refuses the AWS names, and
// Vercel sets its own in every function, which grant nothing — without
// these the start would succeed and every request fail at the store, in
// the wrong region too.
func ownAWS(getenv func(string) string, cfg config.Config) error {
	if cfg.DynamoDBEndpoint != "" {
		return nil
	}
	for _, name := range []string{awsenv.JampayAccessKeyID, awsenv.JampaySecretAccessKey, awsenv.JampayRegion} {
		if getenv(name) == "" {
			return fmt.Errorf("missing setting: %s (the host's own AWS_* names are not the shop's identity)", name)
		}
	}
	return nil
}

// owed is what one request's writes owe: the orders and subscriptions to
// dispatch, and an access-link request to turn into links, once the
// handler has answered.
type owed struct {
	mu     sync.Mutex
	ids    []string
	access string
}

type owedKey struct{}

func owedOf(ctx context.Context) *owed {
	if o, ok := ctx.Value(owedKey{}).(*owed); ok {
		return o
	}
	return &owed{} // not through ServeHTTP: nothing dispatches it; reconcile's sweep will
}

func (o *owed) add(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !slices.Contains(o.ids, id) {
		o.ids = append(o.ids, id)
	}
}

// ServeHTTP serves the contract's routes, the client's address taken from
// the host's own header (see Host.ClientIPHeader), then sends what the
// request's writes owe (see send).
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := a.now()
	o := &owed{}
	r = r.Clone(context.WithValue(r.Context(), owedKey{}, o))
	// The host's header, once: a second value (a client's copy beside the
	// host's) makes the client unknown rather than whoever came first.
	if v := r.Header.Values(a.host.ClientIPHeader); len(v) == 1 {
		r.RemoteAddr = ClientAddr(v[0])
	} else {
		r.RemoteAddr = ""
	}
	if p := r.URL.Path; path.Clean(p) != p {
		// A path with . or .. segments, or a trailing slash, names no
		// route; net/http would answer it with an HTML redirect.
		notFound(w)
		return
	}
	a.api.ServeHTTP(w, r)
	a.send(r.Context(), o, start)
}

// send dispatches what the request's writes owe, after the handler has
// decided the answer (the hosts send it when ServeHTTP returns), within
// DispatchBudget and the request's own deadline: what is left owed (a slow
// or failing mail service), reconcile's sweep sends. An access-link
// request's links are owed and sent here too, and its answer then waits
// out the whole budget, whatever happened: so it takes the same time
// whether or not the address subscribes.
func (a *App) send(ctx context.Context, o *owed, start time.Time) {
	deadline := start.Add(DispatchBudget)
	if d, ok := ctx.Deadline(); ok && d.Add(-time.Second).Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	o.mu.Lock()
	ids, access := slices.Clone(o.ids), o.access
	o.mu.Unlock()
	if access != "" {
		res, err := a.svc.OweAccessLinks(ctx, access)
		if err != nil || res.Err != nil {
			a.log.Warn("access links not owed; the subscriber may ask again", "err", errors.Join(err, res.Err))
		}
		ids = append(ids, res.Subscriptions...)
	}
	holder := a.host.Name + ":" + fmt.Sprint(a.now().UnixNano())
	for _, id := range ids {
		if rep, err := a.svc.Dispatch(ctx, id, holder); err != nil {
			a.log.Warn("effects left for reconcile", "id", id, "err", err, "sent", rep.Sent)
		}
	}
	if access != "" {
		<-ctx.Done()
	}
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"No such route."}}` + "\n"))
}

// ClientAddr is the client's address as the host's header gives it (a
// bare IPv4 or IPv6 address), "" when it holds none: the rate limit then
// counts every such request as one client ("unknown"), visible at once.
func ClientAddr(header string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(header))
	if err != nil {
		return ""
	}
	return netip.AddrPortFrom(ip.Unmap(), 0).String()
}

// ErrNotScheduler is a call to the reconcile entry point without the
// scheduler's secret.
var ErrNotScheduler = errors.New("hosted: not the host's scheduler")

// Authorize checks a call to the scheduled reconcile entry point: the
// Authorization header must be "Bearer " and the host's reconcile secret,
// compared in constant time. A host with no secret (Netlify) answers
// true: its entry point checks the scheduler's own marks instead.
func (a *App) Authorize(authorization string) bool {
	if a.host.ReconcileSecretEnv == "" {
		return true
	}
	want := "Bearer " + a.secret
	return subtle.ConstantTimeCompare([]byte(authorization), []byte(want)) == 1 && a.secret != ""
}

// Reconcile runs one scheduled reconcile within the host's budget (a
// deadline the host's context carries is kept if it comes sooner), taking
// the same lease as every other entry point. Another run holding it is
// not a failure.
func (a *App) Reconcile(ctx context.Context) (shop.ReconcileReport, error) {
	stop := a.now().Add(a.host.ReconcileBudget)
	if d, ok := ctx.Deadline(); ok && d.Add(-5*time.Second).Before(stop) {
		stop = d.Add(-5 * time.Second)
	}
	ctx, cancel := context.WithDeadline(ctx, stop.Add(5*time.Second))
	defer cancel()
	rep, err := a.svc.Reconcile(ctx, shop.ReconcileOptions{
		Holder: a.host.Name + ":" + fmt.Sprint(a.now().UnixNano()), Actor: a.host.Name + ":schedule", Stop: stop,
	})
	if errors.Is(err, shop.ErrBusy) {
		a.log.Info("reconcile skipped", "reason", err.Error())
		return rep, nil
	}
	if err != nil {
		a.log.Error("reconcile failed", "err", err)
		return rep, err
	}
	a.log.Info("reconcile", "open", rep.Open, "moved", rep.Moved, "missed", rep.Missed, "replayed", rep.Replayed,
		"effects_sent", rep.EffectsSent, "subscriptions_asked", rep.SubscriptionsAsked, "errors", len(rep.Errors), "stopped", rep.Stopped)
	return rep, nil
}
