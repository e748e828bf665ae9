package razorpaygw

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// REST calls Razorpay's REST API by hand where razorpay-go falls short:
// it takes no context, hides the HTTP status (a 429 comes back as a
// BadRequestError, some 4xx as an empty map and no error), sends no custom
// header on refunds, and turns amounts into float64. Refunds and reconcile
// use it, each with its own rule for asking again.
type REST struct {
	base, keyID, keySecret string
	hc                     *http.Client
}

// REST returns the REST client for c's keys, API base and Transport.
func (c Config) REST() *REST {
	return &REST{base: strings.TrimRight(cmp.Or(c.APIBase, DefaultAPIBase), "/"), keyID: c.KeyID, keySecret: c.KeySecret,
		hc: &http.Client{Transport: c.Transport}}
}

// FirstWait is how long a call to Razorpay waits before it is first asked
// again: c.RetryWait, or half a second.
func (c Config) FirstWait() time.Duration {
	if c.RetryWait <= 0 {
		return 500 * time.Millisecond
	}
	return c.RetryWait
}

// Do makes one request, of at most sdkTimeout: body (nil: none) is sent as
// JSON with header added, and a 2xx answer is read into v. Another status
// is an *APIError; a request that cannot be made or an answer that is not
// JSON is Unusable.
func (r *REST) Do(ctx context.Context, method, path string, body []byte, header http.Header, v any) error {
	ctx, cancel := context.WithTimeout(ctx, sdkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(body))
	if err != nil {
		return unusable{err}
	}
	req.SetBasicAuth(r.keyID, r.keySecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return unusable{fmt.Errorf("the answer is not JSON: %w", err)}
	}
	return nil
}

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

// unusable marks a failure another attempt cannot mend.
type unusable struct{ error }

func (u unusable) Unwrap() error { return u.error }

// Unusable reports a request Do could not make, or an answer that is not
// JSON: asking again cannot mend either.
func Unusable(err error) bool {
	var u unusable
	return errors.As(err, &u)
}
