// Package config reads jampay's settings from the environment by the names
// the contract fixes, the same in Lambda and locally. A malformed setting,
// or a missing one a function needs, is an error naming it: the function
// fails at start instead of taking money wrongly later.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// StripeMode is "test" or "live": Stripe events of the other mode are
	// ignored, and a Stripe key of the other mode refuses to start.
	StripeMode = "STRIPE_MODE"
	// CheckoutRateLimit is checkouts per client IP per RateWindow; 0 is off.
	CheckoutRateLimit = "CHECKOUT_RATE_LIMIT"
	// CheckoutTTL is how long a checkout may be paid (a Go duration or
	// whole minutes).
	CheckoutTTL = "CHECKOUT_TTL"
	// SecretsParameterPath names the SSM Parameter Store path the Lambda
	// functions read their secrets from at cold start.
	SecretsParameterPath = "SECRETS_PARAMETER_PATH"
	// MailFrom is the verified SES identity customer emails come from;
	// unset, no email is sent (email effects are recorded as skipped).
	MailFrom = "MAIL_FROM"
	// EventBusName is the EventBridge bus owner events go to; unset, none
	// are sent.
	EventBusName = "EVENT_BUS_NAME"
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
	// CheckoutRateLimit is checkouts per client IP per RateWindow; 0 turns
	// it off. Unset, it is DefaultCheckoutRateLimit (jampay serve leaves it
	// off unless set: see CheckoutRateLimitSet).
	CheckoutRateLimit int
	// CheckoutRateLimitSet reports whether CHECKOUT_RATE_LIMIT was set.
	CheckoutRateLimitSet bool
	// CheckoutTTL is how long a checkout may be paid: DefaultCheckoutTTL
	// unless set.
	CheckoutTTL time.Duration
	// MailFrom is MAIL_FROM: an address, maybe with a display name
	// ("Jam & Co. <shop@example.com>").
	MailFrom string
	// EventBusName is EVENT_BUS_NAME: a bus name or ARN.
	EventBusName string
	raw          map[string]string
}

// Defaults of the contract.
const (
	DefaultCheckoutRateLimit = 30
	DefaultCheckoutTTL       = 60 * time.Minute
	// RateWindow is the window CHECKOUT_RATE_LIMIT counts in.
	RateWindow = 10 * time.Minute
	// MinWebhookSecretLen is the fewest characters a webhook secret may
	// have (after Stripe's whsec_ prefix).
	MinWebhookSecretLen = 16
)

// Stripe is Stripe's settings.
type Stripe struct {
	SecretKey      string
	WebhookSecrets []string
	APIBase        string
	// Mode is "test" or "live" (STRIPE_MODE); "" when unset.
	Mode string
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
		RazorpayWebhookSecret, RazorpayAPIBase, StripeMode, CheckoutRateLimit, CheckoutTTL, MailFrom, EventBusName} {
		raw[name] = strings.TrimSpace(getenv(name))
	}
	c := Config{
		TableName:        raw[TableName],
		DynamoDBEndpoint: raw[DynamoDBEndpoint],
		SiteURL:          strings.TrimRight(raw[SiteURL], "/"),
		AllowedOrigins:   list(raw[AllowedOrigins]),
		CatalogPath:      raw[CatalogPath],
		Stripe:           Stripe{raw[StripeSecretKey], list(raw[StripeWebhookSecret]), raw[StripeAPIBase], raw[StripeMode]},
		Razorpay:         Razorpay{raw[RazorpayKeyID], raw[RazorpayKeySecret], list(raw[RazorpayWebhookSecret]), raw[RazorpayAPIBase]},
		MailFrom:         raw[MailFrom],
		EventBusName:     raw[EventBusName],
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
	check(StripeSecretKey, keyMode(c.Stripe.SecretKey) != "", "want a key starting sk_test_, sk_live_, rk_test_ or rk_live_")
	check(StripeWebhookSecret, allLongEnough(c.Stripe.WebhookSecrets, "whsec_"),
		fmt.Sprintf("want comma-separated secrets starting whsec_, each with at least %d characters after it", MinWebhookSecretLen))
	check(RazorpayKeyID, hasPrefix(c.Razorpay.KeyID, "rzp_"), "want a key id starting rzp_")
	check(RazorpayWebhookSecret, allLongEnough(c.Razorpay.WebhookSecrets, ""),
		fmt.Sprintf("want comma-separated secrets of at least %d characters each", MinWebhookSecretLen))
	check(StripeMode, c.Stripe.Mode == "test" || c.Stripe.Mode == "live", "want test or live")
	if c.Stripe.Mode == "test" || c.Stripe.Mode == "live" {
		if _, err := c.StripeModeOr(""); err != nil {
			errs = append(errs, err)
		}
	}
	check(MailFrom, isMailFrom(c.MailFrom), "want an email address such as shop@example.com or Jam Shop <shop@example.com>, an identity verified in SES")
	check(EventBusName, isEventBus(c.EventBusName), "want an EventBridge bus name (letters, digits, '.', '-', '_') or its ARN")
	c.CheckoutRateLimit, c.CheckoutRateLimitSet = DefaultCheckoutRateLimit, raw[CheckoutRateLimit] != ""
	if c.CheckoutRateLimitSet {
		n, err := strconv.Atoi(raw[CheckoutRateLimit])
		check(CheckoutRateLimit, err == nil && n >= 0 && n <= 1_000_000, "want a whole number of checkouts per client IP per 10 minutes, 0 for no limit")
		c.CheckoutRateLimit = n
	}
	c.CheckoutTTL = DefaultCheckoutTTL
	if v := raw[CheckoutTTL]; v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Minute, nil
		}
		check(CheckoutTTL, err == nil && d >= 31*time.Minute && d <= 24*time.Hour, "want a duration from 31m to 24h, such as 60m (Stripe accepts 30 minutes to 24 hours)")
		c.CheckoutTTL = d
	}
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

// AccountURL is the site's account page, SITE_URL/account.html: where a
// subscriber manages a subscription, and where the billing portal and the
// access-link emails return to.
func (c Config) AccountURL() string { return c.SiteURL + "/account.html" }

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

// StripeModeOr returns STRIPE_MODE, or def where it is unset (jampay serve
// runs in "test"; Lambda requires the setting), and an error naming
// STRIPE_MODE and STRIPE_SECRET_KEY when the secret key belongs to the
// other mode: a live key behind a test endpoint would take real money on
// orders whose events are then ignored, and a test key behind a live one
// would sell nothing.
func (c Config) StripeModeOr(def string) (string, error) {
	mode := c.Stripe.Mode
	if mode == "" {
		mode = def
	}
	if km := keyMode(c.Stripe.SecretKey); mode != "" && km != "" && km != mode {
		return "", fmt.Errorf("%s is %s but %s is a %s-mode key: set %s=%s, or use a %s-mode key", StripeMode, mode, StripeSecretKey, km, StripeMode, km, mode)
	}
	return mode, nil
}

// keyMode returns the mode a Stripe secret or restricted key was made in,
// "" for anything else.
func keyMode(key string) string {
	for _, mode := range []string{"test", "live"} {
		if hasPrefix(key, "sk_"+mode+"_", "rk_"+mode+"_") {
			return mode
		}
	}
	return ""
}

func hasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// allLongEnough reports whether every secret starts with prefix and has at
// least MinWebhookSecretLen characters after it. An HMAC key anyone can
// guess (Stripe's "whsec_" alone, a Razorpay secret like "secret") lets
// anyone sign events.
func allLongEnough(list []string, prefix string) bool {
	for _, s := range list {
		rest, ok := strings.CutPrefix(s, prefix)
		if !ok || utf8.RuneCountInString(rest) < MinWebhookSecretLen {
			return false
		}
	}
	return len(list) > 0
}

// isMailFrom reports whether s is one address (with an optional display
// name) whose domain has a dot: what SES can send from once verified.
func isMailFrom(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return false
	}
	_, domain, ok := strings.Cut(a.Address, "@")
	return ok && strings.Contains(strings.Trim(domain, "."), ".") && !strings.ContainsAny(s, "\r\n")
}

// isEventBus reports whether s is an EventBridge bus name (up to 256 of
// letters, digits, '.', '-', '_'; AWS's pattern) or a bus ARN.
func isEventBus(s string) bool {
	if strings.HasPrefix(s, "arn:") {
		return strings.Contains(s, ":events:") && strings.Contains(s, ":event-bus/") && !strings.ContainsAny(s, " \t\r\n")
	}
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
