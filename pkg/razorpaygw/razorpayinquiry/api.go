package razorpayinquiry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/backoff"
	"github.com/jampay/jampay/pkg/razorpaygw"
)

const (
	// maxAttempts bounds how often reconcile makes one call, and
	// callTimeout how long one attempt may take (razorpay-go's own).
	maxAttempts = 4
	callTimeout = 10 * time.Second
)

// api is reconcile's way to Razorpay's REST API: razorpaygw.REST, with
// reconcile's rule for asking again. Reconcile needs the status to retry,
// the context for the Lambda's deadline, and the entities as Razorpay sent
// them, to hand to razorpayhook.
type api struct {
	rest *razorpaygw.REST
	wait time.Duration
}

// get reads path?query into v, retrying as call does.
func (a *api) get(ctx context.Context, op, path string, query url.Values, v any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return a.call(ctx, op, func() error {
		err := a.rest.Do(ctx, http.MethodGet, path, nil, nil, v)
		if razorpaygw.Unusable(err) {
			return permanent{err}
		}
		return err
	})
}

// post sends body to path, retrying as call does, only where another
// attempt cannot do twice what the first did (cancelling a subscription:
// Razorpay refuses to cancel one cancelled).
func (a *api) post(ctx context.Context, op, path string, body []byte, v any) error {
	return a.call(ctx, op, func() error {
		err := a.rest.Do(ctx, http.MethodPost, path, body, nil, v)
		if razorpaygw.Unusable(err) {
			return permanent{err}
		}
		return err
	})
}

// permanent marks a failure another attempt cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// call makes one request, retrying a 429, a 5xx or a failure to get an
// answer, as Razorpay's guide to its rate limiter asks: exponential
// backoff with jitter (so parallel workers spread out), here up to
// maxAttempts in all, waiting a.wait, then twice that, and so on, or
// longer if Retry-After says so, and never past ctx's deadline. What fails
// in the end is returned: reconcile never takes a gateway error for
// "nothing happened".
func (a *api) call(ctx context.Context, op string, f func() error) error {
	wait := a.wait
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		d := wait/2 + rand.N(wait/2+1)
		var ae *razorpaygw.APIError
		if errors.As(err, &ae) && ae.RetryAfter > d {
			d = ae.RetryAfter
		}
		if attempt == maxAttempts || !retryable(err) || !backoff.Sleep(ctx, d) {
			return fmt.Errorf("razorpay: %s: %w", op, err)
		}
		wait *= 2
	}
}

func retryable(err error) bool {
	var ae *razorpaygw.APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	var p permanent
	return !errors.As(err, &p) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// gone reports Razorpay's answer for an id it does not have: a 400 "The
// id provided does not exist" (or a 404).
func gone(err error) bool {
	var ae *razorpaygw.APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusNotFound ||
		ae.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Description), "does not exist"))
}
