package gateways

import (
	"cmp"
	"fmt"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/subscription"
)

// Checkouts returns a checkout adapter for every gateway with keys, as the
// checkout function serves them: with no defaults, and failing when no
// gateway is configured. shopName is shown in Razorpay's Checkout; plans
// remembers the Razorpay plans subscriptions are made on (the store).
func Checkouts(c config.Config, shopName string, plans subscription.PlanStore) (map[string]api.Gateway, error) {
	gws := map[string]api.Gateway{}
	stripe, err := StripeCheckout(c, Defaults{})
	if err != nil {
		return nil, fmt.Errorf("stripe: %w", err)
	}
	if stripe != nil {
		gws["stripe"] = stripe
	}
	razorpay, err := RazorpayCheckout(c, shopName, plans)
	if err != nil {
		return nil, fmt.Errorf("razorpay: %w", err)
	}
	if razorpay != nil {
		gws["razorpay"] = razorpay
	}
	if len(gws) == 0 {
		return nil, fmt.Errorf("missing setting: no gateway is configured (set %s, or %s and %s)", config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	}
	return gws, nil
}

// StripeCheckout returns Stripe's checkout adapter, or nil when
// STRIPE_SECRET_KEY is unset. It needs SITE_URL (the success and cancel
// pages are built from it, never from the request) and STRIPE_MODE (a key
// of the other mode refuses to start), each unless d supplies it.
func StripeCheckout(c config.Config, d Defaults) (*stripegw.Gateway, error) {
	if !c.StripeEnabled() {
		return nil, nil
	}
	var need []string // what the host does not supply, the settings must
	if d.SiteURL == "" {
		need = append(need, config.SiteURL)
	}
	if d.StripeMode == "" {
		need = append(need, config.StripeMode)
	}
	if err := c.Require(need...); err != nil {
		return nil, err
	}
	if _, err := c.StripeModeOr(d.StripeMode); err != nil {
		return nil, err
	}
	return stripegw.New(stripegw.Config{
		SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase,
		SiteURL: cmp.Or(c.SiteURL, d.SiteURL), TTL: c.CheckoutTTL,
	}), nil
}

// RazorpayCheckout returns Razorpay's checkout adapter, or nil when neither
// half of the key pair is set; half a pair is an error naming the other
// half. shopName is shown in Razorpay's Checkout; plans remembers the
// plans subscriptions are made on.
func RazorpayCheckout(c config.Config, shopName string, plans subscription.PlanStore) (*razorpaygw.Gateway, error) {
	if !c.RazorpayEnabled() {
		return nil, nil
	}
	if err := c.Require(config.RazorpayKeyID, config.RazorpayKeySecret); err != nil {
		return nil, err
	}
	return razorpaygw.New(razorpaygw.Config{
		KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret, APIBase: c.Razorpay.APIBase,
		ShopName: shopName, TTL: c.CheckoutTTL, Plans: plans,
	}), nil
}
