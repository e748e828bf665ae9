// Package apigw runs a plain net/http handler behind API Gateway's HTTP API
// (payload format 2.0), so Lambda, the local server and httptest all run the
// same handler code. It owns the one subtle part: a body API Gateway hands
// over base64-encoded is decoded back to the exact bytes the client sent,
// because webhook signatures are computed over those bytes.
package apigw

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/lambdahttp"
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
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Headers: lambdahttp.BadEventHeaders(), Body: lambdahttp.BadEventBody}, nil
		}
		return Response(lambdahttp.Serve(h, req)), nil
	}
}

// Request builds the *http.Request an HTTP API event describes.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body, err := lambdahttp.DecodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("apigw: %w", err)
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	req, err := lambdahttp.NewRequest(ctx, ev.RequestContext.HTTP.Method, path, ev.RawQueryString, body)
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
	resp.Body, resp.IsBase64Encoded = lambdahttp.EncodeBody(body)
	return resp
}
