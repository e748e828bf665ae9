// Package razorpayhook verifies Razorpay webhooks (hex HMAC-SHA256 of the
// raw body, compared in constant time) and decodes the fields jampay acts
// on; Events is the one table of the Razorpay event types jampay handles.
// It uses no razorpay-go: its utils package's verifiers compare with != and
// it imports testing and testify outside a test file, which would link them
// into the Lambda binary.
package razorpayhook

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
)

// Verifier checks X-Razorpay-Signature and decodes Razorpay events.
type Verifier struct {
	// Secrets are the webhook secrets; during a rotation both are listed.
	Secrets []string
}

// Sign returns Razorpay's signature of body: hex HMAC-SHA256 with secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ParseWebhook verifies body against X-Razorpay-Signature with each secret,
// in constant time, and turns it into an event.
func (v *Verifier) ParseWebhook(ctx context.Context, header http.Header, body []byte) (order.Event, error) {
	sig, err := hex.DecodeString(strings.TrimSpace(header.Get("X-Razorpay-Signature")))
	if header.Get("X-Razorpay-Signature") == "" {
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The X-Razorpay-Signature header is missing.")
	}
	ok := false
	for _, secret := range v.Secrets {
		if secret == "" {
			// An empty key is a key anyone has: it verifies nothing.
			continue
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		ok = ok || (err == nil && hmac.Equal(m.Sum(nil), sig))
	}
	if !ok {
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "X-Razorpay-Signature does not match the payload.")
	}
	e, err := Decode(body)
	if err != nil {
		return e, err
	}
	e.ID = header.Get("X-Razorpay-Event-Id")
	if e.ID == "" || len(e.ID) > 128 {
		// Razorpay always sends the id; without one, identical bodies are
		// the same delivery.
		sum := sha256.Sum256(body)
		e.ID = "body_" + hex.EncodeToString(sum[:16])
	}
	return e, nil
}

type rzpEvent struct {
	Event     string `json:"event"`
	CreatedAt int64  `json:"created_at"`
	Payload   struct {
		Payment *struct{ Entity entity } `json:"payment"`
		Order   *struct{ Entity entity } `json:"order"`
		Refund  *struct{ Entity entity } `json:"refund"`
		Dispute *struct{ Entity entity } `json:"dispute"`
		// Subscription is read by decodeSubscription, for the types that
		// carry it alone.
		Subscription *struct{ Entity json.RawMessage } `json:"subscription"`
	} `json:"payload"`
}

// entity is the union of the fields jampay reads from Razorpay's Payment,
// Order, Refund and Dispute entities.
type entity struct {
	ID               string            `json:"id"`
	Amount           int64             `json:"amount"`
	AmountPaid       int64             `json:"amount_paid"`
	AmountRefunded   int64             `json:"amount_refunded"`
	Currency         string            `json:"currency"`
	OrderID          string            `json:"order_id"`
	Receipt          string            `json:"receipt"`
	Notes            razorpaysub.Notes `json:"notes"`
	ErrorDescription string            `json:"error_description"`
	ErrorReason      string            `json:"error_reason"`
	// SubscriptionID is the subscription a payment was charged for, when
	// Razorpay names it on the payment (a field of Razorpay's, not the
	// notes): see subscriptionOfPayment.
	SubscriptionID string `json:"subscription_id"`
}

// Decode turns a verified Razorpay event into an order.Event (without its
// id, which comes in a header).
func Decode(body []byte) (order.Event, error) {
	var re rzpEvent
	if err := json.Unmarshal(body, &re); err != nil || re.Event == "" {
		return order.Event{}, order.Errorf(order.CodeInvalidPayload, "The body is not a Razorpay event.")
	}
	e := order.Event{Type: re.Event, Kind: order.KindIgnored, Created: time.Unix(re.CreatedAt, 0).UTC()}
	et, ok := Lookup(re.Event)
	if !ok {
		return e, nil
	}
	if et.Carries("subscription") {
		return decodeSubscription(re, et, e)
	}
	p := re.Payload.Payment
	if p == nil || p.Entity.ID == "" {
		return order.Event{}, order.Errorf(order.CodeInvalidPayload, "The %s event has no payment.", re.Event)
	}
	pay := p.Entity
	// Provenance (invariant 9): a payment belongs to the order whose
	// Razorpay order it was made on (jampay created that order and indexed
	// its id), or to the order its id is already indexed to. The payment's
	// notes are not read at all: Razorpay Checkout takes them from the
	// browser, so anyone could name any order there.
	e.Kind, e.PaymentRef, e.SessionRef = et.Kind, pay.ID, pay.OrderID
	e.Refs = order.Refs(pay.OrderID, pay.ID)
	e.Amount, e.Currency = pay.Amount, strings.ToLower(pay.Currency)
	if et.Kind == order.KindDeclined {
		// A failed attempt took no money: no currency, so its amount is
		// not checked against the order's.
		e.Currency = ""
		e.Reason = cmp.Or(pay.ErrorDescription, pay.ErrorReason, "The payment failed.")
	}
	if o := re.Payload.Order; et.Carries("order") && o != nil {
		ent := o.Entity
		// The order entity's receipt and notes were set by jampay
		// when it created the order, with its keys.
		e.OrderID = cmp.Or(ent.Receipt, ent.Notes["order_id"])
		e.SessionRef = cmp.Or(ent.ID, e.SessionRef)
		e.Refs = order.Refs(e.SessionRef, pay.ID)
		e.Amount, e.Currency = ent.AmountPaid, strings.ToLower(ent.Currency)
	}
	if et.Carries("refund") {
		e.Refunded = pay.AmountRefunded
		if r := re.Payload.Refund; e.Refunded == 0 && r != nil {
			e.Refunded = r.Entity.Amount
		}
	}
	if et.Carries("dispute") {
		d := re.Payload.Dispute
		if d == nil || d.Entity.ID == "" {
			return order.Event{}, order.Errorf(order.CodeInvalidPayload, "The %s event has no dispute.", re.Event)
		}
		e.Dispute, e.Currency = d.Entity.ID, ""
	}
	subscriptionOfPayment(&e, pay)
	return e, nil
}
