package gateways

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/stripegw"
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
var local = Defaults{SiteURL: "http://127.0.0.1:8787", StripeMode: "test",
	StripeWebhookSecrets: []string{"whsec_local_0123456789abcdef"}, RazorpayWebhookSecrets: []string{"rzp_whsec_local_0123456789"}}

const (
	whsec     = "whsec_0123456789abcdef"
	rzpSecret = "rzp-webhook-0123456789"
)

func TestWebhooks_StripeVerifierTakesStripeMode(t *testing.T) {
	for _, mode := range []string{"test", "live"} {
		ws, err := Webhooks(load(t, map[string]string{config.StripeWebhookSecret: whsec, config.StripeMode: mode}))
		if err != nil {
			t.Fatal(err)
		}
		v, ok := ws["stripe"].(*stripegw.Verifier)
		if !ok || v.Mode != mode || len(v.Secrets) != 1 || v.Secrets[0] != whsec {
			t.Errorf("STRIPE_MODE=%s: %#v", mode, ws["stripe"])
		}
	}
}

// In Lambda a Stripe endpoint must say which mode it serves: guessing
// "test" would ignore every live payment, guessing "live" would let
// nobody try the shop.
func TestStripeWithoutStripeModeDoesNotStart(t *testing.T) {
	_, err := Webhooks(load(t, map[string]string{config.StripeWebhookSecret: whsec}))
	if err == nil || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("webhooks: %v", err)
	}
	_, err = Checkouts(load(t, map[string]string{config.StripeSecretKey: "sk_test_1", config.SiteURL: "https://shop.example.com"}), "Shop")
	if err == nil || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("checkouts: %v", err)
	}
}

// A Razorpay-only shop needs no STRIPE_MODE.
func TestRazorpayAloneNeedsNoStripeMode(t *testing.T) {
	ws, err := Webhooks(load(t, map[string]string{config.RazorpayWebhookSecret: rzpSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ws["razorpay"].(*razorpaygw.Verifier); !ok || ws["stripe"] != nil {
		t.Errorf("%v", ws)
	}
	gws, err := Checkouts(load(t, map[string]string{config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "s"}), "Shop")
	if err != nil || gws["razorpay"] == nil || gws["stripe"] != nil {
		t.Errorf("%v, %v", gws, err)
	}
}

// A checkout or webhook function with no gateway at all is misconfigured:
// it fails at start naming the settings, rather than answering
// unknown_gateway to every request.
func TestNoGatewayConfiguredNamesTheSettings(t *testing.T) {
	_, err := Checkouts(load(t, nil), "Shop")
	if err == nil || !strings.Contains(err.Error(), config.StripeSecretKey) || !strings.Contains(err.Error(), config.RazorpayKeyID) {
		t.Errorf("checkouts: %v", err)
	}
	_, err = Webhooks(load(t, nil))
	if err == nil || !strings.Contains(err.Error(), config.StripeWebhookSecret) || !strings.Contains(err.Error(), config.RazorpayWebhookSecret) {
		t.Errorf("webhooks: %v", err)
	}
}
