// Package vercelfn is jampay on Vercel Functions: the two net/http entry
// points that api/index.go (the whole contract, behind vercel.json's
// rewrite of /api/(.*)) and api/cron/reconcile.go (Vercel's cron) call, each
// a one-line `package handler` file — Vercel builds every .go file under
// api/ as its own function, and those files may not import the module's
// internal/ packages. What differs on Vercel (the client-IP header, the
// reconcile secret and budget) is hosted.Vercel's; this package only starts
// the App and adapts Vercel's request to it.
package vercelfn

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/order"
)

// startBudget bounds building the App at a function's first request.
// Building reads settings and makes clients; it asks no service anything.
const startBudget = 10 * time.Second

// Entry starts the App at its first request and serves both entry points
// with it. A start that fails is not kept: each request answers 500 and
// tries again, so a passing fault does not disable a warm instance for
// its life, and every refused request logs why (a setting that is wrong
// stays wrong until a redeploy: Vercel applies changed settings to new
// deployments only). A gateway retries its refused webhooks. A start that
// succeeds is kept for the instance's life.
type Entry struct {
	build func(context.Context) (*hosted.App, error)
	log   *slog.Logger
	mu    sync.Mutex // one start at a time
	app   atomic.Pointer[hosted.App]
}

// New returns an Entry whose App comes from build. The package's API and
// Reconcile use the one built from Vercel's environment (os.Getenv) and the
// catalog the build embedded; tests pass their own, built with
// hosted.Options (a memory store, settings of their own).
func New(build func(context.Context) (*hosted.App, error), log *slog.Logger) *Entry {
	return &Entry{build: build, log: log}
}

// Logger is the functions' logger: JSON lines on stderr, which Vercel
// keeps as the function's runtime log.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// FromEnvironment builds the App as a deployed Vercel function does
// (hosted.FromEnvironment).
func FromEnvironment(log *slog.Logger) func(context.Context) (*hosted.App, error) {
	return func(ctx context.Context) (*hosted.App, error) { return hosted.FromEnvironment(ctx, hosted.Vercel, log) }
}

var deployed = func() *Entry {
	log := Logger()
	return New(FromEnvironment(log), log)
}()

// API serves the contract's routes: api/index.go's handler.
func API(w http.ResponseWriter, r *http.Request) { deployed.API(w, r) }

// Reconcile runs Vercel's cron: api/cron/reconcile.go's handler.
func Reconcile(w http.ResponseWriter, r *http.Request) { deployed.Reconcile(w, r) }

// start returns the App, building it if no start has succeeded yet.
func (e *Entry) start(r *http.Request) (*hosted.App, bool) {
	if a := e.app.Load(); a != nil {
		return a, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.app.Load(); a != nil {
		return a, true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), startBudget)
	defer cancel()
	a, err := e.build(ctx)
	if err != nil {
		// The error names the setting at fault, never its value; the
		// answer names nothing at all.
		e.log.Error("cannot start", "err", err)
		return nil, false
	}
	e.app.Store(a)
	return a, true
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error struct {
		Code    order.Code `json:"code"`
		Message string     `json:"message"`
	} `json:"error"`
}

// writeJSON answers v as the contract's responses are: JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code order.Code, message string) {
	var body errorBody
	body.Error.Code, body.Error.Message = code, message
	writeJSON(w, status, body)
}

// notStarted answers a request the App could not start for: a 5xx, so a
// gateway retries its webhook.
func notStarted(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, order.CodeInternal, "The payment service cannot start; its log says why.")
}
