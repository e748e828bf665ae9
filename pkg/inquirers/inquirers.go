// Package inquirers builds, from the settings, each gateway's client that
// asks its API what the webhooks missed (for reconcile, the scheduled
// function and the owner's CLI alike), and each one's refund client (for
// the owner's CLI and jampay serve). It is apart from pkg/gateways so the
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
	stripeOn, razorpayOn, err := configured(c, stripeMode)
	if err != nil {
		return nil, err
	}
	out := map[string]shop.Inquirer{}
	if stripeOn {
		out["stripe"] = stripeinquiry.New(stripegw.Config{SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase})
	}
	if razorpayOn {
		out["razorpay"] = razorpayinquiry.New(razorpaygw.Config{KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret, APIBase: c.Razorpay.APIBase})
	}
	return out, nil
}

// configured says which gateways have keys, checked as FromConfig's doc
// says: at least one, whole key pairs, and a Stripe key of the right mode.
func configured(c config.Config, stripeMode string) (stripeOn, razorpayOn bool, err error) {
	if c.StripeEnabled() {
		if stripeMode == "" {
			if err := c.Require(config.StripeMode); err != nil {
				return false, false, fmt.Errorf("stripe: %w", err)
			}
		}
		if _, err := c.StripeModeOr(stripeMode); err != nil {
			return false, false, fmt.Errorf("stripe: %w", err)
		}
		stripeOn = true
	}
	if c.RazorpayEnabled() {
		if err := c.Require(config.RazorpayKeyID, config.RazorpayKeySecret); err != nil {
			return false, false, fmt.Errorf("razorpay: %w", err)
		}
		razorpayOn = true
	}
	if !stripeOn && !razorpayOn {
		return false, false, fmt.Errorf("missing setting: no gateway is configured (set %s, or %s and %s)", config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	}
	return stripeOn, razorpayOn, nil
}
