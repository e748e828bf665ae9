package localserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/localserver"
	"github.com/jampay/jampay/internal/mailcount"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

var local *ddblocal.Server

func TestMain(m *testing.M) {
	var err error
	if local, err = ddblocal.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localserver tests need DynamoDB Local:", err)
		os.Exit(1)
	}
	code := mailcount.Run(m) // fails the package if any change was mailed twice
	local.Stop()
	os.Exit(code)
}

func start(t *testing.T, env map[string]string) (*localserver.Server, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	s, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", SiteDir: "../../site", CatalogPath: "../../site/catalog.json",
		Getenv: func(k string) string { return env[k] }, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	t.Cleanup(func() { countMail(t, s.URL) }) // runs first: the server is still up
	return s, &out
}

var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postJSON(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %v", url, resp.StatusCode, m)
	}
	return m
}

func status(t *testing.T, base string, c map[string]any) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/orders/"+c["orderId"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+c["statusToken"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	s, _ := m["status"].(string)
	return s
}

// press is one button on a sandbox page: where the page sends the
// customer ("" for back to the page itself, as after a decline) and the
// order's status after it.
type press struct{ action, redirect, status string }

// stripeFlow checks out on the Stripe sandbox and presses buttons in turn.
func stripeFlow(t *testing.T, base string, presses ...press) {
	c := postJSON(t, base+"/api/checkout", `{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1}]}`)
	url := c["checkout"].(map[string]any)["url"].(string)
	page, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), "T-shirt (M) × 1") || !strings.Contains(string(html), "Decline") {
		t.Fatalf("sandbox page: %s", html)
	}
	for _, p := range presses {
		resp, err := noRedirect.Post(url+"/"+p.action, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := url
		if p.redirect != "" {
			want = base + p.redirect
		}
		if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Fatalf("%s: %d → %s, want %s", p.action, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if got := status(t, base, c); got != p.status {
			t.Fatalf("%s: status %s, want %s", p.action, got, p.status)
		}
	}
}

func TestServe_StripeSandboxInMemory(t *testing.T) {
	s, out := start(t, nil)
	for _, want := range []string{"jampay serving " + s.URL, "stripe    sandbox", "razorpay  sandbox", "in memory", "STRIPE_WEBHOOK_SECRET=whsec_local_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	stripeFlow(t, s.URL, press{"pay", "/success.html", "paid"})
	// A decline keeps the customer on the page, the order open.
	stripeFlow(t, s.URL, press{"decline", "", "pending"}, press{"pay", "/success.html", "paid"})
	stripeFlow(t, s.URL, press{"decline", "", "pending"}, press{"abandon", "/cancel.html", "expired"})
	for _, path := range []string{"/", "/jampay.js", "/catalog.json", "/success.html"} {
		if resp, err := http.Get(s.URL + path); err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", path, resp, err)
		}
	}
}

func TestServe_DynamoDBLocalCreatesTheTable(t *testing.T) {
	table := fmt.Sprintf("jampay-serve-%d", time.Now().UnixNano())
	s, out := start(t, map[string]string{"DYNAMODB_ENDPOINT": local.Endpoint, "TABLE_NAME": table})
	if !strings.Contains(out.String(), "DynamoDB table "+table+" at "+local.Endpoint) {
		t.Fatalf("banner: %s", out)
	}
	stripeFlow(t, s.URL, press{"pay", "/success.html", "paid"})
	// The dashboard lists and reconciles the table's orders too.
	c := pay(t, s.URL, "razorpay", "pay-lose-webhook")
	o := owner{t, s.URL}
	if page := o.reconcile(); !strings.Contains(page, `<tr data-order="`+c["orderId"].(string)+`">`) || strings.Contains(page, "Left for the next run") {
		t.Fatalf("the dashboard on DynamoDB Local:\n%s", page)
	}
	if got := status(t, s.URL, c); got != "paid" {
		t.Fatalf("Reconcile now on DynamoDB Local: %s", got)
	}
}

func TestServe_RazorpaySandbox(t *testing.T) {
	s, _ := start(t, nil)
	if resp, err := http.Get(s.URL + "/sandbox/razorpay/checkout.js"); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("checkout.js: %v %v", resp, err)
	}
	for _, tc := range []struct{ action, want string }{{"pay", "paid"}, {"decline", "pending"}, {"abandon", "expired"}} {
		c := postJSON(t, s.URL+"/api/checkout", `{"gateway":"razorpay","items":[{"sku":"sticker-in","quantity":2}]}`)
		co := c["checkout"].(map[string]any)
		if co["keyId"] != "rzp_test_sandbox" || co["amount"] != 39800.0 || co["currency"] != "INR" || co["name"] != "Jam & Co." {
			t.Fatalf("checkout %v", co)
		}
		reply := postJSON(t, s.URL+"/sandbox/razorpay/"+co["orderId"].(string)+"/"+tc.action, "")
		if tc.action == "pay" {
			// The handler's fields carry Razorpay's payment signature.
			want := razorpayhook.Sign([]byte(reply["razorpay_order_id"].(string)+"|"+reply["razorpay_payment_id"].(string)), "sandbox")
			if reply["razorpay_signature"] != want {
				t.Fatalf("handler fields %v", reply)
			}
		}
		if got := status(t, s.URL, c); got != tc.want {
			t.Fatalf("%s: %s, want %s", tc.action, got, tc.want)
		}
	}
}

func TestServe_BadSettingFailsAtStart(t *testing.T) {
	_, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", CatalogPath: "../../site/catalog.json",
		Getenv: func(k string) string { return map[string]string{"SITE_URL": "not a url"}[k] },
	})
	if err == nil || !strings.Contains(err.Error(), "SITE_URL is malformed") {
		t.Fatalf("%v", err)
	}
	_, err = localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", CatalogPath: "../../site/catalog.json",
		Getenv: func(k string) string { return map[string]string{"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000"}[k] },
	})
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("%v", err)
	}
}

// TestServe_RateLimitOffUnlessSet: one developer clicking through the shop
// is one address, so `jampay serve` counts nothing by default (the
// contract's 30 would stop a tester); CHECKOUT_RATE_LIMIT turns it on.
func TestServe_RateLimitOffUnlessSet(t *testing.T) {
	checkouts := func(base string, n int) (codes []int) {
		for i := 0; i < n; i++ {
			resp, err := http.Post(base+"/api/checkout", "application/json", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		return codes
	}
	off, _ := start(t, nil)
	for i, code := range checkouts(off.URL, 35) {
		if code != 201 {
			t.Fatalf("checkout %d with the limit unset: %d", i+1, code)
		}
	}
	on, _ := start(t, map[string]string{"CHECKOUT_RATE_LIMIT": "2"})
	if got := fmt.Sprint(checkouts(on.URL, 3)); got != "[201 201 429]" {
		t.Fatalf("CHECKOUT_RATE_LIMIT=2: %s", got)
	}
}

// With keys, jampay serve talks to the gateway (here a stand-in for
// Stripe's API) instead of the sandbox, says so, and builds the pages the
// customer returns to on its own origin when SITE_URL is unset.
func TestServe_ConfiguredGatewaysReplaceTheSandbox(t *testing.T) {
	var mu sync.Mutex
	var successURL string
	var asked []string
	stripeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		if r.URL.Path == "/v1/checkout/sessions" {
			successURL = r.PostForm.Get("success_url")
		}
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"cs_test_local","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_local"}`)
	}))
	defer stripeAPI.Close()
	// Razorpay's lists, empty, for the dashboard's reconcile.
	razorpayAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"entity":"collection","count":0,"items":[]}`)
	}))
	defer razorpayAPI.Close()
	s, out := start(t, map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_local", "STRIPE_API_BASE": stripeAPI.URL,
		"RAZORPAY_KEY_ID": "rzp_test_local", "RAZORPAY_KEY_SECRET": "local-secret", "RAZORPAY_API_BASE": razorpayAPI.URL,
	})
	for _, want := range []string{"stripe    Stripe test mode (" + stripeAPI.URL + ")", "razorpay  Razorpay (" + razorpayAPI.URL + ")"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	c := postJSON(t, s.URL+"/api/checkout", `{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1}]}`)
	if got := c["checkout"].(map[string]any)["url"]; got != "https://checkout.stripe.com/c/pay/cs_test_local" {
		t.Errorf("checkout url %v, want Stripe's", got)
	}
	mu.Lock()
	if successURL != s.URL+"/success.html" {
		t.Errorf("success_url %q, want %s/success.html", successURL, s.URL)
	}
	mu.Unlock()
	// The dashboard's reconcile asks the real gateway, not the sandbox:
	// past the deadline, the order's Checkout Session.
	o := owner{t, s.URL}
	o.post("/_jampay/clock", url.Values{"minutes": {"61"}}, nil)
	o.reconcile()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(asked, "GET /v1/checkout/sessions/cs_test_local") {
		t.Errorf("Reconcile now did not ask Stripe about the session; it asked %q", asked)
	}
}

// A gateway's settings that cannot work stop jampay serve at start, naming
// the setting, as they stop a Lambda function.
func TestServe_BadGatewaySettingFailsAtStart(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		// A live key in a shop that runs in test mode unless told.
		{map[string]string{"STRIPE_SECRET_KEY": "sk_live_local"}, "STRIPE_MODE"},
		{map[string]string{"RAZORPAY_KEY_ID": "rzp_test_local"}, "missing setting: RAZORPAY_KEY_SECRET"},
	} {
		_, err := localserver.Start(context.Background(), localserver.Options{
			Addr: "127.0.0.1:0", CatalogPath: "../../site/catalog.json",
			Getenv: func(k string) string { return tc.env[k] },
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}

// TestServe_ASubscriptionAGatewayCannotSellStopsTheStart: a daily plan of
// one day, which Razorpay cannot bill, stops jampay serve at start, naming
// the product and the gateway.
func TestServe_ASubscriptionAGatewayCannotSellStopsTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	cat := `{"shopName":"Jam","products":[{"sku":"tee-m","name":"Tee","unitAmount":2000,"currency":"usd"},` +
		`{"sku":"daily-jam","name":"Daily jam","unitAmount":100,"currency":"inr","interval":"day","intervalCount":1}]}`
	if err := os.WriteFile(path, []byte(cat), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", CatalogPath: path, Getenv: func(string) string { return "" }, Out: io.Discard,
	})
	if err == nil || !strings.Contains(err.Error(), "daily-jam") || !strings.Contains(err.Error(), "razorpay") {
		t.Fatalf("start with an unsellable subscription: %v", err)
	}
}
