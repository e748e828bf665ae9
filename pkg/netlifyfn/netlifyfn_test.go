package netlifyfn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/jampay/jampay/pkg/netlifyfn"
)

// load reads a Netlify event from testdata (see its README for where each
// shape comes from), decoded as lambda.Start decodes it.
func load(t testing.TB, name string) netlifyfn.Event {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev netlifyfn.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// seen is what the echo handler saw of a request.
type seen struct {
	Method, Path, RawPath, Query, Host, RequestID, Body string
	Header                                              http.Header
	Deadline                                            time.Time
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	d, _ := r.Context().Deadline()
	s := seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.Header.Get("X-Request-Id"), string(b), r.Header, d}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

func through(t *testing.T, ctx context.Context, ev netlifyfn.Event) (seen, events.APIGatewayProxyResponse) {
	t.Helper()
	resp, err := netlifyfn.Handler(http.HandlerFunc(echo))(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var s seen
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(resp.Body), &s); err != nil {
			t.Fatalf("%s: %v", resp.Body, err)
		}
	}
	return s, resp
}

// Through netlify.toml's 200 rewrite Netlify passes the path the client
// asked for; the query comes from rawQuery, repeats kept, never from the
// comma-joined map.
func TestRequest_RewriteKeepsThePathAndTheRawQuery(t *testing.T) {
	s, resp := through(t, context.Background(), load(t, "dev-webhook-stripe.json"))
	if resp.StatusCode != 200 || s.Method != "POST" || s.Path != "/api/webhooks/stripe" || s.Query != "x=1&x=2" ||
		s.Body != `{"id":"evt_1","object":"event"}` || s.Host != "localhost:8899" {
		t.Fatalf("saw %+v (%d)", s, resp.StatusCode)
	}
	if got := s.Header.Get("Stripe-Signature"); got != "t=1,v1=abc" {
		t.Fatalf("Stripe-Signature %q", got)
	}
	if got := s.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", got)
	}
}

// Called by its own URL, the api function sees /.netlify/functions/api/…:
// the contract's routes are /api/….
func TestRequest_DirectCallMapsToTheAPIPath(t *testing.T) {
	s, _ := through(t, context.Background(), load(t, "dev-direct-status.json"))
	if s.Method != "GET" || s.Path != "/api/orders/ord_123" || s.Query != "poll=3" || s.Body != "" {
		t.Fatalf("saw %+v", s)
	}
}

func TestAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/.netlify/functions/api":              "/api",
		"/.netlify/functions/api/":             "/api/",
		"/.netlify/functions/api/checkout":     "/api/checkout",
		"/.netlify/functions/api/orders/ord_1": "/api/orders/ord_1",
		"/api/orders/ord_1":                    "/api/orders/ord_1",
		"/.netlify/functions/apix/checkout":    "/.netlify/functions/apix/checkout",
		"/.netlify/functions/reconcile":        "/.netlify/functions/reconcile",
		"/x/.netlify/functions/api/checkout":   "/x/.netlify/functions/api/checkout",
	} {
		if got := netlifyfn.APIPath(in); got != want {
			t.Errorf("APIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A preflight arrives with no body key at all and isBase64Encoded true
// (no Content-Type): an empty body, not an error.
func TestRequest_PreflightWithoutABody(t *testing.T) {
	ev := load(t, "dev-preflight.json")
	if !ev.IsBase64Encoded || ev.Body != "" {
		t.Fatalf("the fixture is no longer the shape it documents: %+v", ev)
	}
	s, resp := through(t, context.Background(), ev)
	if resp.StatusCode != 200 || s.Method != "OPTIONS" || s.Path != "/api/checkout" || s.Body != "" ||
		s.Header.Get("Access-Control-Request-Method") != "POST" || s.Header.Get("Origin") != "https://shop.example.com" {
		t.Fatalf("saw %+v (%d %s)", s, resp.StatusCode, resp.Body)
	}
}

// A body Netlify base64-encoded reaches the handler as the client's bytes.
func TestRequest_Base64BodyIsDecoded(t *testing.T) {
	req, err := netlifyfn.Request(context.Background(), load(t, "dev-binary-body.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(req.Body)
	if string(b) != "hello\x01\xff" || req.ContentLength != int64(len(b)) {
		t.Fatalf("body %q (length %d)", b, req.ContentLength)
	}
}

// Headers are canonical whatever case Netlify sends; Netlify's request id
// replaces the client's; the client's address header is Netlify's.
func TestRequest_ProductionHeaders(t *testing.T) {
	s, _ := through(t, context.Background(), load(t, "prod-status-rewrite.json"))
	if s.Path != "/api/orders/ord_aaaaaaaaaaaaaaaaaaaaaaaaaa" || s.Query != "poll=3" || s.RequestID != "01FDWR77JMF2DA1CHCHEQNS1H1" {
		t.Fatalf("saw %+v", s)
	}
	for name, want := range map[string][]string{
		"Authorization": {"Bearer tok_example"}, "X-Nf-Client-Connection-Ip": {"203.0.113.7"},
		"X-Forwarded-For": {"203.0.113.7, 100.64.0.153"}, "Origin": {"https://shop.example.com"},
	} {
		if got := s.Header[name]; !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// A client cannot write X-Nf-Client-Connection-Ip: Netlify replaces it
// (captured), and the adapter keeps Netlify's value.
func TestRequest_ClientIPHeaderIsNetlifys(t *testing.T) {
	s, _ := through(t, context.Background(), load(t, "dev-repeated-header.json"))
	if got := s.Header["X-Nf-Client-Connection-Ip"]; !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Fatalf("X-Nf-Client-Connection-Ip %q", got)
	}
	if got := s.Header.Get("Accept"); got != "text/html, application/json" {
		t.Fatalf("Accept %q", got)
	}
}

func TestHeader_MultiValueKeptAndNetlifysOwnValueWins(t *testing.T) {
	ev := netlifyfn.Event{}
	ev.Headers = map[string]string{"x-a": "1, 2", "x-b": "3", "user-agent": "Netlify Clockwork", "X-NF-Event": "schedule"}
	ev.MultiValueHeaders = map[string][]string{"x-a": {"1", "2"}, "X-B": {"3"}, "user-agent": {"attacker"}}
	h := netlifyfn.Header(ev)
	want := http.Header{"X-A": {"1", "2"}, "X-B": {"3"}, "User-Agent": {"Netlify Clockwork"}, "X-Nf-Event": {"schedule"}}
	if len(h) != len(want) {
		t.Fatalf("%v", h)
	}
	for k, v := range want {
		if !slices.Equal(h[k], v) {
			t.Errorf("%s: %q, want %q", k, h[k], v)
		}
	}
}

// Without rawQuery the query is rebuilt from the multi-valued map; the
// comma-joined one cannot tell "1, 2" from 1 and 2.
func TestRequest_QueryFromTheMultiValuedMap(t *testing.T) {
	ev := load(t, "dev-webhook-stripe.json")
	ev.RawQuery = ""
	ev.MultiValueQueryStringParameters = map[string][]string{"a": {"1, 2", "3"}}
	ev.QueryStringParameters = map[string]string{"a": "1, 2, 3"}
	req, err := netlifyfn.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.Query()["a"]; !slices.Equal(got, []string{"1, 2", "3"}) {
		t.Fatalf("a = %q", got)
	}
}

// The Lambda context Netlify invokes with (its deadline, its request id)
// is the request's.
func TestRequest_KeepsTheLambdaContext(t *testing.T) {
	deadline := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "a6ba8f62-d134-44b8-9276-f0f11f11bed7"})
	ev := load(t, "dev-status.json")
	delete(ev.Headers, "x-nf-request-id")
	delete(ev.MultiValueHeaders, "x-nf-request-id")
	s, _ := through(t, ctx, ev)
	if !s.Deadline.Equal(deadline) || s.RequestID != "a6ba8f62-d134-44b8-9276-f0f11f11bed7" {
		t.Fatalf("deadline %v (want %v), request id %q", s.Deadline, deadline, s.RequestID)
	}
}

func TestHandler_UnreadableEventIs400JSON(t *testing.T) {
	for name, mutate := range map[string]func(*netlifyfn.Event){
		"bad base64":        func(ev *netlifyfn.Event) { ev.Body, ev.IsBase64Encoded = "%%% not base64 %%%", true },
		"relative path":     func(ev *netlifyfn.Event) { ev.Path = "api/checkout" },
		"method with space": func(ev *netlifyfn.Event) { ev.HTTPMethod = "GE T" },
	} {
		ev := load(t, "dev-checkout.json")
		mutate(&ev)
		_, resp := through(t, context.Background(), ev)
		if resp.StatusCode != 400 || resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("%s: %d %v %s", name, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
}

// Every header is in headers, repeats comma-joined (Netlify's production
// may ignore multiValueHeaders); a body that is not UTF-8 goes back base64.
func TestResponse_HeadersJoinedAndBinaryBase64(t *testing.T) {
	r := netlifyfn.Response(204, http.Header{"Vary": {"Origin", "Access-Control-Request-Method"}, "Cache-Control": {"no-store"}}, nil)
	if r.StatusCode != 204 || r.Headers["Vary"] != "Origin, Access-Control-Request-Method" || r.Headers["Cache-Control"] != "no-store" ||
		r.MultiValueHeaders != nil || r.Body != "" || r.IsBase64Encoded {
		t.Fatalf("%+v", r)
	}
	r = netlifyfn.Response(200, http.Header{"Content-Type": {"application/octet-stream"}}, []byte{0xff, 0xfe, 0})
	if !r.IsBase64Encoded || r.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0}) {
		t.Fatalf("%+v", r)
	}
	r = netlifyfn.Response(200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"a":"é"}`))
	if r.IsBase64Encoded || r.Body != `{"a":"é"}` {
		t.Fatalf("%+v", r)
	}
}
