// Package apigw runs a plain net/http handler behind API Gateway's HTTP API
// (payload format 2.0), so Lambda, the local server and httptest all run the
// same handler code. It owns the one subtle part: a body API Gateway hands
// over base64-encoded is decoded back to the exact bytes the client sent,
// because webhook signatures are computed over those bytes.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// RequestIDHeader carries API Gateway's request id to the handler, replacing
// any value the client sent.
const RequestIDHeader = "X-Request-Id"

// Handler adapts h to the function signature lambda.Start takes.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			// A malformed event is API Gateway's bug, not the client's; say
			// so plainly rather than fail the invocation.
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
				Body:       `{"error":{"code":"invalid_request","message":"The request could not be read."}}`,
			}, nil
		}
		rec := &response{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		return Response(rec.status, rec.header, rec.body.Bytes()), nil
	}
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

// Request builds the *http.Request an HTTP API event describes.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("apigw: body is not valid base64: %w", err)
		}
		body = b
	}
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if unescaped, err := url.PathUnescape(path); err == nil {
		// Keep RawPath so percent-encoded segments reach the router as sent.
		u.Path, u.RawPath = unescaped, path
	}
	req, err := http.NewRequestWithContext(ctx, method, u.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("apigw: %w", err)
	}
	for name, value := range ev.Headers {
		// HTTP API lower-cases header names and joins repeated headers with
		// commas; http.Header canonicalises the names again.
		req.Header.Set(name, value)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Header.Set(RequestIDHeader, ev.RequestContext.RequestID)
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	// The client's address is the one API Gateway saw the connection come
	// from; X-Forwarded-For is whatever the client chose to send (API
	// Gateway appends to it), so it is never read. The checkout rate limit
	// counts by this address.
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.ContentLength = int64(len(body))
	req.RequestURI = u.RequestURI()
	return req, nil
}

// Response turns what the handler wrote into an HTTP API response. Bodies
// that are not UTF-8 text go back base64-encoded, as API Gateway requires.
func Response(status int, header http.Header, body []byte) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for name, values := range header {
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ", ")
	}
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return resp
}
