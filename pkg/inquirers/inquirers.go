// Package inquirers builds, from the settings, each gateway's client that
// asks its API what the webhooks missed (for reconcile, the scheduled
// function and the owner's CLI alike). It is apart from pkg/gateways so the
// checkout function links no webhook decoder.
package inquirers

import (
	"fmt"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpayinquiry"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripegw/stripeinquiry"
)

// FromConfig returns an inquirer for every gateway with keys. stripeMode is
// STRIPE_MODE, or the host's default where it is unset ("" for none): a
// key of the other mode is refused, as everywhere.
func FromConfig(c config.Config, stripeMode string) (map[string]shop.Inquirer, error) {
	out := map[string]shop.Inquirer{}
	if c.StripeEnabled() {
		if stripeMode == "" {
			if err := c.Require(config.StripeMode); err != nil {
				return nil, fmt.Errorf("stripe: %w", err)
			}
		}
		if _, err := c.StripeModeOr(stripeMode); err != nil {
			return nil, fmt.Errorf("stripe: %w", err)
		}
		out["stripe"] = stripeinquiry.New(stripegw.Config{SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase})
	}
	if c.RazorpayEnabled() {
		if err := c.Require(config.RazorpayKeyID, config.RazorpayKeySecret); err != nil {
			return nil, fmt.Errorf("razorpay: %w", err)
		}
		out["razorpay"] = razorpayinquiry.New(razorpaygw.Config{KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret, APIBase: c.Razorpay.APIBase})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("missing setting: no gateway is configured (set %s, or %s and %s)", config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	}
	return out, nil
}
