package razorpaygw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jampay/jampay/pkg/backoff"
	"io"
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
type Refunder struct{ c Config }

// NewRefunder returns a Razorpay refunder.
func NewRefunder(c Config) *Refunder {
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	c.APIBase = strings.TrimRight(c.APIBase, "/")
	if c.RetryWait <= 0 {
		c.RetryWait = 500 * time.Millisecond
	}
	return &Refunder{c}
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
	wait := r.c.RetryWait
	for attempt := 1; ; attempt++ {
		err := r.once(ctx, method, path, body, key, v)
		if err == nil {
			return nil
		}
		var re *refundError
		again := !errors.As(err, &re) || re.Status == http.StatusConflict || re.Status == http.StatusTooManyRequests || re.Status >= 500
		if attempt == refundAttempts || !again || ctx.Err() != nil || !backoff.Sleep(ctx, wait/2+rand.N(wait/2+1)) {
			if errors.As(err, &re) && re.refusedForGood() {
				return order.Errorf(order.CodeRefundRefused, "razorpay: %s: %s", op, re)
			}
			return fmt.Errorf("razorpay: %s: %w", op, err)
		}
		wait *= 2
	}
}

func (r *Refunder) once(ctx context.Context, method, path string, body []byte, key string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, sdkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.c.APIBase+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(r.c.KeyID, r.c.KeySecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-Refund-Idempotency", key)
	}
	resp, err := (&http.Client{Transport: r.c.Transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &refundError{Status: resp.StatusCode}
		var b struct {
			Error struct{ Code, Description string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &b) // a proxy's page says only its status
		e.Code, e.Description = b.Error.Code, b.Error.Description
		return e
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("the answer is not JSON: %w", err)
	}
	return nil
}

// refundError is Razorpay's answer to a refund request it did not serve.
type refundError struct {
	Status            int
	Code, Description string
}

func (e *refundError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description))
}

// refusedForGood reports a refusal of the request itself (a 400: more
// than the payment has left, an unknown payment, a balance too low): no
// refund was made, and the same request under the same key gets the same
// answer. Not a key reused with another body — that says our
// records disagree, not that the refund is impossible — nor the keys'
// 401, a 409 (the key is still being processed), a 429 or a 5xx.
func (e *refundError) refusedForGood() bool {
	return e.Status == http.StatusBadRequest && !strings.Contains(strings.ToLower(e.Description), "idempotency")
}
