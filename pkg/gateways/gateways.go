// Package gateways builds each gateway's checkout adapter from the
// settings, once for every host: the checkout function, `jampay serve`,
// and the owner's CLI to come. A gateway without keys is absent (nil), and
// the host decides what stands in for it: nothing in Lambda
// (unknown_gateway), the sandbox locally. The sandbox is not here, so no
// Lambda function links it; nor are the webhook verifiers (package
// webhooks), so the webhook function links no checkout client.
package gateways

// Defaults are what a host supplies for settings left unset. Lambda
// supplies none, so what a gateway needs must be set: a guessed
// STRIPE_MODE would ignore every live payment or let nobody try the shop.
// `jampay serve` supplies its own origin and Stripe's test mode.
type Defaults struct {
	SiteURL    string // where SITE_URL is unset
	StripeMode string // where STRIPE_MODE is unset
}
