package sandbox

import (
	"context"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

var (
	_ shop.Refunder = (*StripeGateway)(nil)
	_ shop.Refunder = (*RazorpayGateway)(nil)
)

// Refund refunds amount of o's payment in the sandbox's books and, once
// answered, sends Stripe's charge.refunded webhook, with the charge's
// cumulative amount_refunded, signed, to jampay's webhook route.
func (g *StripeGateway) Refund(ctx context.Context, o order.Order, amount int64, key string) (string, error) {
	r, err := g.s.refund("stripe", "re_sandbox_"+randomHex(12), o, amount, key)
	if err != nil || !r.fresh {
		return r.id, err
	}
	body, err := payloads.Stripe{Type: "charge.refunded", OrderID: r.ss.Order.ID, Amount: r.ss.Order.Amount,
		Currency: r.ss.Order.Currency, SessionID: r.ss.Ref, PaymentIntentID: r.ss.PaymentRef, Refunded: r.refunded, Created: g.s.cfg.Now()}.Payload()
	if err != nil {
		return "", err
	}
	g.s.later("stripe", "", body, func(ctx context.Context) error {
		return SendStripe(ctx, g.s.cfg.Client, g.s.cfg.BaseURL+"/api/webhooks/stripe", g.s.cfg.StripeSecret, body, time.Time{})
	})
	return r.id, nil
}

// Refund refunds amount of the payment that paid o in the sandbox's books
// and, once answered, sends Razorpay's refund.processed webhook (this
// refund's amount, and the payment's amount_refunded so far), signed, to
// jampay's webhook route.
func (g *RazorpayGateway) Refund(ctx context.Context, o order.Order, amount int64, key string) (string, error) {
	r, err := g.s.refund("razorpay", "rfnd_"+randomHex(7), o, amount, key)
	if err != nil || !r.fresh {
		return r.id, err
	}
	body, eventID, err := payloads.Razorpay{Type: "refund.processed", OrderID: r.ss.Order.ID, RazorpayOrderID: r.ss.Ref,
		PaymentID: r.paymentID, RefundID: r.id, Amount: r.ss.Order.Amount, Currency: r.ss.Order.Currency,
		Refunded: r.refunded, RefundAmount: amount, Created: g.s.cfg.Now()}.Payload()
	if err != nil {
		return "", err
	}
	g.s.later("razorpay", eventID, body, func(ctx context.Context) error {
		return SendRazorpay(ctx, g.s.cfg.Client, g.s.cfg.BaseURL+"/api/webhooks/razorpay", g.s.cfg.RazorpaySecret, eventID, body)
	})
	return r.id, nil
}

// refunded is a refund booked by refund.
type refunded struct {
	ss        *session
	id        string
	paymentID string // the payment refunded (Razorpay's pay_…)
	refunded  int64  // cumulative, this refund included
	fresh     bool   // false: the key was used before, and nothing new happened
}

// refund books a refund as the gateways do: of a paid checkout only,
// never more than was paid less what was refunded, and once per
// idempotency key (the same key answers the same refund again).
func (s *Sandbox) refund(gateway, newID string, o order.Order, amount int64, key string) (refunded, error) {
	ss, ok := s.byOrderID(gateway, o.ID)
	if !ok {
		return refunded{}, order.Errorf(order.CodeRefundRefused, "The sandbox has no payment for order %s: it keeps its books in memory, and forgets them when jampay serve stops.", o.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := ss.Refunds[key]; ok {
		return refunded{ss: ss, id: id}, nil
	}
	paymentID := ss.PaymentRef
	for _, p := range ss.Payments {
		if p.Status == "captured" {
			paymentID = p.ID
		}
	}
	switch {
	case ss.Closed != "paid":
		return refunded{}, order.Errorf(order.CodeRefundRefused, "The sandbox refused the refund: order %s was never paid.", o.ID)
	case amount <= 0 || amount > ss.Order.Amount-ss.Refunded:
		return refunded{}, order.Errorf(order.CodeRefundRefused, "The sandbox refused the refund: %d is more than the %d left to refund of order %s.", amount, ss.Order.Amount-ss.Refunded, o.ID)
	}
	if ss.Refunds == nil {
		ss.Refunds = map[string]string{}
	}
	ss.Refunds[key] = newID
	ss.Refunded += amount
	return refunded{ss: ss, id: newID, paymentID: paymentID, refunded: ss.Refunded, fresh: true}, nil
}
