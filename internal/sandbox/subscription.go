package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// The sandbox sells subscriptions as the gateways do: a hosted page (Stripe
// Checkout in subscription mode, Razorpay Checkout with subscription_id)
// whose Subscribe, Decline and Abandon send the gateway's events, then
// controls that make time pass for the subscription — renew, fail a
// renewal, exhaust the retries, end the trial, let the period end — each
// sending what the gateway sends when that happens. They are at
// /sandbox/subscriptions/{id}/{action}, under the same page.
var (
	_ shop.SubscriptionGateway = (*StripeGateway)(nil)
	_ shop.SubscriptionGateway = (*RazorpayGateway)(nil)
	_ shop.BillingPortal       = (*StripeGateway)(nil)
)

// subBook is one subscription in the sandbox's books, in the gateway's
// words.
type subBook struct {
	Gateway string
	Sub     subscription.Subscription // as jampay's checkout made it
	// SessionRef is the checkout: Stripe's Checkout Session (cs_…) or
	// the Razorpay subscription (sub_…). Ref is the gateway's
	// subscription (Stripe sub_…, made when the customer subscribes;
	// Razorpay's is SessionRef). Customer is Stripe's cus_…, PlanRef the
	// Razorpay plan.
	SessionRef, Ref, Customer, PlanRef string
	// Checkout is "" while the customer can subscribe, then "complete"
	// or "expired"; Declined is the last attempt's decline.
	Checkout, Declined string
	// Status is the gateway's: Stripe trialing, active, past_due, unpaid,
	// canceled; Razorpay authenticated, active, pending, halted,
	// cancelled, completed.
	Status string
	// Started is when the subscription began; the current period (on
	// Razorpay, the last one paid for), the trial's end (Razorpay's
	// start_at), and whether it ends with its period.
	Started, PeriodStart, PeriodEnd, TrialEnd time.Time
	CancelAtPeriodEnd                         bool
	// OpenInvoice is Stripe's renewal invoice that failed, and Attempts how
	// often it was tried; Paid is Razorpay's paid_count.
	OpenInvoice string
	Attempts    int64
	Paid        int64
	// Clock is the subscription's own time: every event it sends is
	// stamped later than the one before, and a renewal moves it a period
	// on, so the gateway's order of events is jampay's too.
	Clock time.Time
	// ReturnURL is where the billing portal returns.
	ReturnURL string
}

// trialing reports whether b is in its trial, in either gateway's words.
func (b *subBook) trialing() bool {
	return b.Status == "trialing" || b.Status == "authenticated" && b.TrialEnd.After(b.Clock)
}

// failing reports whether a renewal of b failed and was not paid since.
func (b *subBook) failing() bool {
	switch b.Status {
	case "past_due", "unpaid", "pending", "halted":
		return true
	}
	return false
}

// ended reports whether b can no longer change.
func (b *subBook) ended() bool {
	switch b.Status {
	case "canceled", "cancelled", "completed":
		return true
	}
	return b.Checkout == "expired"
}

// tick moves b's clock to at least to, and at least a second past the
// last event, and returns it: the time the next event is stamped with.
func (s *Sandbox) tick(b *subBook, to time.Time) time.Time {
	next := b.Clock.Add(time.Second)
	if now := s.cfg.Now().UTC().Truncate(time.Second); now.After(next) {
		next = now
	}
	if to.After(next) {
		next = to.UTC().Truncate(time.Second)
	}
	b.Clock = next
	return next
}

// next is the end of the billing period that starts at start.
func (b *subBook) next(start time.Time) time.Time {
	return payloads.NextPeriod(start, b.Sub.Interval, b.Sub.IntervalCount)
}

// openSubscription returns the book for s, making it on first call: asking
// twice for one subscription gives one checkout.
func (s *Sandbox) openSubscription(gateway string, sub *subscription.Subscription, make func(b *subBook)) *subBook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.subs[sub.ID]; ok {
		return b
	}
	b := &subBook{Gateway: gateway, Sub: sub.Clone()}
	make(b)
	s.subs[sub.ID] = b
	for _, ref := range []string{b.SessionRef, b.Ref} {
		s.subRefs[ref] = sub.ID
	}
	return b
}

// subscriptionBook finds a book by jampay's subscription id or any of the
// gateway's references to it.
func (s *Sandbox) subscriptionBook(key string) (*subBook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.subRefs[key]; ok {
		key = id
	}
	b, ok := s.subs[key]
	return b, ok
}

// outgoing is one webhook an action sends.
type outgoing struct {
	Gateway, ID string // ID: Razorpay's X-Razorpay-Event-Id
	Body        []byte
}

// deliver sends the webhooks in order. One that cannot be delivered is
// lost, with every one after it — the gateway's books have moved, and
// reconcile finds them — and the error says so.
func (s *Sandbox) deliver(ctx context.Context, out []outgoing) error {
	for i, o := range out {
		if err := s.send(ctx, o); err != nil {
			for _, l := range out[i:] {
				s.lose(l.Gateway, l.ID, l.Body)
			}
			return fmt.Errorf("the sandbox could not deliver %s's webhook (it is kept for reconcile): %w", gatewayName(o.Gateway), err)
		}
	}
	return nil
}

// send signs one webhook as its gateway does and POSTs it to jampay.
func (s *Sandbox) send(ctx context.Context, o outgoing) error {
	if o.Gateway == "stripe" {
		return SendStripe(ctx, s.cfg.Client, s.cfg.BaseURL+"/api/webhooks/stripe", s.cfg.StripeSecret, o.Body, time.Time{})
	}
	return SendRazorpay(ctx, s.cfg.Client, s.cfg.BaseURL+"/api/webhooks/razorpay", s.cfg.RazorpaySecret, o.ID, o.Body)
}

func gatewayName(g string) string {
	if g == "stripe" {
		return "Stripe"
	}
	return "Razorpay"
}

// errRefused is an action the subscription's state does not allow.
type errRefused string

func (e errRefused) Error() string { return string(e) }

// subscriptionAction plays one button of the subscription's page (the
// checkout's, or a time control) and sends what the gateway would.
func (s *Sandbox) subscriptionAction(w http.ResponseWriter, r *http.Request) {
	b, ok := s.subscriptionBook(r.PathValue("id"))
	action := r.PathValue("action")
	// Razorpay's checkout happens in Checkout.js, which reads JSON.
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json") ||
		ok && b.Gateway == "razorpay" && (action == "subscribe" || action == "decline" || action == "abandon")
	fail := func(status int, msg string) {
		if wantsJSON {
			writeJSON(w, status, map[string]string{"error": msg})
			return
		}
		http.Error(w, msg, status)
	}
	if !ok {
		fail(http.StatusNotFound, "No such sandbox subscription.")
		return
	}
	s.mu.Lock()
	var out []outgoing
	var answer any
	var err error
	next := s.cfg.BaseURL + "/sandbox/subscriptions/" + b.Sub.ID
	expire := false
	switch {
	case action == "subscribe" || action == "decline" || action == "abandon":
		if b.Checkout != "" {
			err = errRefused("This checkout is closed: it was " + map[string]string{"complete": "completed", "expired": "abandoned"}[b.Checkout] + ".")
			break
		}
		if b.Gateway == "stripe" {
			out = s.stripeCheckoutAction(b, action)
			switch action {
			case "subscribe":
				next = s.cfg.SiteURL + "/account.html?subscription=" + b.Sub.ID
			case "abandon":
				next = s.cfg.SiteURL + "/cancel.html"
			}
		} else {
			out, answer = s.razorpayCheckoutAction(b, action)
			expire = action == "abandon"
		}
	case b.Checkout != "complete":
		err = errRefused("The customer has not subscribed yet.")
	case action == "update-card":
		if b.Gateway != "stripe" {
			err = errRefused("Razorpay has no billing portal.")
			break
		}
		out = s.stripeUpdateCard(b)
		next = s.cfg.BaseURL + "/sandbox/portal/" + b.Ref + "?updated=1"
	case b.ended():
		err = errRefused("This subscription has ended.")
	case b.Gateway == "stripe":
		out, err = s.stripeTime(b, action)
	default:
		out, err = s.razorpayTime(b, action)
	}
	s.mu.Unlock()
	var refused errRefused
	switch {
	case errors.As(err, &refused):
		fail(http.StatusConflict, err.Error())
		return
	case err != nil:
		fail(http.StatusNotFound, err.Error())
		return
	}
	if expire && s.cfg.Expire != nil {
		// Razorpay says nothing when a customer closes Checkout: the
		// subscription stays created until jampay expires it.
		if err := s.cfg.Expire(r.Context(), b.Sub.ID); err != nil {
			fail(http.StatusBadGateway, err.Error())
			return
		}
	}
	if err := s.deliver(r.Context(), out); err != nil {
		fail(http.StatusBadGateway, err.Error())
		return
	}
	switch {
	case answer != nil:
		writeJSON(w, http.StatusOK, answer)
	case wantsJSON:
		writeJSON(w, http.StatusOK, s.subscriptionState(b))
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// SubscriptionState is what the sandbox's books say of a subscription, in
// the gateway's words.
type SubscriptionState struct {
	Gateway           string    `json:"gateway"`
	Subscription      string    `json:"subscription"` // the gateway's id
	Status            string    `json:"status"`
	Checkout          string    `json:"checkout"`
	PeriodStart       time.Time `json:"periodStart"`
	PeriodEnd         time.Time `json:"periodEnd"`
	TrialEnd          time.Time `json:"trialEnd"`
	CancelAtPeriodEnd bool      `json:"cancelAtPeriodEnd"`
	Clock             time.Time `json:"clock"`
}

func (s *Sandbox) subscriptionState(b *subBook) SubscriptionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SubscriptionState{Gateway: b.Gateway, Subscription: b.Ref, Status: b.Status, Checkout: b.Checkout,
		PeriodStart: b.PeriodStart, PeriodEnd: b.PeriodEnd, TrialEnd: b.TrialEnd, CancelAtPeriodEnd: b.CancelAtPeriodEnd, Clock: b.Clock}
}

// subscriptionJSON answers GET /sandbox/subscriptions/{id} for a client
// that asks for JSON, and the page otherwise.
func (s *Sandbox) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	b, ok := s.subscriptionBook(r.PathValue("id"))
	if !ok {
		http.Error(w, "No such sandbox subscription.", http.StatusNotFound)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, s.subscriptionState(b))
		return
	}
	s.mu.Lock()
	data := subPageData{
		Shop: s.cfg.ShopName, Gateway: gatewayName(b.Gateway), Action: "/sandbox/subscriptions/" + b.Sub.ID + "/",
		Sub: b.Sub, Checkout: b.Checkout, Declined: b.Declined, Status: b.Status,
		PeriodStart: b.PeriodStart, PeriodEnd: b.PeriodEnd, TrialEnd: b.TrialEnd, Cancel: b.CancelAtPeriodEnd,
		Trialing: b.trialing(), Failing: b.failing(), Ended: b.ended(), Clock: b.Clock,
		AccountURL: s.cfg.SiteURL + "/account.html?subscription=" + b.Sub.ID, ShopURL: s.cfg.SiteURL + "/",
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = subPageTemplate.Execute(w, data)
}

// stripeEvent writes one of b's Stripe events as Stripe would, at.
func stripeEvent(b *subBook, typ string, at time.Time, edit func(*payloads.Stripe)) outgoing {
	ev := payloads.Stripe{Type: typ, OrderID: b.Sub.ID, Amount: b.Sub.Amount, Currency: b.Sub.Currency,
		SessionID: b.SessionRef, Created: at, Subscription: payloads.Subscription{
			SubscriptionID: b.Sub.ID, SubscriptionRef: b.Ref, CustomerID: b.Customer, Status: b.Status,
			PeriodStart: b.PeriodStart, PeriodEnd: b.PeriodEnd, Started: b.Started, TrialEnd: b.TrialEnd,
			CancelAtPeriodEnd: b.CancelAtPeriodEnd, Interval: b.Sub.Interval, IntervalCount: b.Sub.IntervalCount, Name: b.Sub.Name,
		}}
	if edit != nil {
		edit(&ev)
	}
	body, err := ev.Payload()
	if err != nil {
		// The types are the sandbox's own, each in stripehook.Events.
		panic(err)
	}
	return outgoing{Gateway: "stripe", Body: body}
}

// razorpayEvent writes one of b's Razorpay events as Razorpay would, at.
func razorpayEvent(b *subBook, typ string, at time.Time, edit func(*payloads.Razorpay)) outgoing {
	ev := payloads.Razorpay{Type: typ, OrderID: b.Sub.ID, Amount: b.Sub.Amount, Currency: b.Sub.Currency, Created: at,
		RazorpaySubscription: payloads.RazorpaySubscription{
			SubscriptionID: b.Sub.ID, RazorpaySubscriptionID: b.Ref, PlanID: b.PlanRef, Status: b.Status,
			StartAt: b.TrialEnd, TotalCount: b.Sub.TotalCount, PaidCount: b.Paid,
		}}
	if ev.StartAt.IsZero() {
		ev.StartAt = b.Started
	}
	if b.Paid > 0 {
		// Razorpay's current cycle is the last one paid for.
		ev.CurrentStart, ev.CurrentEnd = b.PeriodStart, b.PeriodEnd
	}
	if edit != nil {
		edit(&ev)
	}
	body, id, err := ev.Payload()
	if err != nil {
		panic(err)
	}
	return outgoing{Gateway: "razorpay", ID: id, Body: body}
}
