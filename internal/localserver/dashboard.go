package localserver

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/money"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// The dashboard is the owner's page of `jampay serve`, at /_jampay/: the
// orders, each one's history, a Refund button, "Reconcile now", a clock
// to advance, and the subscriptions, each one's payments and history, with
// Cancel buttons. It can move money, so it lives here only — internal/, linked
// by the CLI and never by a Lambda function (TestNoFunctionLinksTheDashboard)
// — answers only on the loopback address it listens on, and its actions
// refuse requests from any other origin: a page elsewhere in the owner's
// browser must not be able to post a refund to it.

// localActor is who acts from the dashboard, in the orders' history.
const localActor = "local"

// ordersPerPage is how many orders the dashboard lists at once.
const ordersPerPage = 25

// refundWait bounds how long a refund's page waits for the gateway's
// webhook to move the order before showing it (the sandbox's comes within
// milliseconds; a real gateway's through `stripe listen` within seconds).
const refundWait = 5 * time.Second

// maxAdvance bounds one move of the clock.
const maxAdvance = 30 * 24 * time.Hour

//go:embed dashboard.html
var dashboardHTML string

var dashboardPages = template.Must(template.New("").Funcs(template.FuncMap{
	"money": moneyHTML,
	"when":  func(t time.Time) string { return when(t) },
	"since": func(d time.Duration) string { return strings.TrimSuffix(d.Round(time.Minute).String(), "0s") },
	"mul":   func(a, b int64) int64 { return a * b },
	"upper": strings.ToUpper,
	"per":   subscription.IntervalText,
	// unix is a time the evidence keeps in Unix seconds.
	"unix": func(sec int64) time.Time {
		if sec == 0 {
			return time.Time{}
		}
		return time.Unix(sec, 0)
	},
	"has": func(set []string, v string) bool { return slices.Contains(set, v) },
	// page is where the dashboard shows an order or a subscription.
	"page": func(id string) string {
		if subscription.ValidID(id) {
			return "/_jampay/subscriptions/" + id
		}
		return "/_jampay/orders/" + id
	},
	"gateway": gateway,
}).Parse(dashboardHTML))

type dashboard struct {
	svc    *shop.Service
	sent   *recorder
	clock  *clock
	logger *slog.Logger
	// holder names this process in the reconcile lease.
	holder string
	// port is the listener's: the dashboard answers on no other.
	port string

	// running keeps one "Reconcile now" at a time in this process; the
	// lease keeps out other processes (a `jampay reconcile` on the same
	// DynamoDB Local table).
	running sync.Mutex
	mu      sync.Mutex
	lastRun *runNote
	notices map[string]refundNote // by order id: the last refund asked here
	// cancels are the last cancel asked here, by subscription id.
	cancels map[string]cancelNote
}

// runNote is what the last "Reconcile now" did.
type runNote struct {
	At     time.Time
	Report shop.ReconcileReport
	Err    string
}

// refundNote is what became of a refund asked from the dashboard.
type refundNote struct {
	Err       string
	RefundID  string
	Amount    int64
	Currency  string
	Confirmed bool
	Status    order.Status
}

func newDashboard(svc *shop.Service, sent *recorder, clk *clock, logger *slog.Logger, holder, port string) *dashboard {
	return &dashboard{svc: svc, sent: sent, clock: clk, logger: logger, holder: holder, port: port,
		notices: map[string]refundNote{}, cancels: map[string]cancelNote{}}
}

// Handler serves /_jampay/.
func (d *dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_jampay/{$}", d.orders)
	mux.HandleFunc("GET /_jampay/orders/{id}", d.order)
	mux.HandleFunc("GET /_jampay/mail/{$}", d.mails)
	mux.HandleFunc("GET /_jampay/mail/{n}", d.mail)
	mux.HandleFunc("POST /_jampay/orders/{id}/refund", d.refund)
	mux.HandleFunc("GET /_jampay/subscriptions/{$}", d.subscriptions)
	mux.HandleFunc("GET /_jampay/subscriptions/{id}", d.subscription)
	mux.HandleFunc("POST /_jampay/subscriptions/{id}/cancel", d.cancel)
	mux.HandleFunc("POST /_jampay/reconcile", d.reconcile)
	mux.HandleFunc("POST /_jampay/clock", d.advance)
	return d.guard(mux)
}

// guard refuses what is not the owner at this machine's browser, and
// keeps the pages out of other sites' frames (which could steer a click
// onto Refund).
func (d *dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		// Not no-referrer: under it browsers send "Origin: null" with the
		// dashboard's own form posts, which refusal must refuse.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		if why := d.refusal(r); why != "" {
			d.logger.Warn("dashboard request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
				"host", r.Host, "origin", r.Header.Get("Origin"), "why", why)
			http.Error(w, "Refused: "+why, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refusal says why r may not reach the dashboard ("" if it may).
func (d *dashboard) refusal(r *http.Request) string {
	// Loopback only, whatever -addr says: the dashboard moves money.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !loopback(host) {
		return "the dashboard answers only on this machine's loopback address."
	}
	// A tunnel (ngrok, cloudflared) forwarding the internet to this port
	// connects from loopback too, and says so in these headers.
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Cf-Connecting-Ip", "X-Forwarded-Host"} {
		if r.Header.Get(h) != "" {
			return "a request through a proxy or tunnel (" + h + "): the dashboard is for this machine only."
		}
	}
	// A site whose name its owner points at 127.0.0.1 (DNS rebinding)
	// reaches this port with its own name as the Host: only ours will do.
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != d.port || !(host == "localhost" || loopback(host)) {
		return "the dashboard answers only under its own address (" + r.Host + " is not it)."
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	// Browsers say where a request comes from: Sec-Fetch-Site, and the
	// Origin of every POST. Either naming another origin is refused, and
	// one of them must be there: a request with neither is no browser's,
	// and a tool on this machine has the CLI.
	site, origin := r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin")
	if site != "" && site != "same-origin" {
		return "a request from another site (Sec-Fetch-Site: " + site + ")."
	}
	if origin != "" && origin != "null" && origin != "http://"+r.Host {
		return "a request from another origin (" + origin + ")."
	}
	if site != "same-origin" && (origin == "" || origin == "null") {
		return "a request that does not say where it comes from (no Origin, no Sec-Fetch-Site)."
	}
	return ""
}

func loopback(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// pageClock is what every page's header shows: the time jampay serve
// keeps, and how far the dashboard moved it ahead.
type pageClock struct {
	Now    time.Time
	Offset time.Duration
}

func (d *dashboard) pageClock() pageClock {
	return pageClock{Now: d.clock.Now(), Offset: d.clock.Offset()}
}

type ordersPage struct {
	pageClock
	Orders []order.Order
	Next   string
	Run    *runNote
}

func (d *dashboard) orders(w http.ResponseWriter, r *http.Request) {
	page := ordersPage{pageClock: d.pageClock()}
	d.mu.Lock()
	page.Run = d.lastRun
	d.mu.Unlock()
	lister, ok := d.svc.Store.(shop.OrderLister)
	if !ok {
		d.internal(w, fmt.Errorf("the store %T cannot list orders", d.svc.Store))
		return
	}
	var err error
	page.Orders, page.Next, err = lister.ListOrders(r.Context(), shop.OrderFilter{}, ordersPerPage, r.URL.Query().Get("after"))
	if err != nil {
		d.internal(w, err)
		return
	}
	d.render(w, http.StatusOK, "orders", page)
}

type orderPage struct {
	pageClock
	Order   *order.Order
	History []order.Change
	// Refundable is what may still be refunded, refunds not yet
	// confirmed counted; NotRefundable says why nothing may be.
	Refundable    int64
	NotRefundable string
	Notice        *refundNote
}

func (d *dashboard) order(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("id"); subscription.ValidID(id) {
		// A mail or an event about a subscription links here.
		http.Redirect(w, r, "/_jampay/subscriptions/"+id, http.StatusSeeOther)
		return
	}
	o, err := d.svc.Store.GetOrder(r.Context(), r.PathValue("id"))
	if errors.Is(err, order.ErrNotFound) {
		http.Error(w, "No order "+r.PathValue("id")+".", http.StatusNotFound)
		return
	}
	if err != nil {
		d.internal(w, err)
		return
	}
	page := orderPage{pageClock: d.pageClock(), Order: o, Refundable: o.Refundable()}
	if err := o.CheckRefundable(); err != nil {
		page.Refundable, page.NotRefundable = 0, refusedBecause(err)
	}
	page.History = newestFirst(o.History)
	page.Notice = noticeOf(d, d.notices, o.ID)
	d.render(w, http.StatusOK, "order", page)
}

// newestFirst is a history as a page shows it: newest first, as the
// orders and subscriptions are listed.
func newestFirst(h []order.Change) []order.Change {
	h = slices.Clone(h)
	slices.Reverse(h)
	return h
}

// noticeOf is the last refund or cancel asked here for id, from notices
// (d.notices or d.cancels), or nil for none.
func noticeOf[N any](d *dashboard, notices map[string]N, id string) *N {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := notices[id]; ok {
		return &n
	}
	return nil
}

// refund asks the order's gateway for a refund, as `jampay refund` does,
// then waits a moment for the gateway's webhook: the order moves only
// when the gateway confirms, never here.
func (d *dashboard) refund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	back := "/_jampay/orders/" + id
	before, err := d.svc.Store.GetOrder(r.Context(), id)
	if errors.Is(err, order.ErrNotFound) {
		http.Error(w, "No order "+id+".", http.StatusNotFound)
		return
	}
	if err != nil {
		d.internal(w, err)
		return
	}
	note := refundNote{Currency: before.Currency}
	amount, err := parseAmount(r.PostFormValue("amount"), before.Currency)
	if err != nil {
		note.Err = err.Error()
		d.note(id, note)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	res, err := d.svc.Refund(r.Context(), shop.RefundRequest{OrderID: id, Amount: amount, Actor: localActor})
	switch {
	case err != nil && order.ErrorCode(err) != order.CodeInternal:
		note.Err = refusedBecause(err)
	case err != nil:
		d.logger.Error("dashboard refund", "order", id, "err", err)
		note.Err = "Internal error: see jampay serve's log."
	default:
		if res.Unrecorded != nil {
			d.logger.Warn("dashboard refund: the refund id was not stored on the order", "order", id, "refund", res.RefundID, "err", res.Unrecorded)
		}
		note.RefundID, note.Amount = res.RefundID, res.Amount
		// Confirmed once the gateway's cumulative refunded amount has
		// grown by this refund past what it was when it was asked.
		want := before.Evidence.Refunded + res.Amount
		if rq, ok := res.Order.RefundBySeq(res.Seq); ok {
			want = rq.RefundedBefore + rq.Amount
		}
		after, confirmed := d.waitForRefund(r.Context(), id, want)
		note.Confirmed, note.Status = confirmed, after.Status
	}
	d.note(id, note)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// refusedBecause is an application error's sentence.
func refusedBecause(err error) string {
	var e *order.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// waitForRefund reads the order until the gateway's confirmation has
// brought its refunded amount to want, or refundWait has passed.
func (d *dashboard) waitForRefund(ctx context.Context, id string, want int64) (order.Order, bool) {
	ctx, cancel := context.WithTimeout(ctx, refundWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last order.Order
	for {
		if o, err := d.svc.Store.GetOrder(ctx, id); err == nil {
			last = *o
			if o.Evidence.Refunded >= want {
				return last, true
			}
		}
		select {
		case <-ctx.Done():
			return last, false
		case <-tick.C:
		}
	}
}

func (d *dashboard) note(id string, n refundNote) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notices[id] = n
}

// subscriptionLister lists subscriptions for the owner: newest first, at
// most limit, paged with after/next as ListOrders. Both stores have it.
type subscriptionLister interface {
	ListSubscriptions(ctx context.Context, status subscription.Status, limit int, after string) ([]subscription.Subscription, string, error)
}

type subscriptionsPage struct {
	pageClock
	Subscriptions []subscription.Subscription
	Next          string
}

func (d *dashboard) subscriptions(w http.ResponseWriter, r *http.Request) {
	page := subscriptionsPage{pageClock: d.pageClock()}
	lister, ok := d.svc.Subs.(subscriptionLister)
	if !ok {
		d.internal(w, fmt.Errorf("the store %T cannot list subscriptions", d.svc.Subs))
		return
	}
	var err error
	page.Subscriptions, page.Next, err = lister.ListSubscriptions(r.Context(), "", ordersPerPage, r.URL.Query().Get("after"))
	if err != nil {
		d.internal(w, err)
		return
	}
	d.render(w, http.StatusOK, "subscriptions", page)
}

type subscriptionPage struct {
	pageClock
	Sub *subscription.Subscription
	// Payments are its renewals in the order they were paid (the evidence
	// keeps them by reference); History is newest first.
	Payments []subscription.Renewal
	History  []order.Change
	Notice   *cancelNote
}

// cancelNote is what became of a cancel asked from the dashboard.
type cancelNote struct {
	Err    string
	Now    bool
	Status subscription.Status
	// Ends is the end of the period it ends with, when it ends then.
	Ends time.Time
}

// getSubscription reads the subscription a dashboard path names, or
// answers the request itself (404, or the internal error) and returns nil.
// An id of the wrong shape never reaches the store.
func (d *dashboard) getSubscription(w http.ResponseWriter, r *http.Request) *subscription.Subscription {
	if d.svc.Subs == nil {
		d.internal(w, fmt.Errorf("the store %T keeps no subscriptions", d.svc.Store))
		return nil
	}
	var s *subscription.Subscription
	var err error = order.ErrNotFound
	if id := r.PathValue("id"); subscription.ValidID(id) {
		s, err = d.svc.Subs.GetSubscription(r.Context(), id)
	}
	if errors.Is(err, order.ErrNotFound) {
		// The id is not echoed: it may be anything a link carried.
		http.Error(w, "No such subscription.", http.StatusNotFound)
		return nil
	}
	if err != nil {
		d.internal(w, err)
		return nil
	}
	return s
}

func (d *dashboard) subscription(w http.ResponseWriter, r *http.Request) {
	s := d.getSubscription(w, r)
	if s == nil {
		return
	}
	page := subscriptionPage{pageClock: d.pageClock(), Sub: s, Payments: slices.Clone(s.Evidence.Renewals), History: newestFirst(s.History),
		Notice: noticeOf(d, d.cancels, s.ID)}
	slices.SortStableFunc(page.Payments, func(a, b subscription.Renewal) int {
		return cmp.Or(cmp.Compare(a.PeriodStart, b.PeriodStart), cmp.Compare(a.At, b.At))
	})
	d.render(w, http.StatusOK, "subscription", page)
}

// cancel asks the subscription's gateway to end it, at the end of its
// period or now, as `jampay cancel` does: the gateway's answer is applied
// through the evidence path, recorded as the local owner's. Nothing is
// refunded.
func (d *dashboard) cancel(w http.ResponseWriter, r *http.Request) {
	s := d.getSubscription(w, r)
	if s == nil {
		return
	}
	when := r.PostFormValue("when")
	if when != "period_end" && when != "now" {
		http.Error(w, `Say when: "period_end" or "now".`, http.StatusBadRequest)
		return
	}
	note := cancelNote{Now: when == "now"}
	after, err := d.svc.CancelSubscription(r.Context(), shop.CancelRequest{ID: s.ID, Now: note.Now, Source: order.SourceOwner, Actor: localActor})
	var gwErr *shop.GatewayError
	switch {
	case errors.As(err, &gwErr):
		note.Err = gateway(s.Gateway) + " did not cancel it: " + gwErr.Message
	case err != nil && order.ErrorCode(err) != order.CodeInternal:
		note.Err = refusedBecause(err)
	case err != nil:
		d.logger.Error("dashboard cancel", "subscription", s.ID, "err", err)
		note.Err = "Internal error: see jampay serve's log."
	default:
		note.Status = after.Status
		if after.CancelAtPeriodEnd() {
			note.Ends = after.CurrentPeriodEnd()
		}
	}
	d.mu.Lock()
	d.cancels[s.ID] = note
	d.mu.Unlock()
	http.Redirect(w, r, "/_jampay/subscriptions/"+s.ID, http.StatusSeeOther)
}

// gateway is a gateway's name as its owner writes it.
func gateway(g string) string {
	return cmp.Or(map[string]string{"stripe": "Stripe", "razorpay": "Razorpay"}[g], g)
}

// reconcile runs reconcile now, as the schedule and `jampay reconcile` do.
func (d *dashboard) reconcile(w http.ResponseWriter, r *http.Request) {
	note := &runNote{}
	if d.running.TryLock() {
		rep, err := d.svc.Reconcile(r.Context(), shop.ReconcileOptions{Holder: d.holder, Actor: localActor})
		d.running.Unlock()
		note.Report = rep
		switch {
		case errors.Is(err, shop.ErrBusy):
			note.Err = err.Error()
		case err != nil:
			d.logger.Error("dashboard reconcile", "err", err)
			note.Err = "The run stopped on an internal error: see jampay serve's log."
		}
	} else {
		note.Err = shop.ErrBusy.Error()
	}
	note.At = d.clock.Now()
	d.mu.Lock()
	d.lastRun = note
	d.mu.Unlock()
	http.Redirect(w, r, "/_jampay/#reconcile", http.StatusSeeOther)
}

// advance moves jampay serve's clock forward (local only).
func (d *dashboard) advance(w http.ResponseWriter, r *http.Request) {
	minutes, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("minutes")))
	if err != nil || minutes < 1 || time.Duration(minutes)*time.Minute > maxAdvance {
		http.Error(w, fmt.Sprintf("Minutes must be a whole number from 1 to %d.", int(maxAdvance/time.Minute)), http.StatusBadRequest)
		return
	}
	d.clock.Advance(time.Duration(minutes) * time.Minute)
	http.Redirect(w, r, "/_jampay/#clock", http.StatusSeeOther)
}

func (d *dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := dashboardPages.ExecuteTemplate(&b, name, data); err != nil {
		d.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// internal logs an unexpected error for the owner's terminal.
func (d *dashboard) internal(w http.ResponseWriter, err error) {
	d.logger.Error("dashboard", "err", err)
	http.Error(w, "Internal error: see jampay serve's log.", http.StatusInternalServerError)
}

// parseAmount reads an amount typed in the currency's major unit ("12.50")
// as minor units; "" is 0, the shop's "all that is left".
func parseAmount(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	exp, _ := catalog.Exponent(currency)
	example := "1250"
	if exp > 0 {
		example = "12.5" + strings.Repeat("0", exp-1)
	}
	bad := fmt.Errorf("%q is not an amount of %s: type it as on a price tag (like %s), or leave it empty to refund all that is left.",
		s, strings.ToUpper(currency), example)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > exp || strings.Trim(whole+frac, "0123456789") != "" || len(whole) > 12 {
		return 0, bad
	}
	n, _ := strconv.ParseInt(whole+frac+strings.Repeat("0", exp-len(frac)), 10, 64)
	if n <= 0 {
		return 0, bad
	}
	return n, nil
}

// moneyText writes an amount as the site does (pkg/money), for pages without script;
// moneyHTML marks it up so the page's script writes it as the shop's pages
// do (Intl.NumberFormat, as site/jampay.js's formatMoney).
func moneyText(amount int64, currency string) string { return money.Format(amount, currency) }

func moneyHTML(amount int64, currency string) template.HTML {
	return template.HTML(fmt.Sprintf(`<span class="money" data-amount="%d" data-currency="%s">%s</span>`,
		amount, template.HTMLEscapeString(currency), template.HTMLEscapeString(moneyText(amount, currency))))
}

// when writes a time in the owner's own zone.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
