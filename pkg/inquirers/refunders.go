package inquirers

import (
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
)

// Refunders returns a refund client for every gateway with keys, for
// shop.Service.Refunders, checked as FromConfig checks them. Refunds move
// money: STRIPE_SECRET_KEY must be a key that can write refunds (a
// restricted read-only key, enough for reconcile, is refused by Stripe,
// and that error leaves the request to be asked again).
func Refunders(c config.Config, stripeMode string) (map[string]shop.Refunder, error) {
	stripeOn, razorpayOn, err := configured(c, stripeMode)
	if err != nil {
		return nil, err
	}
	out := map[string]shop.Refunder{}
	if stripeOn {
		out["stripe"] = stripegw.NewRefunder(stripegw.Config{SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase})
	}
	if razorpayOn {
		out["razorpay"] = razorpaygw.NewRefunder(razorpaygw.Config{KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret, APIBase: c.Razorpay.APIBase})
	}
	return out, nil
}
