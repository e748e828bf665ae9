// Package stripehook decodes verified Stripe events, reading only the
// fields jampay acts on, so an account on another API version works.
// Events is the one table of the Stripe event types jampay handles;
// ReadSubscription is the one mapping of a Stripe subscription to what
// jampay knows of it, for webhooks and API answers alike. It imports no
// stripe-go package: stripeverify checks signatures (the webhook function
// links it), and the checkout function reads the API's subscription
// answers with this package without linking any verifier.
package stripehook

import (
	"cmp"
	"encoding/json"
	"errors"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

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
// events it handles (Checkout Session, PaymentIntent, Charge, Dispute,
// Subscription, Invoice). A name two objects share has one type in both.
type object struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Metadata       map[string]string `json:"metadata"`
	PaymentStatus  string            `json:"payment_status"`
	PaymentIntent  paymentRef        `json:"payment_intent"`
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
	LastPaymentError *stripeError `json:"last_payment_error"`

	// Mode is a Checkout Session's: "subscription" makes its events the
	// subscription's. Subscription is the session's subscription, and an
	// invoice's at API versions before 2025-03-31.
	Mode         string     `json:"mode"`
	Subscription expandable `json:"subscription"`
	Customer     expandable `json:"customer"`

	subscriptionFields
	invoiceFields
}

// stripeError is a failure as Stripe reports it on an object
// (last_payment_error, last_finalization_error).
type stripeError struct {
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
}

// reason is the error in the gateway's words, or fallback.
func (se *stripeError) reason(fallback string) string {
	if se == nil {
		return fallback
	}
	return cmp.Or(se.Message, se.DeclineCode, se.Code, fallback)
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

// paymentRef is a PaymentIntent an object names: its id, and, when Stripe
// sends it expanded (an API read that asks; never a webhook), why its last
// attempt failed. Like expandable, anything else reads as none.
type paymentRef struct {
	ID      string
	Failure *stripeError
}

func (p *paymentRef) UnmarshalJSON(b []byte) error {
	var id expandable
	_ = id.UnmarshalJSON(b)
	*p = paymentRef{ID: string(id)}
	var o struct {
		LastPaymentError *stripeError `json:"last_payment_error"`
	}
	// Read apart from the id, so a failure of an unexpected shape costs
	// the reason, never the reference.
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &o) == nil {
		p.Failure = o.LastPaymentError
	}
	return nil
}

// Decode turns a verified Stripe event into an order.Event.
func Decode(body []byte) (order.Event, error) {
	e, _, err := decode(body)
	return e, err
}

// DecodeLive is Decode, and the event's livemode, for the verifier's mode
// check.
func DecodeLive(body []byte) (order.Event, bool, error) { return decode(body) }

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
	e.Kind = et.kind(obj)
	switch et.Object {
	case "checkout.session":
		// The session must be the order's (or subscription's) own —
		// checked where it is found —, whatever its metadata says.
		e.SessionRef = obj.ID
		e.Amount, e.Currency = obj.sessionAmount()
		// An expired or failed session took no money, so it names no
		// currency: its amount is not checked against the order's.
		switch e.Kind {
		case order.KindExpired:
			e.Currency = ""
		case order.KindFailed:
			e.Reason, e.Currency = "The payment did not go through.", ""
		}
		if obj.Mode == "subscription" {
			decodeSubscriptionSession(&e, obj)
			break
		}
		// Metadata is set with the account's keys only: checkout writes
		// order_id on the session and, through payment_intent_data, on
		// the PaymentIntent, and Stripe copies it onto the charge. The
		// session's client_reference_id is never read: Payment Links and
		// Buy Buttons let anyone set it.
		e.OrderID = obj.Metadata["order_id"]
		e.Refs, e.PaymentRef = []string{obj.ID}, obj.PaymentIntent.ID
	case "payment_intent":
		e.OrderID = obj.Metadata["order_id"]
		e.Refs, e.PaymentRef = []string{obj.ID}, obj.ID
		e.Reason = obj.LastPaymentError.reason("The payment was declined.")
	case "charge":
		e.OrderID = obj.Metadata["order_id"]
		e.Refs, e.PaymentRef = order.Refs(obj.PaymentIntent.ID), obj.PaymentIntent.ID
		e.Amount, e.Currency, e.Refunded = obj.Amount, obj.Currency, obj.AmountRefunded
	case "dispute":
		e.OrderID = obj.Metadata["order_id"]
		e.Refs, e.Dispute, e.PaymentRef = order.Refs(obj.PaymentIntent.ID), obj.ID, obj.PaymentIntent.ID
	case "subscription":
		decodeSubscription(&e, obj)
	case "invoice":
		decodeInvoice(&e, obj)
	}
	return e, se.Livemode, nil
}

// sessionAmount is what a Checkout Session was for, in the currency jampay
// priced it in.
func (o *object) sessionAmount() (int64, string) {
	if cc := o.CurrencyConversion; cc != nil && cc.SourceCurrency != "" {
		return cc.AmountTotal, cc.SourceCurrency
	}
	if o.AmountTotal == nil {
		return 0, o.Currency
	}
	return *o.AmountTotal, o.Currency
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
