package razorpayinquiry

import (
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
)

const (
	// maxAttempts bounds how often reconcile makes one call, and
	// callTimeout how long one attempt may take (razorpay-go's own).
	maxAttempts = 4
	callTimeout = 10 * time.Second
)

// APIError is Razorpay's answer to a request it did not serve.
type APIError struct {
	Status      int
	Code        string // BAD_REQUEST_ERROR, GATEWAY_ERROR, SERVER_ERROR
	Description string
	// RetryAfter is what a Retry-After header asked for, if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// api calls Razorpay's REST API by hand for reconcile, rather than through
// razorpay-go: that takes no context, hides the HTTP status (a 429 comes
// back as a BadRequestError, some 4xx as an empty map and no error), and
// turns amounts into float64; reconcile needs the status to retry, the
// context for the Lambda's deadline, and the entities as Razorpay sent
// them, to hand to razorpayhook.
type api struct {
	base, key, secret string
	hc                *http.Client
	wait              time.Duration
}

// get reads path?query into v, retrying as call does.
func (a *api) get(ctx context.Context, op, path string, query url.Values, v any) error {
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return a.call(ctx, op, func() error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return permanent{err}
		}
		req.SetBasicAuth(a.key, a.secret)
		req.Header.Set("Accept", "application/json")
		resp, err := a.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return apiError(resp, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return permanent{fmt.Errorf("the answer is not JSON: %w", err)}
		}
		return nil
	})
}

// apiError reads Razorpay's error body: {"error":{"code":…,"description":…}}.
func apiError(resp *http.Response, body []byte) *APIError {
	var b struct {
		Error struct {
			Code        string `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &b) // a proxy's page says only its status
	e := &APIError{Status: resp.StatusCode, Code: b.Error.Code, Description: b.Error.Description}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
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
		var ae *APIError
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
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	var p permanent
	return !errors.As(err, &p) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// gone reports Razorpay's answer for an id it does not have: a 400 "The
// id provided does not exist" (or a 404).
func gone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusNotFound ||
		ae.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Description), "does not exist"))
}
