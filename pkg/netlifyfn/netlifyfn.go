// Package netlifyfn runs a plain net/http handler as a Netlify Go function,
// beside apigw (API Gateway's HTTP API) for Lambda. Netlify hands a Go
// function a Lambda event in API Gateway's v1 REST shape, plus rawUrl and
// rawQuery of its own; this package turns it into an *http.Request — the
// body decoded back to the exact bytes the client sent, because webhook
// signatures are computed over those bytes — and the handler's answer into
// the response Netlify expects. Scheduled is the reconcile function's entry
// point.
package netlifyfn

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/jampay/jampay/pkg/lambdahttp"
)

// Event is what Netlify sends a Go function: API Gateway's v1 proxy event
// (path, httpMethod, headers and multiValueHeaders, the query maps, body,
// isBase64Encoded) and Netlify's rawUrl and rawQuery. Its other extras
// (route, blobs) are not read.
type Event struct {
	events.APIGatewayProxyRequest
	RawURL   string `json:"rawUrl"`
	RawQuery string `json:"rawQuery"`
}

// FunctionPath is where Netlify serves the api function when it is called
// by its own URL instead of through netlify.toml's /api/* rewrite.
const FunctionPath = "/.netlify/functions/api"

// RequestIDHeader carries Netlify's request id (x-nf-request-id) to the
// handler, replacing any value the client sent, as apigw does with API
// Gateway's.
const RequestIDHeader = "X-Request-Id"

// Handler adapts h to the function signature lambda.Start takes.
//
// It sets no size limit of its own, as apigw does not: Netlify buffers at
// most 6 MB of payload per invocation (Lambda's own limit), and the
// handler reads at most what each route allows (64 KiB for a checkout).
func Handler(h http.Handler) func(context.Context, Event) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, ev Event) (events.APIGatewayProxyResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			// A malformed event is Netlify's bug, not the client's; say so
			// plainly rather than fail the invocation.
			return events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest, Headers: lambdahttp.BadEventHeaders(), Body: lambdahttp.BadEventBody}, nil
		}
		return Response(lambdahttp.Serve(h, req)), nil
	}
}

// Request builds the *http.Request a Netlify event describes. The
// context (Netlify's Lambda context, with its deadline) becomes the
// request's. The client's address is left to the handler: hosted.App
// reads it from Netlify's X-Nf-Client-Connection-Ip, the one header a
// client cannot set.
func Request(ctx context.Context, ev Event) (*http.Request, error) {
	body, err := lambdahttp.DecodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("netlifyfn: %w", err)
	}
	raw, err := url.Parse(ev.RawURL)
	if err != nil {
		raw = &url.URL{}
	}
	path := ev.Path
	if path == "" {
		path = raw.EscapedPath()
	}
	req, err := lambdahttp.NewRequest(ctx, ev.HTTPMethod, APIPath(path), query(ev), body)
	if err != nil {
		return nil, fmt.Errorf("netlifyfn: %w", err)
	}
	req.Header = Header(ev)
	// Netlify's own request id; else the Lambda invocation's. Either
	// replaces what the client sent, so log lines correlate with Netlify's.
	req.Header.Del(RequestIDHeader)
	if id := req.Header.Get("X-Nf-Request-Id"); id != "" {
		req.Header.Set(RequestIDHeader, id)
	} else if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		req.Header.Set(RequestIDHeader, lc.AwsRequestID)
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = raw.Host
	}
	return req, nil
}

// APIPath maps a direct call of the api function (/.netlify/functions/api/…)
// back to the contract's path (/api/…). Through netlify.toml's 200 rewrite
// Netlify already passes the path the client asked for (/api/…), unchanged.
func APIPath(path string) string {
	rest, ok := strings.CutPrefix(path, FunctionPath)
	if !ok || (rest != "" && rest[0] != '/') {
		return path // not the api function (/.netlify/functions/apix stays as it is)
	}
	return "/api" + rest
}

// query is the query string as the client sent it: rawQuery, else rebuilt
// from multiValueQueryStringParameters. queryStringParameters is never
// read: it joins repeated parameters with ", ", which cannot be told from
// one value holding a comma.
func query(ev Event) string {
	if ev.RawQuery != "" {
		return ev.RawQuery
	}
	if len(ev.MultiValueQueryStringParameters) == 0 {
		return ""
	}
	return url.Values(ev.MultiValueQueryStringParameters).Encode()
}

// Header is the request's headers with canonical names (Netlify sends them
// lower-case, though production events also show capitalised ones) and
// repeated values kept. multiValueHeaders holds every value; headers holds
// the same joined with ", " — or, where Netlify itself wrote a header
// after the client (netlify-cli's scheduler marks, for one), a value the
// multi-valued map does not have, and then headers wins.
func Header(ev Event) http.Header {
	h := http.Header{}
	for name, values := range ev.MultiValueHeaders {
		key := http.CanonicalHeaderKey(name)
		h[key] = append(h[key], values...)
	}
	for name, value := range ev.Headers {
		key := http.CanonicalHeaderKey(name)
		if have := h[key]; len(have) > 0 && (value == strings.Join(have, ", ") || slices.Contains(have, value)) {
			continue
		}
		h.Set(key, value)
	}
	return h
}

// Response turns what the handler wrote into Netlify's response. Every
// header goes in headers, repeated values joined with ", ": Netlify's
// production has been seen to ignore multiValueHeaders in a function's
// response (a 2019 report, not known to be fixed), and jampay's answers
// repeat no header that a comma cannot join (it sets no cookies). Bodies
// that are not UTF-8 text go back base64-encoded.
func Response(status int, header http.Header, body []byte) events.APIGatewayProxyResponse {
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: make(map[string]string, len(header))}
	for name, values := range header {
		resp.Headers[name] = strings.Join(values, ", ")
	}
	resp.Body, resp.IsBase64Encoded = lambdahttp.EncodeBody(body)
	return resp
}
