package razorpaygw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jampay/jampay/pkg/backoff"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// RefundKeyNote is the refund note that carries jampay's idempotency key,
// so a refund made under it can be found among the payment's refunds
// whatever Razorpay remembers of the key.
const RefundKeyNote = "jampay_refund_key"

// refundAttempts bounds how often one refund call is made: a 409 (the same
// key still being processed), a 429, a 5xx or no answer are asked again,
// under the same key.
const refundAttempts = 3

// Refunder asks Razorpay's refund API for the owner's refunds (it is the
// shop's Refunder for Razorpay). It calls the REST API by hand rather than
// through razorpay-go, which takes no context, sends no custom header on
// refunds and hides the HTTP status, which tells a refusal for good from a
// refusal for now.
type Refunder struct {
	rest *REST
	wait time.Duration // before asking again, doubling each time
}

// NewRefunder returns a Razorpay refunder.
func NewRefunder(c Config) *Refunder {
	return &Refunder{rest: c.REST(), wait: c.FirstWait()}
}

// Refund refunds amount (in the payment's minor units) of the payment that
// paid o under key, and returns the refund's id (rfnd_…): "Create a Normal
// Refund (Idempotent Request)", POST /v1/payments/:id/refund with the key
// in X-Refund-Idempotency. The key is also a note on the refund, and the
// payment's refunds are looked through for it first ("Fetch Multiple
// Refunds for a Payment"), so a request retried after Razorpay has
// forgotten the key still refunds once. A refusal Razorpay would repeat
// (more than the payment has left, an unknown payment) is
// order.CodeRefundRefused.
func (r *Refunder) Refund(ctx context.Context, o order.Order, amount int64, key string) (string, error) {
	pay := o.PaidPayment()
	if !strings.HasPrefix(pay, "pay_") {
		return "", order.Errorf(order.CodeRefundRefused, "order %s has no Razorpay payment to refund", o.ID)
	}
	path := "/v1/payments/" + url.PathEscape(pay)
	if id, err := r.find(ctx, path+"/refunds", key); id != "" || err != nil {
		return id, err
	}
	body, _ := json.Marshal(refundBody{Amount: amount, Notes: map[string]string{"order_id": o.ID, RefundKeyNote: key}})
	var made refundEntity
	if err := r.call(ctx, "create refund", http.MethodPost, path+"/refund", body, key, &made); err != nil {
		return "", err
	}
	if !strings.HasPrefix(made.ID, "rfnd_") {
		return "", fmt.Errorf("razorpay: create refund: no refund id in the answer")
	}
	return made.ID, nil
}

type refundBody struct {
	Amount int64             `json:"amount"`
	Notes  map[string]string `json:"notes"`
}

type refundEntity struct {
	ID string `json:"id"`
	// Notes is an object, or an empty array when a refund has none.
	Notes json.RawMessage `json:"notes"`
}

func (e refundEntity) note(name string) string {
	var notes map[string]any
	if json.Unmarshal(e.Notes, &notes) != nil {
		return ""
	}
	s, _ := notes[name].(string)
	return s
}

// find looks through the payment's refunds, a hundred at a time, for one
// made under key. An error is never "none made": creating one then could
// be the second.
func (r *Refunder) find(ctx context.Context, path, key string) (string, error) {
	const count = 100
	for skip := 0; ; skip += count {
		var page struct {
			Items []refundEntity `json:"items"`
		}
		q := url.Values{"count": {strconv.Itoa(count)}, "skip": {strconv.Itoa(skip)}}
		if err := r.call(ctx, "list refunds", http.MethodGet, path+"?"+q.Encode(), nil, "", &page); err != nil {
			return "", err
		}
		for _, it := range page.Items {
			if it.ID != "" && it.note(RefundKeyNote) == key {
				return it.ID, nil
			}
		}
		if len(page.Items) < count {
			return "", nil
		}
	}
}

// call makes one request, asking again (under the same idempotency key)
// while Razorpay answers 409, 429 or 5xx or does not answer.
func (r *Refunder) call(ctx context.Context, op, method, path string, body []byte, key string, v any) error {
	wait := r.wait
	for attempt := 1; ; attempt++ {
		var h http.Header
		if key != "" {
			h = http.Header{"X-Refund-Idempotency": {key}}
		}
		err := r.rest.Do(ctx, method, path, body, h, v)
		if err == nil {
			return nil
		}
		var re *APIError
		again := !errors.As(err, &re) || re.Status == http.StatusConflict || re.Status == http.StatusTooManyRequests || re.Status >= 500
		if attempt == refundAttempts || !again || ctx.Err() != nil || !backoff.Sleep(ctx, wait/2+rand.N(wait/2+1)) {
			if errors.As(err, &re) && refusedForGood(re) {
				return order.Errorf(order.CodeRefundRefused, "razorpay: %s: %s", op, re)
			}
			return fmt.Errorf("razorpay: %s: %w", op, err)
		}
		wait *= 2
	}
}

// refusedForGood reports a refusal of the request itself (a 400: more
// than the payment has left, an unknown payment, a balance too low): no
// refund was made, and the same request under the same key gets the same
// answer. Not a key reused with another body — that says our
// records disagree, not that the refund is impossible — nor the keys'
// 401, a 409 (the key is still being processed), a 429 or a 5xx.
func refusedForGood(e *APIError) bool {
	return e.Status == http.StatusBadRequest && !strings.Contains(strings.ToLower(e.Description), "idempotency")
}
