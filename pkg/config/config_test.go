package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad_Good(t *testing.T) {
	c, err := Load(env(map[string]string{
		TableName: "jampay", SiteURL: "https://shop.example.com/", AllowedOrigins: "https://shop.example.com, https://www.example.com",
		StripeSecretKey: "sk_test_1", StripeWebhookSecret: "whsec_old,whsec_new", RazorpayKeyID: "rzp_test_1", RazorpayKeySecret: "s",
		RazorpayWebhookSecret: "a,b",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SiteURL != "https://shop.example.com" || len(c.AllowedOrigins) != 2 || len(c.Stripe.WebhookSecrets) != 2 ||
		c.Stripe.WebhookSecrets[1] != "whsec_new" || len(c.Razorpay.WebhookSecrets) != 2 || !c.StripeEnabled() || !c.RazorpayEnabled() {
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
		StripeWebhookSecret: "whsec_ok,not-a-secret",
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
