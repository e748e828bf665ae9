package gateways

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
)

func load(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// local is what `jampay serve` supplies.
var local = Defaults{SiteURL: "http://127.0.0.1:8787", StripeMode: "test"}

// In Lambda a Stripe checkout must say which mode it serves: guessing
// "test" would ignore every live payment, guessing "live" would let
// nobody try the shop. (The webhook verifier's half is webhooks'.)
func TestStripeWithoutStripeModeDoesNotStart(t *testing.T) {
	_, err := Checkouts(load(t, map[string]string{config.StripeSecretKey: "sk_test_1", config.SiteURL: "https://shop.example.com"}), "Shop", nil)
	if err == nil || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("checkouts: %v", err)
	}
}

// A Razorpay-only shop needs no STRIPE_MODE.
func TestRazorpayAloneNeedsNoStripeMode(t *testing.T) {
	gws, err := Checkouts(load(t, map[string]string{config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "s"}), "Shop", nil)
	if err != nil || gws["razorpay"] == nil || gws["stripe"] != nil {
		t.Errorf("%v, %v", gws, err)
	}
}

// A checkout function with no gateway at all is misconfigured: it fails at
// start naming the settings, rather than answering unknown_gateway to
// every request.
func TestNoGatewayConfiguredNamesTheSettings(t *testing.T) {
	_, err := Checkouts(load(t, nil), "Shop", nil)
	if err == nil || !strings.Contains(err.Error(), config.StripeSecretKey) || !strings.Contains(err.Error(), config.RazorpayKeyID) {
		t.Errorf("checkouts: %v", err)
	}
}
