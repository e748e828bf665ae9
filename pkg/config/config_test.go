package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad_Good(t *testing.T) {
	c, err := Load(env(map[string]string{
		TableName: "jampay", SiteURL: "https://shop.example.com/", AllowedOrigins: "https://shop.example.com, https://www.example.com",
		StripeSecretKey: "sk_test_1", StripeWebhookSecret: "whsec_old_0123456789abcdef,whsec_new_0123456789abcdef", RazorpayKeyID: "rzp_test_1",
		RazorpayKeySecret: "s", RazorpayWebhookSecret: "rzp-old-0123456789abcdef,rzp-new-0123456789abcdef", StripeMode: "test",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SiteURL != "https://shop.example.com" || len(c.AllowedOrigins) != 2 || len(c.Stripe.WebhookSecrets) != 2 ||
		c.Stripe.WebhookSecrets[1] != "whsec_new_0123456789abcdef" || c.Stripe.Mode != "test" || len(c.Razorpay.WebhookSecrets) != 2 || !c.StripeEnabled() || !c.RazorpayEnabled() {
		t.Fatalf("%+v", c)
	}
	if err := c.Require(TableName, SiteURL); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_MalformedSettingsAreNamed(t *testing.T) {
	for name, value := range map[string]string{
		SiteURL:             "ftp://files.example.org",
		AllowedOrigins:      "https://shop.example.com/path",
		StripeSecretKey:     "pk_test_publishable",
		StripeWebhookSecret: "whsec_0123456789abcdef,not-a-secret",
		StripeMode:          "production",
		CheckoutRateLimit:   "-1",
		CheckoutTTL:         "10m",
		RazorpayKeyID:       "key_123",
		DynamoDBEndpoint:    "localhost:8000",
		StripeAPIBase:       "http://stripe.internal.example",
	} {
		_, err := Load(env(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name+" is malformed") {
			t.Errorf("%s=%q: %v", name, value, err)
		}
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("%s: the error repeats the value, which may be a secret: %v", name, err)
		}
	}
}

func TestRequire_NamesEveryMissingSetting(t *testing.T) {
	c, _ := Load(env(map[string]string{TableName: "t"}))
	err := c.Require(TableName, SiteURL, AllowedOrigins)
	if err == nil || err.Error() != "missing setting: SITE_URL, ALLOWED_ORIGINS" {
		t.Fatalf("%v", err)
	}
}

// A webhook secret is an HMAC key: one anyone can guess lets anyone sign
// events, so every entry of the rotation list must be long enough.
func TestLoad_ShortWebhookSecretsAreRefused(t *testing.T) {
	const long = "0123456789abcdef" // 16 characters
	cases := []struct {
		name, setting, value string
		ok                   bool
	}{
		{"stripe prefix alone", StripeWebhookSecret, "whsec_", false},
		{"stripe 15 after prefix", StripeWebhookSecret, "whsec_" + long[:15], false},
		{"stripe 16 after prefix", StripeWebhookSecret, "whsec_" + long, true},
		{"stripe 16 with no prefix", StripeWebhookSecret, long, false},
		{"stripe short second in rotation", StripeWebhookSecret, "whsec_" + long + ",whsec_tiny", false},
		{"stripe two good in rotation", StripeWebhookSecret, "whsec_" + long + ", whsec_" + long + "x", true},
		{"razorpay 15", RazorpayWebhookSecret, long[:15], false},
		{"razorpay 16", RazorpayWebhookSecret, long, true},
		{"razorpay short first in rotation", RazorpayWebhookSecret, "secret," + long, false},
		{"razorpay 16 multibyte characters", RazorpayWebhookSecret, strings.Repeat("é", 16), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{tc.setting: tc.value}))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.setting+" is malformed") {
				t.Fatalf("want an error naming %s, got %v", tc.setting, err)
			}
			for _, secret := range strings.Split(tc.value, ",") {
				if len(secret) > len("whsec_") && strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats the secret %q: %v", secret, err)
				}
			}
		})
	}
}

func TestLoad_StripeKeyMustMatchStripeMode(t *testing.T) {
	cases := []struct {
		key, mode string
		ok        bool
	}{
		{"sk_test_51abc", "test", true},
		{"rk_test_51abc", "test", true},
		{"sk_live_51abc", "live", true},
		{"rk_live_51abc", "live", true},
		{"sk_live_51abc", "test", false},
		{"rk_live_51abc", "test", false},
		{"sk_test_51abc", "live", false},
		{"rk_test_51abc", "live", false},
		{"sk_test_51abc", "", true}, // Lambda requires STRIPE_MODE where Stripe is set up: see pkg/gateways
	}
	for _, tc := range cases {
		c, err := Load(env(map[string]string{StripeSecretKey: tc.key, StripeMode: tc.mode}))
		if tc.ok {
			if err != nil {
				t.Errorf("%s in %q mode: %v", tc.key, tc.mode, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), StripeMode) || !strings.Contains(err.Error(), StripeSecretKey) {
			t.Errorf("%s in %q mode: want an error naming %s and %s, got %v", tc.key, tc.mode, StripeMode, StripeSecretKey, err)
		}
		if err != nil && strings.Contains(err.Error(), tc.key) {
			t.Errorf("the error repeats the key: %v", err)
		}
		if c.Stripe.SecretKey != tc.key {
			t.Errorf("%+v", c.Stripe)
		}
	}
}

func TestLoad_StripeKeyOfUnknownModeIsRefused(t *testing.T) {
	for _, key := range []string{"sk_51abc", "rk_51abc", "sk_prod_51abc"} {
		_, err := Load(env(map[string]string{StripeSecretKey: key, StripeMode: "live"}))
		if err == nil || !strings.Contains(err.Error(), StripeSecretKey+" is malformed") || strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// jampay serve runs in test mode unless told otherwise, and refuses a live
// key then, exactly as Lambda does with STRIPE_MODE=test.
func TestStripeModeOr_DefaultsAndChecksTheKey(t *testing.T) {
	cases := []struct {
		key, mode, def, want string
		ok                   bool
	}{
		{"", "", "test", "test", true},
		{"sk_test_1", "", "test", "test", true},
		{"sk_live_1", "", "test", "", false},
		{"sk_live_1", "live", "test", "live", true},
		{"", "live", "test", "live", true},
		{"", "", "", "", true},
	}
	for _, tc := range cases {
		c, err := Load(env(map[string]string{StripeSecretKey: tc.key, StripeMode: tc.mode}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.StripeModeOr(tc.def)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("key %q, STRIPE_MODE %q, default %q: %q, %v; want %q", tc.key, tc.mode, tc.def, got, err, tc.want)
		}
		if err != nil && (!strings.Contains(err.Error(), StripeMode) || !strings.Contains(err.Error(), StripeSecretKey)) {
			t.Errorf("the error does not name both settings: %v", err)
		}
	}
}

func TestLoad_CheckoutRateLimitAndTTL(t *testing.T) {
	cases := []struct {
		limit, ttl string
		wantLimit  int
		wantSet    bool
		wantTTL    time.Duration
		bad        string
	}{
		{"", "", DefaultCheckoutRateLimit, false, DefaultCheckoutTTL, ""},
		{"0", "", 0, true, DefaultCheckoutTTL, ""},
		{"5", "90", 5, true, 90 * time.Minute, ""},
		{"", "2h", DefaultCheckoutRateLimit, false, 2 * time.Hour, ""},
		{"", "31m", DefaultCheckoutRateLimit, false, 31 * time.Minute, ""},
		{"", "24h", DefaultCheckoutRateLimit, false, 24 * time.Hour, ""},
		{"", "30m", 0, false, 0, CheckoutTTL},  // Stripe's minimum from creation: a retry would cross it
		{"", "25h", 0, false, 0, CheckoutTTL},  // past Stripe's 24 hours
		{"", "soon", 0, false, 0, CheckoutTTL}, // neither a duration nor minutes
		{"-1", "", 0, false, 0, CheckoutRateLimit},
		{"ten", "", 0, false, 0, CheckoutRateLimit},
		{"2000000", "", 0, false, 0, CheckoutRateLimit},
	}
	for _, tc := range cases {
		c, err := Load(env(map[string]string{CheckoutRateLimit: tc.limit, CheckoutTTL: tc.ttl}))
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad+" is malformed") {
				t.Errorf("limit %q, ttl %q: want an error naming %s, got %v", tc.limit, tc.ttl, tc.bad, err)
			}
			continue
		}
		if err != nil || c.CheckoutRateLimit != tc.wantLimit || c.CheckoutRateLimitSet != tc.wantSet || c.CheckoutTTL != tc.wantTTL {
			t.Errorf("limit %q, ttl %q: %d %v %s, %v", tc.limit, tc.ttl, c.CheckoutRateLimit, c.CheckoutRateLimitSet, c.CheckoutTTL, err)
		}
	}
}

func TestLoad_MailFromAndEventBusName(t *testing.T) {
	for _, good := range []map[string]string{
		{MailFrom: "shop@example.com", EventBusName: "default"},
		{MailFrom: "Jam & Co. <shop@mail.example.com>", EventBusName: "jampay-owner_events.v2"},
		{EventBusName: "arn:aws:events:eu-west-1:123456789012:event-bus/jampay"},
		{},
	} {
		c, err := Load(env(good))
		if err != nil {
			t.Errorf("%v: %v", good, err)
			continue
		}
		if c.MailFrom != good[MailFrom] || c.EventBusName != good[EventBusName] {
			t.Errorf("%v: MailFrom %q, EventBusName %q", good, c.MailFrom, c.EventBusName)
		}
	}
	for name, bad := range map[string][]string{
		MailFrom:     {"shop", "shop@localhost", "a@example.com, b@example.com", "@example.com", "Shop <shop@example.com"},
		EventBusName: {"my bus", "bus/with/slash", strings.Repeat("b", 257), "arn:aws:sns:eu-west-1:1:topic"},
	} {
		for _, v := range bad {
			_, err := Load(env(map[string]string{name: v}))
			if err == nil || !strings.Contains(err.Error(), name+" is malformed") {
				t.Errorf("%s=%q: %v", name, v, err)
			}
		}
	}
	c, _ := Load(env(nil))
	if err := c.Require(MailFrom, EventBusName); err == nil || err.Error() != "missing setting: MAIL_FROM, EVENT_BUS_NAME" {
		t.Errorf("Require: %v", err)
	}
}
