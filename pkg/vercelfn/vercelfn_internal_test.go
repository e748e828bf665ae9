package vercelfn

import (
	"context"
	"strings"
	"testing"
)

// On Vercel the AWS_* names hold Vercel's credentials, which grant
// nothing: a start without the owner's JAMPAY_AWS_* fails, naming the
// first missing one.
func TestFromEnvironment_RequiresTheOwnersAWSIdentity(t *testing.T) {
	base := map[string]string{
		"SITE_URL": "https://shop.example.com", "ALLOWED_ORIGINS": "https://shop.example.com",
		"CRON_SECRET": "cron-secret-0123456789abcdef", "TABLE_NAME": "jampay", "CATALOG_PATH": "../../site/catalog.json",
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_MODE": "test", "STRIPE_WEBHOOK_SECRET": "whsec_test_0123456789abcdef",
		"AWS_ACCESS_KEY_ID": "ASIAVERCEL", "AWS_SECRET_ACCESS_KEY": "vercel", "AWS_SESSION_TOKEN": "vercel", "AWS_REGION": "iad1",
	}
	for _, c := range []struct {
		extra map[string]string
		want  string // in the error; "" starts
	}{
		{nil, "JAMPAY_AWS_ACCESS_KEY_ID"},
		{map[string]string{"JAMPAY_AWS_ACCESS_KEY_ID": "AKIAOWNER", "JAMPAY_AWS_SECRET_ACCESS_KEY": "owner"}, "JAMPAY_AWS_REGION"},
		{map[string]string{"JAMPAY_AWS_ACCESS_KEY_ID": "AKIAOWNER", "JAMPAY_AWS_SECRET_ACCESS_KEY": "owner", "JAMPAY_AWS_REGION": "eu-west-1"}, ""},
		{map[string]string{"DYNAMODB_ENDPOINT": "http://127.0.0.1:1"}, ""},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range c.extra {
			env[k] = v
		}
		for _, k := range []string{"SITE_URL", "ALLOWED_ORIGINS", "CRON_SECRET", "TABLE_NAME", "CATALOG_PATH", "DYNAMODB_ENDPOINT",
			"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
			"JAMPAY_AWS_ACCESS_KEY_ID", "JAMPAY_AWS_SECRET_ACCESS_KEY", "JAMPAY_AWS_REGION",
			"STRIPE_SECRET_KEY", "STRIPE_MODE", "STRIPE_WEBHOOK_SECRET", "RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET"} {
			t.Setenv(k, env[k])
		}
		_, err := FromEnvironment(Logger())(context.Background())
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.extra, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "owner") {
			t.Errorf("the error shows a value: %v", err)
		}
	}
}
