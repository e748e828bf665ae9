package payloads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
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

	RazorpaySubscription
}

// RazorpaySubscription is what a subscription.* event carries: the
// Subscription entity (and, for subscription.charged and .completed, the
// payment of the billing cycle, on the order Razorpay made for its
// invoice). Zero fields get defaults.
type RazorpaySubscription struct {
	// SubscriptionID is jampay's (sbn_…), in the notes jampay sets when
	// it creates the subscription: default OrderID.
	SubscriptionID string
	// RazorpaySubscriptionID is Razorpay's (sub_…), which jampay's
	// checkout is: default a RazorpayOrderID that is one (`jampay trigger
	// -session` names the checkout), else "sub_" and OrderID's suffix.
	RazorpaySubscriptionID string
	PlanID                 string
	InvoiceID              string
	// Status is the entity's status as Razorpay writes it (created,
	// authenticated, active, pending, halted, cancelled, completed,
	// paused): default what the type says (activated, charged, resumed
	// and updated: active).
	Status string
	// CurrentStart and CurrentEnd are the billing cycle (null before the
	// first); StartAt when billing starts (a future one is a trial).
	CurrentStart, CurrentEnd, StartAt time.Time
	TotalCount, PaidCount             int64
}

// Payload returns the event's JSON body and its event id.
func (e Razorpay) Payload() (body []byte, eventID string, err error) {
	et, ok := razorpayhook.Lookup(e.Type)
	if !ok {
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
	if et.Carries("subscription") {
		return e.subscriptionPayload(et, suffix)
	}
	if et.Carries("refund") && e.RefundAmount == 0 {
		e.RefundAmount = e.Refunded
	}
	data := struct {
		Razorpay
		Contains                        []string
		Created, RespondBy              int64
		PaymentStatus, DisputeStatus    string
		Captured, Failed                bool
		HasOrder, HasRefund, HasDispute bool
	}{Razorpay: e, Contains: et.Contains, Created: e.Created.Unix(), RespondBy: e.Created.Add(7 * 24 * time.Hour).Unix(),
		HasOrder: et.Carries("order"), HasRefund: et.Carries("refund"), HasDispute: et.Carries("dispute")}
	if !data.HasRefund {
		// Only a refund event's payment shows money refunded.
		data.Razorpay.Refunded = 0
	}
	// The payment's and the dispute's state are what Razorpay shows for
	// what the event means.
	data.PaymentStatus, data.Captured = "captured", true
	switch et.Kind {
	case order.KindProcessing:
		data.PaymentStatus, data.Captured = "authorized", false
	case order.KindDeclined:
		data.PaymentStatus, data.Captured, data.Failed = "failed", false, true
	case order.KindRefunded:
		if e.Refunded >= e.Amount {
			data.PaymentStatus = "refunded"
		}
	case order.KindDisputeOpened:
		data.DisputeStatus = "open"
	case order.KindDisputeWon:
		data.DisputeStatus = "won"
	case order.KindDisputeLost:
		data.DisputeStatus = "lost"
	}
	var buf bytes.Buffer
	if err := razorpayTemplates.ExecuteTemplate(&buf, "payment.json", data); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, "", fmt.Errorf("payloads: Razorpay template made invalid JSON: %w", err)
	}
	return out.Bytes(), e.EventID, nil
}

// subscriptionPayload writes a subscription.* event.
func (e Razorpay) subscriptionPayload(et razorpayhook.EventType, suffix string) ([]byte, string, error) {
	s := &e.RazorpaySubscription
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	if strings.HasPrefix(e.RazorpayOrderID, "sub_") {
		def(&s.RazorpaySubscriptionID, e.RazorpayOrderID)
		e.RazorpayOrderID = "order_" + suffix
	}
	def(&s.SubscriptionID, e.OrderID)
	def(&s.RazorpaySubscriptionID, "sub_"+suffix)
	def(&s.PlanID, "plan_"+suffix)
	def(&s.InvoiceID, "inv_"+randomHex()[:14])
	status, _ := strings.CutPrefix(et.Type, "subscription.")
	switch status {
	case "activated", "charged", "resumed", "updated":
		status = "active"
	}
	def(&s.Status, status)
	if s.TotalCount == 0 {
		s.TotalCount = 12
	}
	if s.PaidCount == 0 && et.Carries("payment") {
		s.PaidCount = 1
	}
	if s.StartAt.IsZero() {
		s.StartAt = e.Created
	}
	if s.CurrentStart.IsZero() && s.Status != "created" && s.Status != "authenticated" {
		s.CurrentStart, s.CurrentEnd = s.StartAt, NextPeriod(s.StartAt, "month", 1)
	}
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Unix()
	}
	ended := int64(0)
	switch s.Status {
	case "cancelled", "completed", "expired":
		ended = e.Created.Unix()
	}
	data := struct {
		Razorpay
		Contains                                 []string
		Created                                  int64
		CurrentStart, CurrentEnd, StartAt, Ended int64
		EndAt, ChargeAt, ExpireBy, Remaining     int64
		HasPayment                               bool
	}{Razorpay: e, Contains: et.Contains, Created: e.Created.Unix(),
		CurrentStart: unix(s.CurrentStart), CurrentEnd: unix(s.CurrentEnd), StartAt: unix(s.StartAt), Ended: ended,
		ExpireBy: s.StartAt.Add(time.Hour).Unix(), Remaining: max(s.TotalCount-s.PaidCount, 0),
		HasPayment: et.Carries("payment")}
	data.EndAt = NextPeriod(s.StartAt, "month", s.TotalCount).Unix()
	data.ChargeAt = data.StartAt
	if data.CurrentEnd > 0 {
		data.ChargeAt = data.CurrentEnd
	}
	var buf bytes.Buffer
	if err := razorpayTemplates.ExecuteTemplate(&buf, "subscription.json", data); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, "", fmt.Errorf("payloads: Razorpay subscription template made invalid JSON: %w", err)
	}
	return out.Bytes(), e.EventID, nil
}
