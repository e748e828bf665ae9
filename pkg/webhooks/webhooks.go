// Package webhooks builds each gateway's webhook verifier from the
// settings, once for every host: the webhook function, `jampay serve`, and
// the owner's CLI to come. A gateway without a webhook secret is absent
// (nil). It imports the verifiers alone, never a checkout client (those are
// gateways'), so the webhook function, which parses unauthenticated input
// and calls no gateway, links neither stripe-go's checkout/session nor
// razorpay-go.
package webhooks

import (
	"fmt"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripeverify"
)

// Defaults are what a host supplies for settings left unset. Lambda
// supplies none, so what a verifier needs must be set: a guessed
// STRIPE_MODE would ignore every live payment or let nobody try the shop.
// `jampay serve` supplies Stripe's test mode and webhook secrets made for
// the run.
type Defaults struct {
	StripeMode             string   // where STRIPE_MODE is unset
	StripeWebhookSecrets   []string // where STRIPE_WEBHOOK_SECRET is unset
	RazorpayWebhookSecrets []string // where RAZORPAY_WEBHOOK_SECRET is unset
}

// Verifiers returns a webhook verifier for every gateway with a webhook
// secret, as the webhook function serves them: with no defaults, and
// failing when no secret is configured.
func Verifiers(c config.Config) (map[string]api.WebhookParser, error) {
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
func StripeVerifier(c config.Config, d Defaults) (*stripeverify.Verifier, error) {
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
	return &stripeverify.Verifier{Secrets: secrets, Mode: mode}, nil
}

// RazorpayVerifier returns Razorpay's webhook verifier, or nil when there
// is no webhook secret. Razorpay's payloads carry no mode: provenance, not
// the verifier, keeps test events off live orders.
func RazorpayVerifier(c config.Config, d Defaults) *razorpayhook.Verifier {
	secrets := c.Razorpay.WebhookSecrets
	if len(secrets) == 0 {
		secrets = d.RazorpayWebhookSecrets
	}
	if len(secrets) == 0 {
		return nil
	}
	return &razorpayhook.Verifier{Secrets: secrets}
}
