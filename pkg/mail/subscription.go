package mail

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/jampay/jampay/pkg/money"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// subscriptionKinds are the mails a subscription's effects may owe, each
// with templates/<kind>.html and .txt, which may use the plan and the
// account page from templates/subscription.html and .txt.
var subscriptionKinds = []string{
	subscription.MailStarted, subscription.MailRenewalReceipt, subscription.MailRenewalFailed,
	subscription.MailTrialEnding, subscription.MailCanceled,
}

// kindAccessLink is the access-link mail, sent directly (it carries a
// fresh token, which an outbox must never hold).
const kindAccessLink = "access_link"

// parseSubscriptionTemplates adds the subscription mails and the access
// link to r.
func (r *Renderer) parseSubscriptionTemplates() error {
	for _, k := range subscriptionKinds {
		if err := r.parse(k, "templates/subscription"); err != nil {
			return err
		}
	}
	return r.parse(kindAccessLink)
}

// parse reads the template pair of kind k, with the layout and the
// shared templates named (without their .html or .txt).
func (r *Renderer) parse(k string, shared ...string) error {
	files := func(ext string) []string {
		out := []string{"templates/layout" + ext}
		for _, s := range shared {
			out = append(out, s+ext)
		}
		return out
	}
	// The HTML set takes the subject from the text template.
	h, err := htmltemplate.ParseFS(templates, append(files(".html"), "templates/"+k+".txt", "templates/"+k+".html")...)
	if err != nil {
		return fmt.Errorf("mail: %s template: %w", k, err)
	}
	t, err := texttemplate.ParseFS(templates, append(files(".txt"), "templates/"+k+".txt")...)
	if err != nil {
		return fmt.Errorf("mail: %s template: %w", k, err)
	}
	r.html[k], r.text[k] = h, t
	return nil
}

// execute renders kind k's subject, text and HTML from d.
func (r *Renderer) execute(k string, d any) (subject, text, html string, err error) {
	h, ok := r.html[k]
	if !ok {
		return "", "", "", fmt.Errorf("mail: no template for a mail %q", k)
	}
	var sb, tb, hb bytes.Buffer
	if err := r.text[k].ExecuteTemplate(&sb, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("mail: %s subject: %w", k, err)
	}
	if err := r.text[k].ExecuteTemplate(&tb, "text", d); err != nil {
		return "", "", "", fmt.Errorf("mail: %s text: %w", k, err)
	}
	if err := h.ExecuteTemplate(&hb, "html", d); err != nil {
		return "", "", "", fmt.Errorf("mail: %s html: %w", k, err)
	}
	return oneLine(sb.String()), tb.String(), hb.String(), nil
}

// RenderSubscription returns the mail e owes the subscriber (nil when it
// owes none or they gave no address) and the owner's event, as Render
// does for an order. Both show the subscription as it is now (s), which
// may be past e.Version. No mail carries a status token: the account page
// it links to asks for an access link when the device has none.
func (r *Renderer) RenderSubscription(s subscription.Subscription, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	ev, err := r.subscriptionEvent(s, e)
	if err != nil {
		return nil, shop.OwnerEvent{}, err
	}
	if e.Mail == "" || strings.TrimSpace(s.Email) == "" {
		return nil, ev, nil
	}
	if _, ok := r.html[e.Mail]; !ok || !slices.Contains(subscriptionKinds, e.Mail) {
		return nil, shop.OwnerEvent{}, fmt.Errorf("mail: effect %s of %s owes a mail %q with no subscription template", e.Type, e.OrderID, e.Mail)
	}
	m, err := r.compose(e.Mail, s.Email, r.subscriptionData(s, e), map[string]string{"subscription_id": TagValue(s.ID)})
	if err != nil {
		return nil, shop.OwnerEvent{}, err
	}
	return m, ev, nil
}

// AccessLink is one subscription in an access-link mail: its plan's name,
// and the link to the account page carrying a fresh token
// (SITE_URL/account.html#subscription=<id>&token=<token>).
type AccessLink = shop.AccessLink

var _ shop.AccessLinkRenderer = (*Renderer)(nil)

// AccessLinkMail renders the mail that sends a subscriber links to their
// subscriptions on another device. It is sent directly, never through an
// outbox: each link carries a fresh token, which jampay stores only
// hashed.
func (r *Renderer) AccessLinkMail(to string, links []AccessLink) (*shop.Mail, error) {
	to = strings.TrimSpace(to)
	if to == "" || len(links) == 0 {
		return nil, fmt.Errorf("mail: an access-link mail needs an address and a link")
	}
	d := accessData{ShopName: r.shopName, SiteURL: r.siteURL, Links: links}
	return r.compose(kindAccessLink, to, d, map[string]string{})
}

type accessData struct {
	ShopName, SiteURL string
	Links             []AccessLink
}

// Reference is the footer's line naming what the mail is about: none.
func (accessData) Reference() string { return "" }

// subscriptionData is what the subscription templates see: money already
// formatted as the site formats it, dates as a person reads them.
type subscriptionData struct {
	ShopName, SiteURL, AccountURL, SubscriptionID string
	Gateway                                       string
	Name                                          string
	// Amount is charged every Every ("month", "3 months").
	Amount, Every string
	// TrialEnd is the trial's end, for a subscription in or starting one.
	TrialEnd string
	// NextRenewal is the end of the period paid for.
	NextRenewal string
	// The renewal paid: its amount and period.
	Paid, PeriodFrom, PeriodTo string
	// Halted: the gateway's retries are over.
	Halted bool
	// PaymentLink is the gateway's page where the subscriber pays
	// (Razorpay's short_url), "" for none.
	PaymentLink   string
	FailureReason string
	// AccessUntil is when a subscription canceled at its period's end
	// stops; "" when it ended at once.
	AccessUntil string
}

// Reference is the footer's line naming the subscription.
func (d subscriptionData) Reference() string { return "Subscription " + d.SubscriptionID }

func (r *Renderer) subscriptionData(s subscription.Subscription, e order.Effect) subscriptionData {
	f := func(amount int64) string { return money.Format(amount, s.Currency) }
	d := subscriptionData{
		ShopName: r.shopName, SiteURL: r.siteURL, SubscriptionID: s.ID, Gateway: s.Gateway,
		Name: s.Name, Amount: f(s.Amount), Every: subscription.IntervalText(s.Interval, s.IntervalCount),
		NextRenewal: day(s.CurrentPeriodEnd()), Halted: s.Status == subscription.Halted,
		FailureReason: s.Evidence.FailureReason, PaymentLink: s.PaymentLink,
	}
	if r.siteURL != "" {
		d.AccountURL = r.siteURL + "/account.html"
	}
	// The trial the effect speaks of: the one it was told of, else the
	// latest snapshot's.
	if te := s.Evidence.TrialEnding; te > 0 && e.Mail == subscription.MailTrialEnding {
		d.TrialEnd = day(time.Unix(te, 0))
	} else if te := s.TrialEnd(); !te.IsZero() && (s.Status == subscription.Trialing || e.Mail == subscription.MailTrialEnding) {
		d.TrialEnd = day(te)
	}
	if rn, ok := renewalOf(s, e); ok {
		d.Paid = money.Format(rn.Amount, cmp.Or(rn.Currency, s.Currency))
		if rn.PeriodStart > 0 && rn.PeriodEnd > 0 {
			d.PeriodFrom, d.PeriodTo = day(time.Unix(rn.PeriodStart, 0)), day(time.Unix(rn.PeriodEnd, 0))
		}
	}
	if end := s.CurrentPeriodEnd(); s.Evidence.Snapshot.CancelAtPeriodEnd && end.After(e.OwedAt) {
		d.AccessUntil = day(end)
	}
	return d
}

// renewalOf is the renewal effect e is about (subscription.renewed,
// subscription.amount_mismatch). The effect does not name it: it is the
// latest of the renewals it may be about (after the first payment; for a
// mismatch, a mismatched one) that the gateway said was paid before e was
// owed, or failing that the latest of them — the one a write owing e
// added, unless later renewals were recorded before e was sent.
func renewalOf(s subscription.Subscription, e order.Effect) (subscription.Renewal, bool) {
	var cands []subscription.Renewal
	for _, rn := range s.Evidence.Renewals {
		switch e.Type {
		case "subscription.renewed":
			if !rn.First {
				cands = append(cands, rn)
			}
		case "subscription.amount_mismatch":
			if slices.Contains(s.Evidence.Mismatched, rn.Ref) {
				cands = append(cands, rn)
			}
		}
	}
	if len(cands) == 0 {
		return subscription.Renewal{}, false
	}
	latest := func(rs []subscription.Renewal) subscription.Renewal {
		return slices.MaxFunc(rs, func(a, b subscription.Renewal) int {
			return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.PeriodEnd, b.PeriodEnd), strings.Compare(a.Ref, b.Ref))
		})
	}
	if !e.OwedAt.IsZero() {
		before := slices.DeleteFunc(slices.Clone(cands), func(rn subscription.Renewal) bool { return rn.At > e.OwedAt.Unix() })
		if len(before) > 0 {
			return latest(before), true
		}
	}
	return latest(cands), true
}

// day is a date as the mails show it, in UTC (the gateways' days); "" for
// none.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 January 2006")
}

// SubscriptionDetail is a subscription's owner event detail: ids, the
// plan and its amount, status, period, email and version, the renewal an
// effect is about, and ID stable per effect so a consumer can drop a
// redelivered event. It never carries a token or its hash.
type SubscriptionDetail struct {
	// ID is "<subscriptionId>:<version>:<type>" (EventID).
	ID             string `json:"id"`
	Type           string `json:"type"`
	SubscriptionID string `json:"subscriptionId"`
	// Version is the subscription's version after the change that owed
	// the event; the rest is the subscription when it was sent.
	Version           int64               `json:"version"`
	Status            subscription.Status `json:"status"`
	Gateway           string              `json:"gateway"`
	SKU               string              `json:"sku"`
	Name              string              `json:"name"`
	Quantity          int64               `json:"quantity"`
	Amount            int64               `json:"amount"`
	Currency          string              `json:"currency"`
	Interval          string              `json:"interval"`
	IntervalCount     int64               `json:"intervalCount"`
	TrialEnd          *time.Time          `json:"trialEnd"`
	CurrentPeriodEnd  *time.Time          `json:"currentPeriodEnd"`
	CancelAtPeriodEnd bool                `json:"cancelAtPeriodEnd"`
	Email             string              `json:"email"`
	FailureReason     string              `json:"failureReason,omitempty"`
	// SubscriptionRef is the gateway's subscription (Stripe sub_…,
	// Razorpay sub_…).
	SubscriptionRef string `json:"subscriptionRef,omitempty"`
	// Renewal is the payment a subscription.renewed or
	// subscription.amount_mismatch is about.
	Renewal   *RenewalDetail `json:"renewal,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	OwedAt    time.Time      `json:"owedAt"`
}

// RenewalDetail is one paid billing period in an owner event.
type RenewalDetail struct {
	Ref         string     `json:"ref"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	PeriodStart *time.Time `json:"periodStart"`
	PeriodEnd   *time.Time `json:"periodEnd"`
	PaidAt      *time.Time `json:"paidAt"`
}

func (r *Renderer) subscriptionEvent(s subscription.Subscription, e order.Effect) (shop.OwnerEvent, error) {
	d := SubscriptionDetail{
		ID: EventID(e), Type: e.Type, SubscriptionID: e.OrderID, Version: e.Version,
		Status: s.Status, Gateway: s.Gateway, SKU: s.SKU, Name: s.Name, Quantity: s.Quantity,
		Amount: s.Amount, Currency: s.Currency, Interval: s.Interval, IntervalCount: s.IntervalCount,
		TrialEnd: timeOrNil(s.TrialEnd()), CurrentPeriodEnd: timeOrNil(s.CurrentPeriodEnd()),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd(), Email: s.Email, FailureReason: s.FailureReason(),
		SubscriptionRef: s.SubscriptionRef, CreatedAt: s.CreatedAt.UTC(), OwedAt: e.OwedAt.UTC(),
	}
	if rn, ok := renewalOf(s, e); ok {
		d.Renewal = &RenewalDetail{Ref: rn.Ref, Amount: rn.Amount, Currency: rn.Currency,
			PeriodStart: unixOrNil(rn.PeriodStart), PeriodEnd: unixOrNil(rn.PeriodEnd), PaidAt: unixOrNil(rn.At)}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return shop.OwnerEvent{}, fmt.Errorf("mail: event %s: %w", d.ID, err)
	}
	return shop.OwnerEvent{DetailType: e.Type, Detail: b}, nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func unixOrNil(sec int64) *time.Time {
	if sec == 0 {
		return nil
	}
	return timeOrNil(time.Unix(sec, 0))
}
