package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/gatewayevents"
	"github.com/jampay/jampay/pkg/sandbox"
)

// trigger sends one signed test event, like `stripe trigger`, to a running
// jampay: the payload in the gateway's wire format, signed with the
// webhook secret from the environment (or -secret).
func trigger(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	orderID := fs.String("order", "", "our order id (ord_…)")
	amount := fs.Int64("amount", 0, "amount in minor units, for payment and refund events")
	currency := fs.String("currency", "", "ISO currency (default usd for Stripe, INR for Razorpay)")
	refunded := fs.Int64("refunded", 0, "cumulative amount refunded, for refund events")
	url := fs.String("url", "http://127.0.0.1:8787", "base URL of the running jampay")
	secret := fs.String("secret", "", "webhook secret (default $STRIPE_WEBHOOK_SECRET or $RAZORPAY_WEBHOOK_SECRET, the first if several)")
	// Flags may come before, between or after the two positional arguments.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 2 {
		return fmt.Errorf("usage: jampay trigger <stripe|razorpay> <event type> -order ID")
	}
	gateway, typ := pos[0], pos[1]
	if *orderID == "" {
		return fmt.Errorf("-order is required")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	target := strings.TrimRight(*url, "/") + "/api/webhooks/" + gateway
	switch gateway {
	case "stripe":
		s := firstSecret(*secret, getenv(config.StripeWebhookSecret))
		if s == "" {
			return fmt.Errorf("no secret: set %s or pass -secret", config.StripeWebhookSecret)
		}
		body, err := gatewayevents.Stripe{Type: typ, OrderID: *orderID, Amount: *amount, Currency: *currency, Refunded: *refunded}.Payload()
		if err != nil {
			return fmt.Errorf("%w (types: %s)", err, strings.Join(gatewayevents.StripeTypes(), ", "))
		}
		if err := sandbox.SendStripe(ctx, client, target, s, body, time.Now()); err != nil {
			return err
		}
	case "razorpay":
		s := firstSecret(*secret, getenv(config.RazorpayWebhookSecret))
		if s == "" {
			return fmt.Errorf("no secret: set %s or pass -secret", config.RazorpayWebhookSecret)
		}
		body, id, err := gatewayevents.Razorpay{Type: typ, OrderID: *orderID, Amount: *amount, Currency: *currency, Refunded: *refunded}.Payload()
		if err != nil {
			return fmt.Errorf("%w (types: %s)", err, strings.Join(gatewayevents.RazorpayTypes(), ", "))
		}
		if err := sandbox.SendRazorpay(ctx, client, target, s, id, body); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown gateway %q: stripe or razorpay", gateway)
	}
	fmt.Fprintf(stdout, "sent %s %s for %s to %s: 200\n", gateway, typ, *orderID, target)
	return nil
}

func firstSecret(flagValue, env string) string {
	if flagValue != "" {
		return flagValue
	}
	s, _, _ := strings.Cut(env, ",")
	return strings.TrimSpace(s)
}
