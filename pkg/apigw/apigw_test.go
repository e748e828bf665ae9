package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/apigw"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripeverify"
)

func load(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// seen is what the echo handler saw of a request.
type seen struct {
	Method, Path, Query, Host, Remote, RequestID, Auth, Cookie, Origin, Body string
	Poll                                                                     string
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s := seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.RemoteAddr, r.Header.Get("X-Request-Id"),
		r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("Origin"), string(b), r.URL.Query().Get("poll")}
	w.Header().Set("Content-Type", "application/json")
	http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
	http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
	_ = json.NewEncoder(w).Encode(s)
}

func run(t *testing.T, h http.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := apigw.Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRequest_AWSSample(t *testing.T) {
	resp := run(t, http.HandlerFunc(echo), load(t, "apigw-v2-request-no-authorizer.json"))
	var s seen
	_ = json.Unmarshal([]byte(resp.Body), &s)
	want := seen{Method: "GET", Path: "/", Host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com", Remote: "1.2.3.4", RequestID: "LV7fzho-PHcEJPw="}
	if s != want {
		t.Fatalf("saw %+v\nwant %+v", s, want)
	}
}

func TestRequest_PathQueryHeadersCookies(t *testing.T) {
	resp := run(t, http.HandlerFunc(echo), load(t, "status-get.json"))
	var s seen
	_ = json.Unmarshal([]byte(resp.Body), &s)
	if s.Path != "/api/orders/ord_aaaaaaaaaaaaaaaaaaaaaaaaaa" || s.Query != "poll=3&t=1700000000" || s.Poll != "3" ||
		s.Auth != "Bearer tok_example" || s.Cookie != "theme=dark; seen=1" || s.Origin != "https://shop.example.com" {
		t.Fatalf("saw %+v", s)
	}
	if s.RequestID != "Ui2xqjuVjoEEMvw=" {
		t.Fatalf("request id %q: API Gateway's must replace the client's", s.RequestID)
	}
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/json" || len(resp.Cookies) != 2 || resp.IsBase64Encoded {
		t.Fatalf("response %+v", resp)
	}
}

func TestRequest_StatusRouteThroughTheRealHandler(t *testing.T) {
	store := memstore.New(time.Now)
	token, hash := order.NewToken()
	o := &order.Order{ID: "ord_aaaaaaaaaaaaaaaaaaaaaaaaaa", Gateway: "stripe", Status: order.Paid, Amount: 4000, Currency: "usd", TokenHash: hash}
	if err := store.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ev := load(t, "status-get.json")
	ev.Headers["authorization"] = "Bearer " + token
	h := api.Handler(api.Deps{Store: store, AllowedOrigins: []string{"https://shop.example.com"}})
	resp := run(t, h, ev)
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Access-Control-Allow-Origin"] != "https://shop.example.com" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// TestRequest_Base64WebhookVerifiesOverDecodedBytes: API Gateway may hand
// over the body base64-encoded; the signature is over the decoded bytes.
func TestRequest_Base64WebhookVerifiesOverDecodedBytes(t *testing.T) {
	store := memstore.New(time.Now)
	o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd", SessionRef: "cs_test_apigw_base64"}
	if err := store.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_apigw_test"
	h := api.Handler(api.Deps{Store: store, Webhooks: map[string]api.WebhookParser{"stripe": &stripeverify.Verifier{Secrets: []string{secret}}}})
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: o.ID, SessionID: o.SessionRef, Amount: 4000}.Payload()
	ev := load(t, "webhook-stripe-base64.json")
	ev.Body = base64.StdEncoding.EncodeToString(body)
	ev.Headers["stripe-signature"] = payloads.StripeSignature(body, secret, time.Time{})
	if resp := run(t, h, ev); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if got, _ := store.GetOrder(context.Background(), o.ID); got.Status != order.Paid {
		t.Fatalf("status %s", got.Status)
	}

	ev.Body = "%%% not base64 %%%"
	if resp := run(t, h, ev); resp.StatusCode != 400 || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("invalid base64: %d %v", resp.StatusCode, resp.Headers)
	}
}

// TestRequest_RateLimitCountsSourceIPNeverForwardedFor: through the real
// handler, the checkout rate limit counts API Gateway's sourceIp (IPv6 per
// /64), whatever X-Forwarded-For the client sends.
func TestRequest_RateLimitCountsSourceIPNeverForwardedFor(t *testing.T) {
	cat, err := catalog.Parse(strings.NewReader(`{"shopName":"S","products":[{"sku":"mug","name":"Mug","unitAmount":1250,"currency":"usd"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := api.Handler(api.Deps{Store: memstore.New(time.Now), Catalog: cat, Gateways: map[string]api.Gateway{"stripe": okGateway{}}, CheckoutRateLimit: 1})
	checkout := func(sourceIP, forwardedFor string) int {
		ev := load(t, "apigw-v2-request-no-authorizer.json")
		ev.RawPath, ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "/api/checkout", "POST", "/api/checkout"
		ev.RequestContext.HTTP.SourceIP = sourceIP
		ev.Headers["content-type"], ev.Headers["x-forwarded-for"] = "application/json", forwardedFor
		ev.Body = `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`
		return run(t, h, ev).StatusCode
	}
	steps := []struct {
		sourceIP, forwardedFor string
		want                   int
	}{
		{"203.0.113.9", "203.0.113.9", 201},
		{"203.0.113.9", "198.51.100.1, 203.0.113.9", 429},
		{"198.51.100.1", "203.0.113.9", 201},
		{"2001:db8:1:2::1", "2001:db8:1:2::1", 201},
		{"2001:db8:1:2:ffff::7", "2001:db8:9:9::1", 429},
	}
	for _, st := range steps {
		if got := checkout(st.sourceIP, st.forwardedFor); got != st.want {
			t.Fatalf("sourceIp %s, X-Forwarded-For %q: %d, want %d", st.sourceIP, st.forwardedFor, got, st.want)
		}
	}
}

type okGateway struct{}

func (okGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	return order.Checkout{SessionRef: "cs_" + o.ID[4:], Data: []byte(`{"url":"https://checkout.example/x"}`)}, nil
}

func TestResponse_BinaryBodyIsBase64(t *testing.T) {
	r := apigw.Response(200, http.Header{"Content-Type": {"application/octet-stream"}}, []byte{0xff, 0xfe, 0})
	if !r.IsBase64Encoded || r.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0}) {
		t.Fatalf("%+v", r)
	}
}

// TestRequest_APathOfTwoSlashesIsAPath: the request's URL is set, never
// parsed from one string, where //evil.example/x would read as a host.
func TestRequest_APathOfTwoSlashesIsAPath(t *testing.T) {
	ev := load(t, "status-get.json")
	ev.RawPath = "//evil.example/api/checkout"
	req, err := apigw.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.Host != "" || req.URL.Path != "//evil.example/api/checkout" {
		t.Fatalf("host %q path %q", req.URL.Host, req.URL.Path)
	}
}
