package stripeinquiry

import (
	"context"
	"errors"
	"github.com/jampay/jampay/pkg/backoff"
	"math/rand/v2"
	"net/http"

	stripe "github.com/stripe/stripe-go/v76"

	"github.com/jampay/jampay/pkg/stripegw"
)

// maxAttempts bounds how often reconcile makes one call.
const maxAttempts = 4

// call makes one request, retrying a 429, a 5xx or a failure to get an
// answer: up to maxAttempts in all, waiting q.wait, then twice that, and
// so on (with jitter, so parallel workers spread out), never past ctx's
// deadline. What fails in the end is returned, said in a line: reconcile
// never takes a gateway error for "nothing happened".
func (q *Inquirer) call(ctx context.Context, op string, f func() error) error {
	wait := q.wait
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if attempt == maxAttempts || !retryable(err) || !backoff.Sleep(ctx, wait/2+rand.N(wait/2+1)) {
			return stripegw.CallError(op, err)
		}
		wait *= 2
	}
}

// retryable reports whether another attempt may succeed.
func retryable(err error) bool {
	var se *stripe.Error
	if errors.As(err, &se) {
		return se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500
	}
	// No answer, or not Stripe's (a proxy's error page): worth another
	// try, unless the caller gave up.
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// gone reports whether Stripe answered that what was asked for does not exist.
func gone(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}

// cursorGone reports whether Stripe refused the cursor's event.
func cursorGone(err error) bool {
	var se *stripe.Error
	return gone(err) || errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest && se.Param == "ending_before"
}

// invalidRequest reports a 400: Stripe's answer to expiring a session that
// is no longer open.
func invalidRequest(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest
}
