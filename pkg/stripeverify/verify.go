// Package stripeverify verifies Stripe webhooks over the exact raw bytes
// with stripe-go's own webhook package, then decodes them with stripehook.
// Of stripe-go it imports the webhook package alone, no resource client
// such as checkout/session: the webhook function parses unauthenticated
// input and calls no gateway; the checkout function links no verifier.
package stripeverify

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
)

// Verifier checks Stripe-Signature headers and decodes Stripe events.
type Verifier struct {
	// Secrets are the endpoint's signing secrets (whsec_…). During a
	// rotation both the old and the new one are listed.
	Secrets []string
	// Tolerance is how old a signature's timestamp may be; zero is
	// stripe-go's default of five minutes.
	Tolerance time.Duration
	// Mode is STRIPE_MODE: "live" takes only livemode events, anything
	// else only test-mode ones. An event of the other mode is ignored, so
	// a test card cannot pay a live order when both endpoints' secrets
	// are listed.
	Mode string
}

// ParseWebhook verifies body against its Stripe-Signature with each secret
// in turn, using stripe-go's ValidatePayload, and turns it into an event.
func (v *Verifier) ParseWebhook(ctx context.Context, header http.Header, body []byte) (order.Event, error) {
	sig := header.Get("Stripe-Signature")
	tolerance := v.Tolerance
	if tolerance == 0 {
		tolerance = webhook.DefaultTolerance
	}
	err := webhook.ErrNoValidSignature
	for _, secret := range v.Secrets {
		if secret == "" || secret == "whsec_" {
			// An empty key is a key anyone has: it verifies nothing.
			continue
		}
		if err = webhook.ValidatePayloadWithTolerance(body, sig, secret, tolerance); err == nil {
			break
		}
		if errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) || errors.Is(err, webhook.ErrTooOld) {
			break // the same for every secret
		}
	}
	switch {
	case err == nil:
		e, live, err := stripehook.DecodeLive(body)
		if err == nil && live != (v.Mode == "live") {
			// Invariant 9: with both endpoints' secrets listed, a test
			// card must not pay a live order, nor a live one a test order.
			e.Ignore = "the event's livemode is " + strconv.FormatBool(live) + " and STRIPE_MODE is " + cmp.Or(v.Mode, "test")
		}
		return e, err
	case errors.Is(err, webhook.ErrNotSigned):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature header is missing.")
	case errors.Is(err, webhook.ErrTooOld):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature timestamp is outside the tolerance of %s.", tolerance)
	case errors.Is(err, webhook.ErrInvalidHeader):
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "The Stripe-Signature header is malformed.")
	default:
		return order.Event{}, order.Errorf(order.CodeInvalidSignature, "No signature in Stripe-Signature matches the payload.")
	}
}
