// Package gateways builds the configured gateway adapters for the checkout
// and webhook functions from the settings; a gateway without settings is
// simply absent (unknown_gateway). The local sandbox is not here: it is
// linked only into the jampay CLI, never into a Lambda function.
package gateways

import (
	"fmt"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/stripegw"
)

// Checkouts returns a checkout adapter for every gateway with keys. shopName
// is shown in Razorpay's Checkout.
func Checkouts(c config.Config, shopName string) (map[string]api.Gateway, error) {
	gws := map[string]api.Gateway{}
	if c.StripeEnabled() {
		if err := c.Require(config.SiteURL, config.StripeMode); err != nil {
			return nil, fmt.Errorf("stripe: %w", err)
		}
		gws["stripe"] = stripegw.New(stripegw.Config{SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase, SiteURL: c.SiteURL, TTL: c.CheckoutTTL})
	}
	if c.RazorpayEnabled() {
		if err := c.Require(config.RazorpayKeyID, config.RazorpayKeySecret); err != nil {
			return nil, fmt.Errorf("razorpay: %w", err)
		}
		gws["razorpay"] = razorpaygw.New(razorpaygw.Config{KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret, APIBase: c.Razorpay.APIBase, ShopName: shopName, TTL: c.CheckoutTTL})
	}
	if len(gws) == 0 {
		return nil, fmt.Errorf("missing setting: no gateway is configured (set %s, or %s and %s)", config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	}
	return gws, nil
}

// Webhooks returns a webhook verifier for every gateway with a webhook
// secret. Stripe's needs STRIPE_MODE: an endpoint's secret does not say
// which mode it is for, and both modes' secrets may be listed.
func Webhooks(c config.Config) (map[string]api.WebhookParser, error) {
	ws := map[string]api.WebhookParser{}
	if len(c.Stripe.WebhookSecrets) > 0 {
		if err := c.Require(config.StripeMode); err != nil {
			return nil, fmt.Errorf("stripe: %w", err)
		}
		ws["stripe"] = &stripegw.Verifier{Secrets: c.Stripe.WebhookSecrets, Mode: c.Stripe.Mode}
	}
	if len(c.Razorpay.WebhookSecrets) > 0 {
		ws["razorpay"] = &razorpaygw.Verifier{Secrets: c.Razorpay.WebhookSecrets}
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("missing setting: no webhook secret is configured (set %s or %s)", config.StripeWebhookSecret, config.RazorpayWebhookSecret)
	}
	return ws, nil
}
