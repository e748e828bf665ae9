package sandbox

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// RazorpayGateway is the sandbox's Razorpay: orders are local, and a local
// stand-in for Checkout.js offers the same `new Razorpay(options).open()`.
type RazorpayGateway struct{ s *Sandbox }

// Razorpay returns the sandbox's Razorpay gateway.
func (s *Sandbox) Razorpay() *RazorpayGateway { return &RazorpayGateway{s} }

// SandboxKeyID is the key id the sandbox hands to its Checkout stand-in.
const SandboxKeyID = "rzp_test_sandbox"

// CreateCheckout makes a local Razorpay order and returns Checkout.js's
// options, with the stand-in script to load instead of Razorpay's.
func (g *RazorpayGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	ss := g.s.open("razorpay", "order_", "pay_", o)
	data, _ := json.Marshal(map[string]any{
		"keyId": SandboxKeyID, "orderId": ss.Ref, "amount": o.Amount, "currency": strings.ToUpper(o.Currency),
		"name": g.s.cfg.ShopName, "prefill": map[string]string{"email": o.Email},
		"script":  g.s.cfg.BaseURL + "/sandbox/razorpay/checkout.js",
		"timeout": int64(g.s.cfg.ttl() / time.Second),
	})
	return order.Checkout{SessionRef: ss.Ref, Data: data, Deadline: g.s.cfg.Now().Add(g.s.cfg.ttl())}, nil
}

// SendRazorpay signs body as Razorpay does (hex HMAC-SHA256 of the raw
// bytes) and POSTs it to url with its event id.
func SendRazorpay(ctx context.Context, client *http.Client, url, secret, eventID string, body []byte) error {
	return post(ctx, client, url, body, http.Header{
		"X-Razorpay-Signature": {razorpayhook.Sign(body, secret)},
		"X-Razorpay-Event-Id":  {eventID},
		"User-Agent":           {"Razorpay-Webhook/v1"},
	})
}

// declineDescription is Razorpay's error_description for a bank decline,
// in the payment.failed event and in what Checkout.js shows the customer.
const declineDescription = "Your payment has been declined by your bank."

//go:embed checkout.js
var checkoutJS []byte

func (s *Sandbox) razorpayScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(checkoutJS)
}

// razorpayAction plays the customer's choice in Razorpay's Checkout, sends
// the events Razorpay would, and answers what Checkout.js would hand the
// page: the handler's payment fields, or the payment.failed error. Each
// attempt is a new payment on the same Razorpay order, as in Razorpay, and
// an order that was paid or abandoned takes no more.
func (s *Sandbox) razorpayAction(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.session("razorpay", r.PathValue("order"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "No such sandbox Razorpay order."})
		return
	}
	action := r.PathValue("action")
	var open bool
	switch action {
	case "pay", loseWebhook:
		open = s.close(ss, "paid")
	case "decline":
		open = s.decline(ss, declineDescription)
	case "abandon":
		open = s.close(ss, "expired")
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Unknown action."})
		return
	}
	if !open {
		s.mu.Lock()
		closed := ss.Closed
		s.mu.Unlock()
		msg := "This order has already been paid."
		if closed == "expired" {
			msg = "This checkout was closed. Start again from the shop."
		}
		writeJSON(w, http.StatusConflict, map[string]string{"error": msg})
		return
	}
	if action == "abandon" {
		// Razorpay says nothing when a customer closes Checkout.
		if s.cfg.Expire != nil {
			if err := s.cfg.Expire(r.Context(), ss.Order.ID); err != nil {
				s.reopen(ss)
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{})
		return
	}
	// Each attempt is a payment in the sandbox's books, which reconcile
	// reads as it reads Razorpay's payments of an order.
	now := s.cfg.Now()
	p := payment{Status: "captured", Created: now}
	if action == "decline" {
		p.Status, p.Reason = "failed", declineDescription
	}
	s.mu.Lock()
	ss.Attempts++
	p.ID = ss.PaymentRef + string(rune('a'+ss.Attempts%26))
	ss.Payments = append(ss.Payments, p)
	s.mu.Unlock()
	paymentID := p.ID
	base := payloads.Razorpay{OrderID: ss.Order.ID, RazorpayOrderID: ss.Ref, PaymentID: paymentID,
		Amount: ss.Order.Amount, Currency: ss.Order.Currency, Created: now, Reason: p.Reason}
	types := paymentEvents[p.Status]
	for i, t := range types {
		ev := base
		ev.Type = t
		body, id, err := ev.Payload()
		if err == nil && action == loseWebhook {
			// Paid in the sandbox's books, and Checkout hands the page
			// its payment, but jampay hears nothing until reconcile asks.
			s.lose("razorpay", id, body)
			continue
		}
		if err == nil {
			err = SendRazorpay(r.Context(), s.cfg.Client, s.cfg.BaseURL+"/api/webhooks/razorpay", s.cfg.RazorpaySecret, id, body)
		}
		if err != nil {
			// Once one event of a payment is out, the payment happened:
			// another press must not make a second one.
			if action == "pay" && i == 0 {
				s.unbook(ss, paymentID)
				s.reopen(ss)
			}
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "The sandbox could not deliver Razorpay's webhook: " + err.Error()})
			return
		}
	}
	if action == "decline" {
		writeJSON(w, http.StatusOK, map[string]any{"error": map[string]any{
			"code": "BAD_REQUEST_ERROR", "description": declineDescription,
			"source": "bank", "step": "payment_authorization", "reason": "payment_failed",
			"metadata": map[string]string{"order_id": ss.Ref, "payment_id": paymentID},
		}})
		return
	}
	// What Checkout.js passes to options.handler; the signature is Razorpay's
	// HMAC of "order_id|payment_id" with the key secret.
	writeJSON(w, http.StatusOK, map[string]string{
		"razorpay_payment_id": paymentID, "razorpay_order_id": ss.Ref,
		"razorpay_signature": razorpayhook.Sign([]byte(ss.Ref+"|"+paymentID), s.cfg.RazorpayKeySecret),
	})
}

// paymentEvents are the webhooks Razorpay sends for a payment that ends
// so: with automatic capture, all three for a captured one, in no
// promised order.
var paymentEvents = map[string][]string{
	"captured": {"payment.authorized", "payment.captured", "order.paid"},
	"failed":   {"payment.failed"},
}

// unbook takes back a payment whose first webhook could not be delivered:
// the customer is told, and may press Pay again.
func (s *Sandbox) unbook(ss *session, paymentID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.Payments = slices.DeleteFunc(ss.Payments, func(p payment) bool { return p.ID == paymentID })
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
