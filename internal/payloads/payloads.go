// Package payloads writes webhook payloads in Stripe's and Razorpay's
// own wire formats (shapes from their API references; see the README beside
// each template), for the local sandbox, `jampay trigger`, the load tool and
// tests. It writes the event types the gateways' tables (stripehook.Events,
// razorpayhook.Events) list, and takes from them what each carries.
// Signing is the gateways' own: StripeSignature wraps stripe-go's test
// signer, and Razorpay's is razorpayhook.Sign (an HMAC).
package payloads

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"text/template"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/subscription"
)

//go:embed stripe/*.json razorpay/*.json
var files embed.FS

// stripeTemplates and razorpayTemplates hold each gateway's payloads by
// file name (both have a subscription.json); js writes a value as a JSON
// literal, so no value can break the JSON around it.
var (
	stripeTemplates   = parse("stripe/*.json")
	razorpayTemplates = parse("razorpay/*.json")
)

func parse(glob string) *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"js": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
	}).ParseFS(files, glob))
}

// StripeAPIVersion is the API version stripe-go v76 speaks.
const StripeAPIVersion = "2023-10-16"

// Stripe is one Stripe event to write. Zero fields get defaults derived from
// OrderID, so a test names only what it cares about.
type Stripe struct {
	Type    string // e.g. checkout.session.completed
	EventID string
	OrderID string
	Amount  int64
	// Currency is lower-case ISO 4217.
	Currency        string
	SessionID       string
	PaymentIntentID string
	ChargeID        string
	DisputeID       string
	// PaymentStatus of a completed session: "paid" (default) or "unpaid".
	PaymentStatus string
	Refunded      int64  // charge.refunded: cumulative amount refunded
	DisputeStatus string // charge.dispute.*: needs_response, won, lost
	Reason        string // payment_intent.payment_failed: the message
	DeclineCode   string
	APIVersion    string
	Created       time.Time
	// Livemode is the event's mode: false (test) unless set.
	Livemode bool
	// NoMetadata leaves the object's metadata empty, as on a session a
	// Payment Link or Buy Button made, not jampay.
	NoMetadata bool
	// ClientReferenceID is the session's client_reference_id (anyone can
	// set it on a Payment Link); default OrderID, as jampay's checkout does.
	ClientReferenceID string
	// PresentmentCurrency and PresentmentAmount, when set, make a session
	// paid with Adaptive Pricing as Stripe reported it for sessions created
	// before 2025-03-30: amount_total and currency in the customer's
	// currency, and the priced ones under currency_conversion.
	PresentmentCurrency string
	PresentmentAmount   int64

	Subscription
}

// Subscription is what a subscription's events carry: the Subscription
// object of customer.subscription.*, the Invoice of invoice.*, and a
// Checkout Session in subscription mode. Zero fields get defaults.
type Subscription struct {
	// SubscriptionID is jampay's subscription (sbn_…), in the metadata
	// jampay's checkout sets: default OrderID. A Checkout Session is in
	// subscription mode when it is set or OrderID is a subscription's id.
	SubscriptionID string
	// SubscriptionRef is Stripe's subscription (sub_…); CustomerID its
	// customer (cus_…); InvoiceID the invoice of invoice.* (in_…).
	SubscriptionRef string
	CustomerID      string
	InvoiceID       string
	// Status is the Subscription's status as Stripe writes it (trialing,
	// active, past_due, unpaid, paused, canceled): default what the type
	// says (deleted canceled, paused paused, trial_will_end trialing),
	// else trialing before TrialEnd, else active.
	Status string
	// PeriodStart and PeriodEnd are the subscription's current period,
	// and the invoice line's: default Created and one Interval later.
	PeriodStart, PeriodEnd time.Time
	// Started is when the subscription was created: default PeriodStart.
	Started  time.Time
	TrialEnd time.Time
	// CancelAtPeriodEnd: the subscription ends with its period
	// (cancel_at is then the period's end).
	CancelAtPeriodEnd bool
	// BillingReason is the invoice's: subscription_create for the first,
	// subscription_cycle (default) for a renewal.
	BillingReason string
	// AttemptCount is how often the invoice was tried (default 1).
	AttemptCount int64
	// Interval and IntervalCount are the price's: default month, 1.
	Interval      string
	IntervalCount int64
	Name          string // the product's name
}

// Payload returns the event's JSON, as Stripe would POST it.
func (e Stripe) Payload() ([]byte, error) {
	// One template per object Stripe sends, named for it: the table says
	// which object each event type carries.
	et, ok := stripehook.Lookup(e.Type)
	if !ok {
		return nil, fmt.Errorf("payloads: no Stripe template for %q", e.Type)
	}
	name := et.Object + ".json"
	suffix := e.OrderID
	if len(suffix) > 4 {
		suffix = suffix[4:]
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&e.EventID, "evt_"+randomHex())
	def(&e.Currency, "usd")
	def(&e.SessionID, "cs_test_"+suffix)
	def(&e.PaymentIntentID, "pi_"+suffix)
	def(&e.ChargeID, "ch_"+suffix)
	def(&e.DisputeID, "dp_"+suffix)
	def(&e.APIVersion, StripeAPIVersion)
	def(&e.Reason, "Your card was declined.")
	def(&e.DeclineCode, "generic_decline")
	def(&e.ClientReferenceID, e.OrderID)
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	subMode := e.SubscriptionID != "" || subscription.ValidID(e.OrderID)
	if subMode || et.Object == "subscription" || et.Object == "invoice" {
		e.Subscription = e.Subscription.defaults(et, e.OrderID, suffix, e.Created)
	}
	data := struct {
		Stripe
		Created, ExpiresAt           int64
		PaymentStatus, SessionStatus string
		SourceAmount                 int64
		SourceCurrency               string
		SubMode                      bool
		Sub                          subTimes
	}{Stripe: e, Created: e.Created.Unix(), ExpiresAt: e.Created.Add(30 * time.Minute).Unix(), SubMode: subMode,
		Sub: e.Subscription.times()}
	if e.PresentmentCurrency != "" && et.Object == "checkout.session" {
		// The priced amount moves under currency_conversion, and the
		// customer's takes its place at the top, as Stripe wrote it.
		data.SourceAmount, data.SourceCurrency = e.Amount, e.Currency
		data.Stripe.Amount, data.Stripe.Currency = e.PresentmentAmount, e.PresentmentCurrency
	}
	// The session's state follows what the event means: expired (written
	// without a PaymentIntent), failed (complete but unpaid), or complete
	// and paid unless told otherwise.
	switch et.Kind {
	case order.KindExpired:
		data.PaymentStatus, data.SessionStatus, data.Stripe.PaymentIntentID = "unpaid", "expired", ""
	case order.KindFailed:
		data.PaymentStatus, data.SessionStatus = "unpaid", "complete"
	default:
		paid := "paid"
		if subMode && e.Amount == 0 {
			// A trial's checkout takes no money now.
			paid = "no_payment_required"
		}
		data.PaymentStatus, data.SessionStatus = cmp.Or(e.PaymentStatus, paid), "complete"
	}
	if et.Kind == order.KindDisputeOpened && e.DisputeStatus == "" {
		data.Stripe.DisputeStatus = "needs_response"
	}
	var buf bytes.Buffer
	if err := stripeTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, err
	}
	// Compact, as Stripe sends it (and so the bytes signed are the bytes sent).
	var out bytes.Buffer
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("payloads: template %s made invalid JSON: %w", name, err)
	}
	return out.Bytes(), nil
}

// StripeSignature is the Stripe-Signature header Stripe would send with
// body, made with stripe-go's own test signer (never with the code under
// test); a zero at is now.
func StripeSignature(body []byte, secret string, at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

// defaults fills in what a subscription event of type et leaves out.
func (s Subscription) defaults(et stripehook.EventType, orderID, suffix string, created time.Time) Subscription {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.SubscriptionID, orderID)
	def(&s.SubscriptionRef, "sub_"+suffix)
	def(&s.CustomerID, "cus_"+suffix)
	def(&s.InvoiceID, "in_"+randomHex()[:14])
	def(&s.BillingReason, "subscription_cycle")
	def(&s.Interval, "month")
	def(&s.Name, "Jam club")
	if s.IntervalCount == 0 {
		s.IntervalCount = 1
	}
	if s.AttemptCount == 0 {
		s.AttemptCount = 1
	}
	if s.PeriodStart.IsZero() {
		s.PeriodStart = created
	}
	if s.PeriodEnd.IsZero() {
		s.PeriodEnd = NextPeriod(s.PeriodStart, s.Interval, s.IntervalCount)
	}
	if s.Started.IsZero() {
		s.Started = s.PeriodStart
	}
	switch et.Type {
	case "customer.subscription.deleted":
		def(&s.Status, "canceled")
	case "customer.subscription.paused":
		def(&s.Status, "paused")
	case "customer.subscription.trial_will_end":
		def(&s.Status, "trialing")
		if s.TrialEnd.IsZero() {
			s.TrialEnd = created.Add(3 * 24 * time.Hour)
		}
	}
	if s.TrialEnd.After(created) {
		def(&s.Status, "trialing")
	}
	def(&s.Status, "active")
	return s
}

// subTimes are a Subscription's times as Stripe writes them: Unix seconds,
// 0 for none (written null).
type subTimes struct {
	PeriodStart, PeriodEnd, Started, TrialEnd int64
}

func (s Subscription) times() subTimes {
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Unix()
	}
	return subTimes{unix(s.PeriodStart), unix(s.PeriodEnd), unix(s.Started), unix(s.TrialEnd)}
}

// NextPeriod is when a billing period of count intervals (day, week,
// month, year) that starts at start ends, as the gateways count it.
func NextPeriod(start time.Time, interval string, count int64) time.Time {
	n := int(max(count, 1))
	switch interval {
	case "day":
		return start.AddDate(0, 0, n)
	case "week":
		return start.AddDate(0, 0, 7*n)
	case "year":
		return start.AddDate(n, 0, 0)
	}
	return start.AddDate(0, n, 0)
}
