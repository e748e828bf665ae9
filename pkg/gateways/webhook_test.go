package gateways

import (
	"testing"

	"github.com/jampay/jampay/pkg/config"
)

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
