package vercelfn

import (
	"net/http"

	"github.com/jampay/jampay/pkg/order"
)

// codeForbidden refuses a call to the reconcile entry point without the
// scheduler's secret.
const codeForbidden order.Code = "forbidden"

// ReconcileCounts is what a reconcile run answers Vercel's cron: counts
// only (the log has the details), so the answer shows nothing of an order.
type ReconcileCounts struct {
	Open                 int  `json:"open"`
	Moved                int  `json:"moved"`
	Missed               int  `json:"missed"`
	Replayed             int  `json:"replayed"`
	WithoutOrder         int  `json:"withoutOrder"`
	PaidLate             int  `json:"paidLate"`
	EffectsSent          int  `json:"effectsSent"`
	EffectsFailed        int  `json:"effectsFailed"`
	SubscriptionsAsked   int  `json:"subscriptionsAsked"`
	SubscriptionsMoved   int  `json:"subscriptionsMoved"`
	SubscriptionsExpired int  `json:"subscriptionsExpired"`
	Errors               int  `json:"errors"`
	Stopped              bool `json:"stopped"`
}

// Reconcile runs one reconcile for Vercel's cron, which calls the path
// with GET and `Authorization: Bearer $CRON_SECRET`. The path is public:
// any call without that secret is refused before anything runs (403). The
// run keeps within hosted.Vercel's budget, since Vercel's handlers get no
// deadline (vercel.json's maxDuration, 60 s, is the hard stop); another
// run holding the lease is not a failure.
func (e *Entry) Reconcile(w http.ResponseWriter, r *http.Request) {
	app, ok := e.start(r)
	if !ok {
		notStarted(w)
		return
	}
	if !app.Authorize(r.Header.Get("Authorization")) {
		e.log.Warn("refused a call without the scheduler's secret", "method", r.Method, "user_agent", r.UserAgent())
		writeError(w, http.StatusForbidden, codeForbidden, "Only the host's scheduler may run reconcile.")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, order.CodeMethodNotAllowed, "Use GET or POST.")
		return
	}
	rep, err := app.Reconcile(r.Context())
	if err != nil {
		// hosted logged the cause; Vercel shows the cron's failure.
		writeError(w, http.StatusInternalServerError, order.CodeInternal, "Reconcile failed; its log says why.")
		return
	}
	writeJSON(w, http.StatusOK, ReconcileCounts{
		Open: rep.Open, Moved: rep.Moved, Missed: rep.Missed, Replayed: rep.Replayed,
		WithoutOrder: len(rep.WithoutOrder), PaidLate: len(rep.PaidLate),
		EffectsSent: rep.EffectsSent, EffectsFailed: rep.EffectsFailed,
		SubscriptionsAsked: rep.SubscriptionsAsked, SubscriptionsMoved: rep.SubscriptionsMoved,
		SubscriptionsExpired: rep.SubscriptionsExpired, Errors: len(rep.Errors), Stopped: rep.Stopped,
	})
}
