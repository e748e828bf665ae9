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
)

//go:embed stripe/*.json razorpay/*.json
var files embed.FS

// templates holds both gateways' payloads by file name; js writes a value as
// a JSON literal, so no value can break the JSON around it.
var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"js": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
}).ParseFS(files, "stripe/*.json", "razorpay/*.json"))

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
	data := struct {
		Stripe
		Created, ExpiresAt           int64
		PaymentStatus, SessionStatus string
		SourceAmount                 int64
		SourceCurrency               string
	}{Stripe: e, Created: e.Created.Unix(), ExpiresAt: e.Created.Add(30 * time.Minute).Unix()}
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
		data.PaymentStatus, data.SessionStatus = cmp.Or(e.PaymentStatus, "paid"), "complete"
	}
	if et.Kind == order.KindDisputeOpened && e.DisputeStatus == "" {
		data.Stripe.DisputeStatus = "needs_response"
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
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
