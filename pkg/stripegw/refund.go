package stripegw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/refund"

	"github.com/jampay/jampay/pkg/order"
)

// RefundKeyMetadata is the refund metadata key that carries jampay's
// idempotency key, so a refund made under it can be found again after
// Stripe has forgotten the key (it keeps them 24 hours).
const RefundKeyMetadata = "jampay_refund_key"

// Refunder asks Stripe's Refunds API for the owner's refunds (it is the
// shop's Refunder for Stripe). It needs a key that can write refunds.
type Refunder struct {
	refunds refund.Client
}

// NewRefunder returns a Stripe refunder.
func NewRefunder(c Config) *Refunder {
	// stripe-go retries network errors, 409s and 5xx with the same
	// Idempotency-Key, so its retries never make a second refund.
	return &Refunder{refunds: refund.Client{B: c.Backend(2), Key: c.SecretKey}}
}

// Refund refunds amount of the payment that paid o (its PaymentIntent, or
// for a charge made without one, the charge) under key, and returns the
// refund's id (re_…). The key goes as the Idempotency-Key, and in the
// refund's metadata: Stripe answers a repeated key with the first refund
// only for 24 hours, so the payment's refunds are looked through for one
// made under key first, and a request retried days later still refunds
// once. A refusal Stripe would repeat (an amount past what the charge has
// left, a disputed charge, an unknown payment) is order.CodeRefundRefused.
func (r *Refunder) Refund(ctx context.Context, o order.Order, amount int64, key string) (string, error) {
	pay := o.PaidPayment()
	if pay == "" {
		return "", order.Errorf(order.CodeRefundRefused, "order %s has no Stripe payment to refund", o.ID)
	}
	// A PaymentIntent (pi_…), or a charge made without one (ch_…, py_…).
	var pi, ch *string
	if strings.HasPrefix(pay, "pi_") {
		pi = stripe.String(pay)
	} else {
		ch = stripe.String(pay)
	}

	lp := &stripe.RefundListParams{PaymentIntent: pi, Charge: ch}
	lp.Context, lp.Limit = ctx, stripe.Int64(100)
	it := r.refunds.List(lp)
	for it.Next() {
		if rf := it.Refund(); rf.ID != "" && rf.Metadata[RefundKeyMetadata] == key {
			return rf.ID, nil
		}
	}
	if err := it.Err(); err != nil {
		// Not "none made": asking to create one now could be the second.
		return "", refundError("list refunds", err)
	}

	p := &stripe.RefundParams{Amount: stripe.Int64(amount), PaymentIntent: pi, Charge: ch}
	p.Context = ctx
	p.AddMetadata("order_id", o.ID)
	p.AddMetadata(RefundKeyMetadata, key)
	p.SetIdempotencyKey(key)
	rf, err := r.refunds.New(p)
	if err != nil {
		return "", refundError("create refund", err)
	}
	if rf.ID == "" {
		return "", fmt.Errorf("stripe: create refund: no refund id in the answer")
	}
	return rf.ID, nil
}

// refundError says err in a line; an answer Stripe would give again to the
// same request is a refusal for good.
func refundError(op string, err error) error {
	line := CallError(op, err)
	var se *stripe.Error
	if errors.As(err, &se) && refusedForGood(se) {
		return order.Errorf(order.CodeRefundRefused, "%s", line.Error())
	}
	return line
}

// refusedForGood reports a refusal of the request itself: asking again
// cannot change it. Not an idempotency error (a key reused with other
// parameters says our records disagree, not that the refund is
// impossible), an authentication error (the keys are wrong, not the
// refund), a rate limit or a 5xx.
func refusedForGood(se *stripe.Error) bool {
	switch se.HTTPStatusCode {
	case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusNotFound:
		return se.Type == stripe.ErrorTypeInvalidRequest || se.Type == stripe.ErrorTypeCard
	}
	return false
}
