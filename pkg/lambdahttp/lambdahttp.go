// Package lambdahttp holds what every Lambda-shaped host adapter shares —
// apigw (API Gateway's HTTP API) and netlifyfn (Netlify's functions): a
// handler's answer recorded for one response, bodies decoded back to the
// exact bytes the client sent (webhook signatures are over them) and
// encoded for the answer, and a request whose URL is set, never parsed.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// BadEventBody answers an event the adapter cannot read
// (the host's bug, not the client's), for every host's adapter.
const BadEventBody = `{"error":{"code":"invalid_request","message":"The request could not be read."}}`

// BadEventHeaders are BadEventBody's headers (a fresh map each time).
func BadEventHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
}

// Serve runs h on req and returns what it wrote, for one Lambda-shaped
// response (every host's adapter answers this way).
func Serve(h http.Handler, req *http.Request) (status int, header http.Header, body []byte) {
	rec := &response{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.header, rec.body.Bytes()
}

// response collects what a handler writes, for one Lambda response. It is
// httptest's recorder cut to what Lambda needs: linking net/http/httptest
// into every function for this would bring its test certificates along.
type response struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *response) Header() http.Header { return r.header }

func (r *response) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *response) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// DecodeBody is the exact bytes the client sent: a host that hands the
// body over base64-encoded says so, and the signature is over the decoded
// bytes.
func DecodeBody(body string, base64Encoded bool) ([]byte, error) {
	if !base64Encoded {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("body is not valid base64: %w", err)
	}
	return b, nil
}

// EncodeBody is a response body as a Lambda-shaped response carries it:
// UTF-8 text as it is, anything else base64-encoded.
func EncodeBody(body []byte) (string, bool) {
	if utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// NewRequest is the request for method, path (as sent, percent-encoding
// kept for the router) and query, with body. The URL is set, never parsed
// from one string: a path such as //host/x would parse as a host.
func NewRequest(ctx context.Context, method, path, rawQuery string, body []byte) (*http.Request, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q is not absolute", path)
	}
	u := &url.URL{Path: path, RawQuery: rawQuery}
	if unescaped, err := url.PathUnescape(path); err == nil {
		// Keep RawPath so percent-encoded segments reach the router as sent.
		u.Path, u.RawPath = unescaped, path
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL, req.RequestURI = u, u.RequestURI()
	req.ContentLength = int64(len(body))
	return req, nil
}
