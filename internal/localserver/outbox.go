package localserver

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// jampay serve dispatches what orders and subscriptions owe people
// in-process (invariant 10: locally, nothing is sent) and keeps every mail
// and owner event in memory, for the dashboard's "Mail and events" page.

// serveHolder names jampay serve's dispatches in the outboxes.
const serveHolder = "serve"

// keptSent bounds how many mails and events the page keeps (newest).
const keptSent = 200

// dispatchTimeout bounds one dispatch run after a change.
const dispatchTimeout = 30 * time.Second

// sentMail is a mail jampay serve would have sent.
type sentMail struct {
	N       int // its number, for its page
	At      time.Time
	OrderID string
	Kind    string
	shop.Mail
}

// sentEvent is an owner event jampay serve would have put on the bus.
type sentEvent struct {
	At         time.Time
	OrderID    string
	DetailType string
	Detail     string // indented JSON
}

// recorder is jampay serve's Mailer and Publisher: it keeps what it is
// given, newest first.
type recorder struct {
	now    func() time.Time
	mu     sync.Mutex
	n      int
	mails  []sentMail
	events []sentEvent
}

func (r *recorder) Send(_ context.Context, m shop.Mail) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	// OrderID is what the page shows the mail is about: an order, or a
	// subscription.
	sm := sentMail{N: r.n, At: r.now(), OrderID: cmp.Or(m.Tags["order_id"], m.Tags["subscription_id"]), Kind: m.Tags["kind"], Mail: m}
	r.mails = keepNewest(r.mails, sm)
	return nil
}

func (r *recorder) Publish(_ context.Context, e shop.OwnerEvent) error {
	var detail struct {
		OrderID        string `json:"orderId"`
		SubscriptionID string `json:"subscriptionId"`
	}
	_ = json.Unmarshal(e.Detail, &detail)
	pretty := string(e.Detail)
	var v any
	if json.Unmarshal(e.Detail, &v) == nil {
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			pretty = string(b)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = keepNewest(r.events, sentEvent{At: r.now(), OrderID: cmp.Or(detail.OrderID, detail.SubscriptionID), DetailType: e.DetailType, Detail: pretty})
	return nil
}

func keepNewest[T any](list []T, x T) []T {
	list = append([]T{x}, list...)
	return list[:min(len(list), keptSent)]
}

// sent returns the mails and events kept, newest first.
func (r *recorder) sent() ([]sentMail, []sentEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentMail(nil), r.mails...), append([]sentEvent(nil), r.events...)
}

func (r *recorder) mail(n int) (sentMail, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.mails {
		if m.N == n {
			return m, true
		}
	}
	return sentMail{}, false
}

// dispatcher sends what an order or a subscription owes after each change
// this server won, off the request that made it (the webhook answers at
// once, as in AWS where notify reads the table's stream).
type dispatcher struct {
	svc    *shop.Service
	logger *slog.Logger
	wg     sync.WaitGroup
}

// owed is the shop.Service.Owed hook: after every write that added to an
// order's outbox (a status change, or a second payment that keeps the
// status), its effects go. Two writes of one order dispatch concurrently;
// whichever holds the earlier effect's claim sends the later one after it.
func (d *dispatcher) owed() func(ctx context.Context, after order.Order) {
	return func(ctx context.Context, after order.Order) { d.dispatch(ctx, after.ID) }
}

// subscriptionOwed is the shop.Service.SubscriptionOwed hook: owed, for a
// subscription.
func (d *dispatcher) subscriptionOwed() func(ctx context.Context, after subscription.Subscription) {
	return func(ctx context.Context, after subscription.Subscription) { d.dispatch(ctx, after.ID) }
}

// dispatch sends what order or subscription id owes, in the background.
func (d *dispatcher) dispatch(ctx context.Context, id string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
		defer cancel()
		if _, err := d.svc.Dispatch(ctx, id, serveHolder); err != nil {
			d.logger.Error("dispatching effects", "id", id, "err", err)
		}
	}()
}

// Wait waits for the dispatches under way.
func (d *dispatcher) Wait() { d.wg.Wait() }

type mailsPage struct {
	pageClock
	Mails  []sentMail
	Events []sentEvent
}

// mails lists every mail and owner event jampay serve would have sent.
func (d *dashboard) mails(w http.ResponseWriter, r *http.Request) {
	page := mailsPage{pageClock: d.pageClock()}
	page.Mails, page.Events = d.sent.sent()
	d.render(w, http.StatusOK, "mails", page)
}

type mailPage struct {
	pageClock
	Mail sentMail
}

// mail shows one mail: its HTML in a sandboxed frame (no script runs, no
// form posts, nothing reaches this origin) and its text part.
func (d *dashboard) mail(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	m, ok := d.sent.mail(n)
	if err != nil || !ok {
		http.Error(w, "No mail "+r.PathValue("n")+" (jampay serve keeps the last "+strconv.Itoa(keptSent)+").", http.StatusNotFound)
		return
	}
	d.render(w, http.StatusOK, "mail", mailPage{pageClock: d.pageClock(), Mail: m})
}
