package gateways

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/order"
)

func TestStripeCheckout_AbsentWithoutSecretKey(t *testing.T) {
	// Not even SITE_URL is asked for: a Razorpay-only shop sets none of Stripe's.
	gw, err := StripeCheckout(load(t, nil), Defaults{})
	if gw != nil || err != nil {
		t.Errorf("no STRIPE_SECRET_KEY: %v, %v", gw, err)
	}
}

func TestStripeCheckout_NamesEachMissingSetting(t *testing.T) {
	key := map[string]string{config.StripeSecretKey: "sk_test_1"}
	_, err := StripeCheckout(load(t, key), Defaults{})
	if err == nil || !strings.Contains(err.Error(), config.SiteURL) || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("no defaults: %v", err)
	}
	_, err = StripeCheckout(load(t, key), Defaults{StripeMode: "test"})
	if err == nil || !strings.Contains(err.Error(), config.SiteURL) || strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("a default mode: %v", err)
	}
	if gw, err := StripeCheckout(load(t, key), local); gw == nil || err != nil {
		t.Errorf("jampay serve's defaults: %v, %v", gw, err)
	}
}

// A live key with STRIPE_MODE unset would take real money on orders whose
// test-mode events are then ignored: jampay serve's "test" refuses it.
func TestStripeCheckout_KeyOfTheOtherModeRefused(t *testing.T) {
	_, err := StripeCheckout(load(t, map[string]string{config.StripeSecretKey: "sk_live_1"}), local)
	if err == nil || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("live key, test default: %v", err)
	}
}

// The success and cancel pages are SITE_URL's; the host's origin only
// stands in where it is unset.
func TestStripeCheckout_PagesOnSiteURLElseTheDefault(t *testing.T) {
	var successURL string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		successURL = r.PostForm.Get("success_url")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"recorded"}}`))
	}))
	defer api.Close()
	for _, tc := range []struct{ siteURL, want string }{
		{"", local.SiteURL + "/success.html"},
		{"https://shop.example.com", "https://shop.example.com/success.html"},
	} {
		gw, err := StripeCheckout(load(t, map[string]string{config.StripeSecretKey: "sk_test_1", config.StripeAPIBase: api.URL, config.SiteURL: tc.siteURL}), local)
		if err != nil {
			t.Fatal(err)
		}
		successURL = ""
		o := &order.Order{ID: order.NewID(), Amount: 100, Currency: "usd", Items: []order.LineItem{{SKU: "a", Name: "A", Quantity: 1, UnitAmount: 100}}}
		if _, err := gw.CreateCheckout(context.Background(), o); err == nil {
			t.Fatal("the fake API refuses every session")
		}
		if successURL != tc.want {
			t.Errorf("SITE_URL=%q: success_url %q, want %q", tc.siteURL, successURL, tc.want)
		}
	}
}

func TestRazorpayCheckout_AbsentWithoutKeys(t *testing.T) {
	if gw, err := RazorpayCheckout(load(t, nil), "Shop", nil); gw != nil || err != nil {
		t.Errorf("no keys: %v, %v", gw, err)
	}
}

// Half a key pair is a mistake, not an absent gateway.
func TestRazorpayCheckout_HalfAKeyPairNamesTheOtherHalf(t *testing.T) {
	_, err := RazorpayCheckout(load(t, map[string]string{config.RazorpayKeyID: "rzp_test_1"}), "Shop", nil)
	if err == nil || !strings.Contains(err.Error(), config.RazorpayKeySecret) {
		t.Errorf("key id alone: %v", err)
	}
	_, err = RazorpayCheckout(load(t, map[string]string{config.RazorpayKeySecret: "s"}), "Shop", nil)
	if err == nil || !strings.Contains(err.Error(), config.RazorpayKeyID) {
		t.Errorf("key secret alone: %v", err)
	}
}
