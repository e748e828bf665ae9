package webhooks

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripeverify"
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
var local = Defaults{StripeMode: "test",
	StripeWebhookSecrets: []string{"whsec_local_0123456789abcdef"}, RazorpayWebhookSecrets: []string{"rzp_whsec_local_0123456789"}}

const (
	whsec     = "whsec_0123456789abcdef"
	rzpSecret = "rzp-webhook-0123456789"
)

func TestVerifiers_StripeVerifierTakesStripeMode(t *testing.T) {
	for _, mode := range []string{"test", "live"} {
		ws, err := Verifiers(load(t, map[string]string{config.StripeWebhookSecret: whsec, config.StripeMode: mode}))
		if err != nil {
			t.Fatal(err)
		}
		v, ok := ws["stripe"].(*stripeverify.Verifier)
		if !ok || v.Mode != mode || len(v.Secrets) != 1 || v.Secrets[0] != whsec {
			t.Errorf("STRIPE_MODE=%s: %#v", mode, ws["stripe"])
		}
	}
}

// In Lambda a Stripe endpoint must say which mode it serves: guessing
// "test" would ignore every live payment, guessing "live" would let
// nobody try the shop. (The checkout's half is gateways'.)
func TestStripeWithoutStripeModeDoesNotStart(t *testing.T) {
	_, err := Verifiers(load(t, map[string]string{config.StripeWebhookSecret: whsec}))
	if err == nil || !strings.Contains(err.Error(), config.StripeMode) {
		t.Errorf("webhooks: %v", err)
	}
}

// A Razorpay-only shop needs no STRIPE_MODE.
func TestRazorpayAloneNeedsNoStripeMode(t *testing.T) {
	ws, err := Verifiers(load(t, map[string]string{config.RazorpayWebhookSecret: rzpSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ws["razorpay"].(*razorpayhook.Verifier); !ok || ws["stripe"] != nil {
		t.Errorf("%v", ws)
	}
}

// A webhook function with no webhook secret at all is misconfigured: it
// fails at start naming the settings, rather than answering
// not_found to every delivery.
func TestNoWebhookSecretConfiguredNamesTheSettings(t *testing.T) {
	_, err := Verifiers(load(t, nil))
	if err == nil || !strings.Contains(err.Error(), config.StripeWebhookSecret) || !strings.Contains(err.Error(), config.RazorpayWebhookSecret) {
		t.Errorf("webhooks: %v", err)
	}
}

func TestStripeVerifier_TakesTheMode(t *testing.T) {
	for _, tc := range []struct {
		mode string // STRIPE_MODE
		d    Defaults
		want string
	}{
		{"test", Defaults{}, "test"},
		{"live", Defaults{}, "live"},
		{"", local, "test"},
		{"live", local, "live"}, // the setting wins over the default
	} {
		v, err := StripeVerifier(load(t, map[string]string{config.StripeWebhookSecret: whsec, config.StripeMode: tc.mode}), tc.d)
		if err != nil || v == nil || v.Mode != tc.want {
			t.Errorf("STRIPE_MODE=%q, default %q: %#v, %v; want mode %s", tc.mode, tc.d.StripeMode, v, err, tc.want)
		}
	}
}

func TestStripeVerifier_SecretsFromTheSettingsElseTheDefault(t *testing.T) {
	v, err := StripeVerifier(load(t, map[string]string{config.StripeWebhookSecret: whsec}), local)
	if err != nil || len(v.Secrets) != 1 || v.Secrets[0] != whsec {
		t.Errorf("set: %#v, %v", v, err)
	}
	v, err = StripeVerifier(load(t, nil), local)
	if err != nil || len(v.Secrets) != 1 || v.Secrets[0] != local.StripeWebhookSecrets[0] {
		t.Errorf("unset: %#v, %v", v, err)
	}
	if v, err := StripeVerifier(load(t, nil), Defaults{}); v != nil || err != nil {
		t.Errorf("no secret, no default: %#v, %v", v, err)
	}
}

func TestRazorpayVerifier_SecretsFromTheSettingsElseTheDefault(t *testing.T) {
	if v := RazorpayVerifier(load(t, map[string]string{config.RazorpayWebhookSecret: rzpSecret}), local); v == nil || len(v.Secrets) != 1 || v.Secrets[0] != rzpSecret {
		t.Errorf("set: %#v", v)
	}
	if v := RazorpayVerifier(load(t, nil), local); v == nil || len(v.Secrets) != 1 || v.Secrets[0] != local.RazorpayWebhookSecrets[0] {
		t.Errorf("unset: %#v", v)
	}
	if v := RazorpayVerifier(load(t, nil), Defaults{}); v != nil {
		t.Errorf("no secret, no default: %#v", v)
	}
}
