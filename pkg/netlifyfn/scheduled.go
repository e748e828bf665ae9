package netlifyfn

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/lambdahttp"
	"github.com/jampay/jampay/pkg/shop"
)

// Reconciler runs one reconcile run within its host's budget
// (hosted.App).
type Reconciler interface {
	Reconcile(ctx context.Context) (shop.ReconcileReport, error)
}

// ReconcileSecretEnv names the setting an owner presents, as
// "Authorization: Bearer <secret>", to run the reconcile function by hand.
// Unset, runs by hand are refused; Netlify's scheduler needs none.
const ReconcileSecretEnv = "JAMPAY_RECONCILE_SECRET"

// minReconcileSecret is the shortest reconcile secret accepted, as for
// webhook secrets and Vercel's CRON_SECRET.
const minReconcileSecret = 16

// The marks of Netlify's scheduler on the call it makes to a scheduled
// function: a POST, X-NF-Event: schedule, user agent Netlify Clockwork,
// and a JSON body {"next_run": "<RFC 3339 time>"} (netlify-cli's
// emulation of production, functions/server.js, and Netlify's
// scheduled-functions docs).
const (
	scheduleEvent     = "schedule"
	scheduleUserAgent = "Netlify Clockwork"
)

// Scheduled returns the Lambda handler of Netlify's scheduled reconcile
// function. It runs one reconcile for a call in the shape of Netlify's
// scheduler, or for a run by hand that presents ReconcileSecretEnv's
// value as a Bearer token; it refuses anything else with 403 and runs
// nothing. It answers JSON with the run's counts (Netlify's scheduler
// reads only the status).
//
// The scheduler's shape is not authentication: anyone can send those
// headers. What keeps outside callers out in production is Netlify
// itself, which routes no HTTP request to a scheduled function, and
// netlify.toml, which rewrites nothing to it. Under netlify dev the check
// refuses nothing: netlify-cli reshapes every request to a scheduled
// function into the scheduler's call, so anyone who reaches the dev
// server can run reconcile (which only asks the gateways and applies
// what they say: it is no worse than waiting for the schedule). A call
// presenting an Authorization is judged by that alone. In production an
// owner runs `jampay reconcile` instead; it takes the same lease.
//
// A ReconcileSecretEnv shorter than 16 characters is an error at start.
func Scheduled(app Reconciler, getenv func(string) string, log *slog.Logger) (func(context.Context, Event) (events.APIGatewayProxyResponse, error), error) {
	secret := getenv(ReconcileSecretEnv)
	if secret != "" && len(secret) < minReconcileSecret {
		return nil, fmt.Errorf("setting %s must be at least %d characters (or unset: no runs by hand)", ReconcileSecretEnv, minReconcileSecret)
	}
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, ev Event) (events.APIGatewayProxyResponse, error) {
		h := Header(ev)
		if auth := h.Get("Authorization"); auth != "" {
			// A call that presents a credential is judged by it alone: a
			// wrong one is refused even in the scheduler's shape (the
			// scheduler presents none).
			if secret == "" || subtle.ConstantTimeCompare([]byte(auth), []byte("Bearer "+secret)) != 1 {
				log.Warn("reconcile refused: a run by hand without the reconcile secret", "secret_set", secret != "")
				return forbidden(), nil
			}
		} else if why := notSchedule(ev, h); why != "" {
			// Logged with what was seen, so that an owner whose scheduled
			// runs are refused (should Netlify's scheduler ever change its
			// shape) finds out from the function's log.
			log.Warn("reconcile refused: not Netlify's scheduler", "why", why, "method", ev.HTTPMethod,
				"x_nf_event", h.Get("X-Nf-Event"), "user_agent", h.Get("User-Agent"))
			return forbidden(), nil
		}
		rep, err := app.Reconcile(ctx)
		if err != nil {
			// The run's errors are in the log (hosted.App logs them); the
			// next scheduled run takes up what this one left.
			return answer(http.StatusInternalServerError, map[string]any{"error": map[string]string{
				"code": "reconcile_failed", "message": "Reconcile failed; the next run takes up what it left.",
			}}), nil
		}
		return answer(http.StatusOK, counts(rep)), nil
	}, nil
}

// notSchedule says why ev is not Netlify's scheduler calling, or "".
func notSchedule(ev Event, h http.Header) string {
	if ev.HTTPMethod != http.MethodPost {
		return "not a POST"
	}
	if h.Get("X-Nf-Event") != scheduleEvent {
		return "no X-NF-Event: schedule"
	}
	if h.Get("User-Agent") != scheduleUserAgent {
		return "not the Netlify Clockwork user agent"
	}
	body, err := lambdahttp.DecodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return "a body that is not base64"
	}
	var b struct {
		NextRun *string `json:"next_run"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.NextRun == nil {
		return "no JSON body with next_run"
	}
	if _, err := time.Parse(time.RFC3339, *b.NextRun); err != nil {
		return "next_run is not a time"
	}
	return ""
}

// reconcileCounts is the answer to a run: the report's counts (never its
// error texts, which stay in the log).
type reconcileCounts struct {
	Open                 int  `json:"open"`
	Moved                int  `json:"moved"`
	Missed               int  `json:"missed"`
	Replayed             int  `json:"replayed"`
	WithoutOrder         int  `json:"withoutOrder"`
	PaidLate             int  `json:"paidLate"`
	EffectsDue           int  `json:"effectsDue"`
	EffectsSent          int  `json:"effectsSent"`
	EffectsFailed        int  `json:"effectsFailed"`
	SubscriptionsAsked   int  `json:"subscriptionsAsked"`
	SubscriptionsMoved   int  `json:"subscriptionsMoved"`
	SubscriptionsExpired int  `json:"subscriptionsExpired"`
	RenewalsFound        int  `json:"renewalsFound"`
	TrialsEnding         int  `json:"trialsEnding"`
	Errors               int  `json:"errors"`
	Stopped              bool `json:"stopped"`
}

func counts(r shop.ReconcileReport) reconcileCounts {
	return reconcileCounts{
		Open: r.Open, Moved: r.Moved, Missed: r.Missed, Replayed: r.Replayed,
		WithoutOrder: len(r.WithoutOrder), PaidLate: len(r.PaidLate),
		EffectsDue: r.EffectsDue, EffectsSent: r.EffectsSent, EffectsFailed: r.EffectsFailed,
		SubscriptionsAsked: r.SubscriptionsAsked, SubscriptionsMoved: r.SubscriptionsMoved,
		SubscriptionsExpired: r.SubscriptionsExpired, RenewalsFound: r.RenewalsFound, TrialsEnding: r.TrialsEnding,
		Errors: len(r.Errors), Stopped: r.Stopped,
	}
}

func forbidden() events.APIGatewayProxyResponse {
	return answer(http.StatusForbidden, map[string]any{"error": map[string]string{
		"code":    "forbidden",
		"message": "Reconcile runs on Netlify's schedule, or by hand with Authorization: Bearer and the reconcile secret.",
	}})
}

func answer(status int, v any) events.APIGatewayProxyResponse {
	b, _ := json.Marshal(v)
	return Response(status, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}, b)
}
