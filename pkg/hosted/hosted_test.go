package hosted_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/memstore"
)

func settings(extra map[string]string) func(string) string {
	m := map[string]string{
		"TABLE_NAME": "jampay", "SITE_URL": "https://shop.example.com", "ALLOWED_ORIGINS": "https://shop.example.com",
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_MODE": "test", "STRIPE_WEBHOOK_SECRET": "whsec_test_0123456789abcdef",
		"STRIPE_API_BASE": "http://127.0.0.1:1", "CHECKOUT_RATE_LIMIT": "1",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func newApp(t *testing.T, host hosted.Host, extra map[string]string) *hosted.App {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(`{"shopName":"Shop","products":[{"sku":"tee","name":"Tee","unitAmount":2000,"currency":"usd"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := hosted.New(context.Background(), host, hosted.Options{Getenv: settings(extra), Catalog: cat, Store: memstore.New(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestClientAddr_OnlyAnAddress(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9": "203.0.113.9:0", " 2001:db8::1 ": "[2001:db8::1]:0", "::ffff:127.0.0.1": "127.0.0.1:0",
		"203.0.113.9, 10.0.0.1": "", "": "", "evil": "",
	} {
		if got := hosted.ClientAddr(in); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// The rate limit counts by the host's own header, never by one a client
// writes (X-Forwarded-For).
func TestApp_CountsClientsByTheHostsHeader(t *testing.T) {
	for _, host := range []hosted.Host{hosted.Netlify, hosted.Vercel} {
		a := newApp(t, host, map[string]string{"CRON_SECRET": "cron-secret-0123456789"})
		checkout := func(ip, forwarded string) int {
			req := httptest.NewRequest("POST", "/api/checkout", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"tee","quantity":1}]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(host.ClientIPHeader, ip)
			req.Header.Set("X-Forwarded-For", forwarded)
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			return rec.Code
		}
		// CHECKOUT_RATE_LIMIT is 1: the first checkout from an address is
		// counted (Stripe is unreachable here: 502), the second is refused
		// whatever X-Forwarded-For says, another address is counted apart.
		for _, c := range []struct {
			ip, forwarded string
			want          int
		}{
			{"203.0.113.9", "198.51.100.1", http.StatusBadGateway},
			{"203.0.113.9", "198.51.100.2", http.StatusTooManyRequests},
			{"203.0.113.10", "203.0.113.9", http.StatusBadGateway},
		} {
			if got := checkout(c.ip, c.forwarded); got != c.want {
				t.Fatalf("%s from %s (X-Forwarded-For %s): %d, want %d", host.Name, c.ip, c.forwarded, got, c.want)
			}
		}
	}
}

func TestAuthorize_TheSchedulersSecretOnly(t *testing.T) {
	a := newApp(t, hosted.Vercel, map[string]string{"CRON_SECRET": "cron-secret-0123456789"})
	for auth, want := range map[string]bool{
		"Bearer cron-secret-0123456789": true, "Bearer cron-secret-012345678": false, "cron-secret-0123456789": false, "": false, "Bearer ": false,
	} {
		if got := a.Authorize(auth); got != want {
			t.Errorf("Authorize(%q) = %v", auth, got)
		}
	}
	if _, err := hosted.New(context.Background(), hosted.Vercel, hosted.Options{Getenv: settings(map[string]string{"CRON_SECRET": "short"}),
		Store: memstore.New(time.Now)}); err == nil || !strings.Contains(err.Error(), "CRON_SECRET") {
		t.Fatalf("a short CRON_SECRET: %v", err)
	}
}

// A path with . or .. segments names no route: a JSON 404, never
// net/http's HTML redirect to the cleaned path.
func TestApp_UncleanPathsAreNotFound(t *testing.T) {
	a := newApp(t, hosted.Netlify, nil)
	for _, p := range []string{"/api/../etc/passwd", "/api/./checkout", "/api/orders/", "/api//checkout"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Location") != "" {
			t.Errorf("%s: %d %v %s", p, rec.Code, rec.Header(), rec.Body)
		}
	}
}

// Two values of the host's client-IP header (a client's copy beside the
// host's) make the client unknown, never whichever came first.
func TestApp_TwoClientAddressesAreNone(t *testing.T) {
	a := newApp(t, hosted.Netlify, nil)
	checkout := func(ips ...string) int {
		req := httptest.NewRequest("POST", "/api/checkout", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"tee","quantity":1}]}`))
		req.Header.Set("Content-Type", "application/json")
		for _, ip := range ips {
			req.Header.Add(hosted.Netlify.ClientIPHeader, ip)
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec.Code
	}
	// CHECKOUT_RATE_LIMIT is 1: the unknown client is counted once, then
	// refused, whatever addresses it names beside the host's.
	if got := checkout("198.51.100.1", "203.0.113.9"); got != http.StatusBadGateway {
		t.Fatalf("first: %d", got)
	}
	if got := checkout("198.51.100.2", "203.0.113.9"); got != http.StatusTooManyRequests {
		t.Fatalf("second, another address first: %d", got)
	}
}
