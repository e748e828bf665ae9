// Package config reads jampay's settings from the environment by the names
// the contract fixes, the same in Lambda and locally. A malformed setting,
// or a missing one a function needs, is an error naming it: the function
// fails at start instead of taking money wrongly later.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The settings' names.
const (
	TableName             = "TABLE_NAME"
	DynamoDBEndpoint      = "DYNAMODB_ENDPOINT"
	SiteURL               = "SITE_URL"
	AllowedOrigins        = "ALLOWED_ORIGINS"
	CatalogPath           = "CATALOG_PATH"
	StripeSecretKey       = "STRIPE_SECRET_KEY"
	StripeWebhookSecret   = "STRIPE_WEBHOOK_SECRET"
	StripeAPIBase         = "STRIPE_API_BASE"
	RazorpayKeyID         = "RAZORPAY_KEY_ID"
	RazorpayKeySecret     = "RAZORPAY_KEY_SECRET"
	RazorpayWebhookSecret = "RAZORPAY_WEBHOOK_SECRET"
	RazorpayAPIBase       = "RAZORPAY_API_BASE"
	// SecretsParameterPath names the SSM Parameter Store path the Lambda
	// functions read their secrets from at cold start.
	SecretsParameterPath = "SECRETS_PARAMETER_PATH"
)

// Secrets lists the settings that are secrets: never in the template's
// plaintext, never in a log line.
var Secrets = []string{StripeSecretKey, StripeWebhookSecret, RazorpayKeySecret, RazorpayWebhookSecret}

// Config is every setting, parsed.
type Config struct {
	TableName        string
	DynamoDBEndpoint string
	SiteURL          string
	AllowedOrigins   []string
	CatalogPath      string
	Stripe           Stripe
	Razorpay         Razorpay
	raw              map[string]string
}

// Stripe is Stripe's settings.
type Stripe struct {
	SecretKey      string
	WebhookSecrets []string
	APIBase        string
}

// Razorpay is Razorpay's settings.
type Razorpay struct {
	KeyID          string
	KeySecret      string
	WebhookSecrets []string
	APIBase        string
}

// Load reads every setting through getenv (os.Getenv, or a lookup that
// layers SSM secrets over it) and checks the shape of those that are set.
func Load(getenv func(string) string) (Config, error) {
	raw := map[string]string{}
	for _, name := range []string{TableName, DynamoDBEndpoint, SiteURL, AllowedOrigins, CatalogPath,
		StripeSecretKey, StripeWebhookSecret, StripeAPIBase, RazorpayKeyID, RazorpayKeySecret,
		RazorpayWebhookSecret, RazorpayAPIBase} {
		raw[name] = strings.TrimSpace(getenv(name))
	}
	c := Config{
		TableName:        raw[TableName],
		DynamoDBEndpoint: raw[DynamoDBEndpoint],
		SiteURL:          strings.TrimRight(raw[SiteURL], "/"),
		AllowedOrigins:   list(raw[AllowedOrigins]),
		CatalogPath:      raw[CatalogPath],
		Stripe:           Stripe{raw[StripeSecretKey], list(raw[StripeWebhookSecret]), raw[StripeAPIBase]},
		Razorpay:         Razorpay{raw[RazorpayKeyID], raw[RazorpayKeySecret], list(raw[RazorpayWebhookSecret]), raw[RazorpayAPIBase]},
		raw:              raw,
	}
	var errs []error
	check := func(name string, ok bool, want string) {
		if raw[name] != "" && !ok {
			errs = append(errs, fmt.Errorf("%s is malformed: %s", name, want))
		}
	}
	check(SiteURL, isBaseURL(c.SiteURL), "want an absolute https URL such as https://shop.example.com (http only for localhost)")
	check(DynamoDBEndpoint, isBaseURL(c.DynamoDBEndpoint), "want a URL such as http://127.0.0.1:8000")
	check(StripeAPIBase, isBaseURL(c.Stripe.APIBase), "want a URL such as http://127.0.0.1:12111")
	check(RazorpayAPIBase, isBaseURL(c.Razorpay.APIBase), "want a URL such as https://api.razorpay.com")
	originsOK := true
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		originsOK = originsOK && err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == ""
	}
	check(AllowedOrigins, originsOK, "want comma-separated origins such as https://shop.example.com,https://www.example.com")
	check(StripeSecretKey, hasPrefix(c.Stripe.SecretKey, "sk_", "rk_"), "want a key starting sk_ or rk_")
	check(StripeWebhookSecret, allHavePrefix(c.Stripe.WebhookSecrets, "whsec_"), "want comma-separated secrets starting whsec_")
	check(RazorpayKeyID, hasPrefix(c.Razorpay.KeyID, "rzp_"), "want a key id starting rzp_")
	check(RazorpayWebhookSecret, len(c.Razorpay.WebhookSecrets) > 0, "want comma-separated secrets")
	return c, errors.Join(errs...)
}

// Require returns an error naming every one of names that is not set.
func (c Config) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		if c.raw[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing setting: %s", strings.Join(missing, ", "))
	}
	return nil
}

// StripeEnabled reports whether Stripe has a secret key.
func (c Config) StripeEnabled() bool { return c.Stripe.SecretKey != "" }

// RazorpayEnabled reports whether Razorpay has a key pair.
func (c Config) RazorpayEnabled() bool { return c.Razorpay.KeyID != "" || c.Razorpay.KeySecret != "" }

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func isBaseURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	return u.Scheme == "https" || (u.Scheme == "http" && (local || strings.HasPrefix(u.Hostname(), "127.")))
}

func hasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func allHavePrefix(list []string, prefix string) bool {
	for _, s := range list {
		if !strings.HasPrefix(s, prefix) {
			return false
		}
	}
	return len(list) > 0
}
