package payloads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Razorpay is one Razorpay event to write. Zero fields get defaults derived
// from OrderID.
type Razorpay struct {
	Type            string // e.g. payment.captured
	EventID         string // sent as X-Razorpay-Event-Id, not in the body
	OrderID         string // ours: the order's receipt and notes.order_id
	RazorpayOrderID string
	// PaymentNotes are the payment's notes, which Razorpay Checkout takes
	// from the browser: [] unless set (jampay.js sends none), and whatever
	// an attacker likes when set.
	PaymentNotes map[string]string
	PaymentID    string
	RefundID     string
	DisputeID    string
	Amount       int64  // paise
	Currency     string // any case; written upper-case, as Razorpay does
	Refunded     int64  // refund.processed: cumulative amount refunded
	RefundAmount int64  // refund.processed: this refund
	Reason       string // payment.failed: error_description
	Created      time.Time
}

// RazorpayTypes lists the event types Razorpay can write.
func RazorpayTypes() []string {
	return []string{"payment.authorized", "payment.captured", "order.paid", "payment.failed",
		"refund.processed", "payment.dispute.created", "payment.dispute.won", "payment.dispute.lost"}
}

// Payload returns the event's JSON body and its event id.
func (e Razorpay) Payload() (body []byte, eventID string, err error) {
	known := false
	for _, t := range RazorpayTypes() {
		known = known || t == e.Type
	}
	if !known {
		return nil, "", fmt.Errorf("payloads: no Razorpay template for %q", e.Type)
	}
	suffix := e.OrderID
	if len(suffix) > 18 {
		suffix = suffix[4:18]
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&e.EventID, "evt_"+randomHex()[:14])
	def(&e.RazorpayOrderID, "order_"+suffix)
	def(&e.PaymentID, "pay_"+suffix)
	def(&e.RefundID, "rfnd_"+randomHex()[:14])
	def(&e.DisputeID, "disp_"+suffix)
	def(&e.Currency, "INR")
	def(&e.Reason, "Your payment has been declined by your bank.")
	e.Currency = strings.ToUpper(e.Currency)
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	if e.Type == "refund.processed" && e.RefundAmount == 0 {
		e.RefundAmount = e.Refunded
	}
	data := struct {
		Razorpay
		Created, RespondBy              int64
		PaymentStatus, DisputeStatus    string
		Captured, Failed                bool
		HasOrder, HasRefund, HasDispute bool
	}{Razorpay: e, Created: e.Created.Unix(), RespondBy: e.Created.Add(7 * 24 * time.Hour).Unix()}
	data.PaymentStatus, data.Captured = "captured", true
	if e.Type != "refund.processed" {
		data.Razorpay.Refunded = 0
	}
	switch e.Type {
	case "payment.authorized":
		data.PaymentStatus, data.Captured = "authorized", false
	case "payment.failed":
		data.PaymentStatus, data.Captured, data.Failed = "failed", false, true
	case "order.paid":
		data.HasOrder = true
	case "refund.processed":
		data.HasRefund = true
		if e.Refunded >= e.Amount {
			data.PaymentStatus = "refunded"
		}
	case "payment.dispute.created", "payment.dispute.won", "payment.dispute.lost":
		data.HasDispute = true
		data.DisputeStatus = map[string]string{"payment.dispute.created": "open", "payment.dispute.won": "won", "payment.dispute.lost": "lost"}[e.Type]
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "payment.json", data); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, "", fmt.Errorf("payloads: Razorpay template made invalid JSON: %w", err)
	}
	return out.Bytes(), e.EventID, nil
}
