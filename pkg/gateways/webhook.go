package gateways

import (
	"fmt"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/stripegw"
)

// Webhooks returns a webhook verifier for every gateway with a webhook
// secret, as the webhook function serves them: with no defaults, and
// failing when no secret is configured.
func Webhooks(c config.Config) (map[string]api.WebhookParser, error) {
	ws := map[string]api.WebhookParser{}
	stripe, err := StripeVerifier(c, Defaults{})
	if err != nil {
		return nil, fmt.Errorf("stripe: %w", err)
	}
	if stripe != nil {
		ws["stripe"] = stripe
	}
	if razorpay := RazorpayVerifier(c, Defaults{}); razorpay != nil {
		ws["razorpay"] = razorpay
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("missing setting: no webhook secret is configured (set %s or %s)", config.StripeWebhookSecret, config.RazorpayWebhookSecret)
	}
	return ws, nil
}

// StripeVerifier returns Stripe's webhook verifier, or nil when there is no
// webhook secret. It needs STRIPE_MODE unless d supplies it: an endpoint's
// secret does not say which mode it is for, and both modes' secrets may be
// listed, so the verifier ignores events of the other mode.
func StripeVerifier(c config.Config, d Defaults) (*stripegw.Verifier, error) {
	secrets := c.Stripe.WebhookSecrets
	if len(secrets) == 0 {
		secrets = d.StripeWebhookSecrets
	}
	if len(secrets) == 0 {
		return nil, nil
	}
	if d.StripeMode == "" {
		if err := c.Require(config.StripeMode); err != nil {
			return nil, err
		}
	}
	mode, err := c.StripeModeOr(d.StripeMode)
	if err != nil {
		return nil, err
	}
	return &stripegw.Verifier{Secrets: secrets, Mode: mode}, nil
}

// RazorpayVerifier returns Razorpay's webhook verifier, or nil when there
// is no webhook secret. Razorpay's payloads carry no mode: provenance, not
// the verifier, keeps test events off live orders.
func RazorpayVerifier(c config.Config, d Defaults) *razorpaygw.Verifier {
	secrets := c.Razorpay.WebhookSecrets
	if len(secrets) == 0 {
		secrets = d.RazorpayWebhookSecrets
	}
	if len(secrets) == 0 {
		return nil
	}
	return &razorpaygw.Verifier{Secrets: secrets}
}
