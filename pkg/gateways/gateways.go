// Package gateways builds each gateway's checkout adapter and webhook
// verifier from the settings, once for every host: the Lambda functions,
// `jampay serve`, and the owner's CLI to come. A gateway without settings
// is absent (nil), and the host decides what stands in for it: nothing in
// Lambda (unknown_gateway), the sandbox locally. The sandbox is not here,
// so no Lambda function links it. Checkout and webhook builders sit in
// files of their own, as the webhook function must one day link only the
// latter.
package gateways

// Defaults are what a host supplies for settings left unset. Lambda
// supplies none, so what a gateway needs must be set: a guessed
// STRIPE_MODE would ignore every live payment or let nobody try the shop.
// `jampay serve` supplies its own origin, Stripe's test mode and webhook
// secrets made for the run.
type Defaults struct {
	SiteURL                string   // where SITE_URL is unset
	StripeMode             string   // where STRIPE_MODE is unset
	StripeWebhookSecrets   []string // where STRIPE_WEBHOOK_SECRET is unset
	RazorpayWebhookSecrets []string // where RAZORPAY_WEBHOOK_SECRET is unset
}
