// Package stripehook verifies Stripe webhooks with stripe-go's own
// functions, then decodes only the fields jampay acts on, so an account on
// another API version works. Events is the one table of the Stripe event
// types jampay handles. Of stripe-go it imports the webhook package alone,
// no resource client such as checkout/session: the webhook function parses
// unauthenticated input and calls no gateway.
package stripehook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/pkg/order"
)

// Verifier checks Stripe-Signature headers and decodes Stripe events.
type Verifier struct {
	// Secrets are the endpoint's signing secrets (whsec_…). During a
	// rotation both the old and the new one are listed.
	Secrets []string
	// Tolerance is how old a signature's timestamp may be; zero is
	// stripe-go's default of five minutes.
	Tolerance time.Duration
	// Mode is STRIPE_MODE: "live" takes only livemode events, anything
	// else only test-mode ones. An event of the other mode is ignored, so
	// a test card cannot pay a live order when both endpoints' secrets
	// are listed.
	Mode string
}

// ParseWebhook verifies body against its Stripe-Signature with each secret
// in turn, using stripe-go's ValidatePayload, and turns it into an event.
func (v *Verifier) ParseWebhook(ctx context.Context, header http.Header, body []byte) (order.Event, error) {
	sig := header.Get("Stripe-Signature")
	tolerance := v.Tolerance
	if tolerance == 0 {
		tolerance = webhook.DefaultTolerance
	}
	err := webhook.ErrNoValidSignature
	for _, secret := range v.Secrets {
		if secret == "" || secret == "whsec_" {
			// An empty key is a key anyone has: it verifies nothing.
			continue
		}
		if err = webhook.ValidatePayloadWithTolerance(body, sig, secret, tolerance); err == nil {
			break
		}
		if errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) || errors.Is(err, webhook.ErrTooOld) {
			break // the same for every secret
		}
	}
	switch {
	case err == nil:
		e, live, err := decode(body)
		if err == nil && live != (v.Mode == "live") {
			// Invariant 9: with both endpoints' secrets listed, a test
			// card must not pay a live order, nor a live one a test order.
			e.Ignore = "the event's livemode is " + strconv.FormatBool(live) + " and STRIPE_MODE is " + cmp.Or(v.Mode, "test")
		}
		return e, err
	case errors.Is(err, webhook.ErrNotSigned):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature header is missing.")
	case errors.Is(err, webhook.ErrTooOld):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature timestamp is outside the tolerance of %s.", tolerance)
	case errors.Is(err, webhook.ErrInvalidHeader):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature header is malformed.")
	default:
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "No signature in Stripe-Signature matches the payload.")
	}
}

// stripeEvent holds only what jampay reads of an event: decoding less than
// stripe.Event means an account on a newer API version is not rejected.
// The object is decoded in the same pass as the envelope: encoding/json
// scans the body twice per Unmarshal, so a second Unmarshal of the object
// would double the work for a 3 KB event.
type stripeEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object object `json:"object"`
	} `json:"data"`
}

// object is the union of the fields jampay reads from the objects of the
// events it handles (Checkout Session, PaymentIntent, Charge, Dispute).
type object struct {
	ID             string            `json:"id"`
	Metadata       map[string]string `json:"metadata"`
	PaymentStatus  string            `json:"payment_status"`
	PaymentIntent  expandable        `json:"payment_intent"`
	Charge         expandable        `json:"charge"`
	AmountTotal    *int64            `json:"amount_total"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	Status         string            `json:"status"`
	// CurrencyConversion is set on Checkout Sessions created before
	// 2025-03-30 and paid with Adaptive Pricing: then amount_total and
	// currency are what the customer paid in their own currency, and the
	// amount in the currency jampay priced in is here.
	CurrencyConversion *struct {
		AmountTotal    int64  `json:"amount_total"`
		SourceCurrency string `json:"source_currency"`
	} `json:"currency_conversion"`
	LastPaymentError *struct {
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Message     string `json:"message"`
	} `json:"last_payment_error"`
}

// expandable is an id that Stripe sends as a string, or as the object when
// expanded. Anything else reads as no id: an error here would stop
// encoding/json mid-body, before the event's type (which Stripe sends after
// data) is read.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = expandable(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &o)
	*e = expandable(o.ID)
	return nil
}

// Decode turns a verified Stripe event into an order.Event.
func Decode(body []byte) (order.Event, error) {
	e, _, err := decode(body)
	return e, err
}

// decode is Decode, and the event's livemode.
func decode(body []byte) (order.Event, bool, error) {
	var se stripeEvent
	err := json.Unmarshal(body, &se)
	// A field of another type in an object jampay does not handle (a type
	// error, after which encoding/json goes on decoding) is not our concern.
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) || se.ID == "" || se.Type == "" {
		return order.Event{}, false, order.Errorf(order.CodeInvalidPayload, "The body is not a Stripe event.")
	}
	e := order.Event{ID: se.ID, Type: se.Type, Kind: order.KindIgnored, Created: time.Unix(se.Created, 0).UTC()}
	et, ok := Lookup(se.Type)
	if !ok {
		return e, se.Livemode, nil
	}
	obj := &se.Data.Object
	if err != nil || obj.ID == "" {
		return order.Event{}, false, order.Errorf(order.CodeInvalidPayload, "The %s event has no readable object.", se.Type)
	}
	// Metadata is set with the account's keys only: checkout writes
	// order_id on the session and, through payment_intent_data, on the
	// PaymentIntent, and Stripe copies it onto the charge. The session's
	// client_reference_id is never read: Payment Links and Buy Buttons let
	// anyone set it.
	e.OrderID = obj.Metadata["order_id"]
	e.Kind = et.kind(obj)
	switch et.Object {
	case "checkout.session":
		// The session must be the order's own (checked where the order is
		// found), whatever its metadata says.
		e.Refs = []string{obj.ID}
		e.SessionRef, e.PaymentRef = obj.ID, string(obj.PaymentIntent)
		if obj.AmountTotal != nil {
			e.Amount = *obj.AmountTotal
		}
		e.Currency = obj.Currency
		if cc := obj.CurrencyConversion; cc != nil && cc.SourceCurrency != "" {
			e.Amount, e.Currency = cc.AmountTotal, cc.SourceCurrency
		}
		// An expired or failed session took no money, so it names no
		// currency: its amount is not checked against the order's.
		switch e.Kind {
		case order.KindExpired:
			e.Currency = ""
		case order.KindFailed:
			e.Reason, e.Currency = "The payment did not go through.", ""
		}
	case "payment_intent":
		e.Refs, e.PaymentRef = []string{obj.ID}, obj.ID
		e.Reason = "The payment was declined."
		if pe := obj.LastPaymentError; pe != nil {
			e.Reason = cmp.Or(pe.Message, pe.DeclineCode, pe.Code, e.Reason)
		}
	case "charge":
		e.Refs, e.PaymentRef = order.Refs(string(obj.PaymentIntent)), string(obj.PaymentIntent)
		e.Amount, e.Currency, e.Refunded = obj.Amount, obj.Currency, obj.AmountRefunded
	case "dispute":
		e.Refs, e.Dispute, e.PaymentRef = order.Refs(string(obj.PaymentIntent)), obj.ID, string(obj.PaymentIntent)
	}
	return e, se.Livemode, nil
}

// field reads one of the object's fields by its Stripe name, for the rows
// of Events whose meaning depends on it.
func (o *object) field(name string) string {
	switch name {
	case "payment_status":
		return o.PaymentStatus
	case "status":
		return o.Status
	}
	return ""
}
