package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/sandbox"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripehook"
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
	session := fs.String("session", "", "the order's Checkout Session (cs_…) or Razorpay order (order_…) id (default: asked from the running jampay's sandbox)")
	payment := fs.String("payment", "", "PaymentIntent (pi_…) or Razorpay payment (pay_…) id")
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
	base := strings.TrimRight(*url, "/")
	target := base + "/api/webhooks/" + gateway
	// jampay believes a session or Razorpay order event only if it names the
	// one jampay created for the order; the sandbox knows which that is.
	// A subscription's events must also name its own gateway subscription
	// once it has one: jampay moves nothing of it for another's.
	subRef := ""
	if *session == "" {
		if refs, err := sandboxReferences(ctx, client, base, *orderID); err == nil && refs.Gateway == gateway {
			*session, subRef = refs.Session, refs.Subscription
			if *payment == "" && gateway == "stripe" {
				*payment = refs.Payment
			}
		} else {
			fmt.Fprintf(stdout, "note: no %s sandbox checkout for %s at %s (%v): the event names a made-up session or Razorpay order; pass -session for jampay to apply it to the order\n", gateway, *orderID, base, err)
		}
	}
	switch gateway {
	case "stripe":
		s := firstSecret(*secret, getenv(config.StripeWebhookSecret))
		if s == "" {
			return fmt.Errorf("no secret: set %s or pass -secret", config.StripeWebhookSecret)
		}
		body, err := payloads.Stripe{Type: typ, OrderID: *orderID, SessionID: *session, PaymentIntentID: *payment,
			Amount: *amount, Currency: *currency, Refunded: *refunded,
			Subscription: payloads.Subscription{SubscriptionRef: subRef}}.Payload()
		if err != nil {
			return fmt.Errorf("%w (types: %s)", err, strings.Join(stripehook.Types(), ", "))
		}
		if err := sandbox.SendStripe(ctx, client, target, s, body, time.Now()); err != nil {
			return err
		}
	case "razorpay":
		s := firstSecret(*secret, getenv(config.RazorpayWebhookSecret))
		if s == "" {
			return fmt.Errorf("no secret: set %s or pass -secret", config.RazorpayWebhookSecret)
		}
		body, id, err := payloads.Razorpay{Type: typ, OrderID: *orderID, RazorpayOrderID: *session, PaymentID: *payment,
			Amount: *amount, Currency: *currency, Refunded: *refunded}.Payload()
		if err != nil {
			return fmt.Errorf("%w (types: %s)", err, strings.Join(razorpayhook.Types(), ", "))
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

// sandboxReferences asks a running jampay's sandbox which checkout it opened
// for the order.
func sandboxReferences(ctx context.Context, client *http.Client, base, orderID string) (sandbox.References, error) {
	var refs sandbox.References
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/sandbox/orders/"+neturl.PathEscape(orderID), nil)
	if err != nil {
		return refs, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return refs, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refs, fmt.Errorf("answered %d", resp.StatusCode)
	}
	return refs, json.NewDecoder(resp.Body).Decode(&refs)
}

func firstSecret(flagValue, env string) string {
	if flagValue != "" {
		return flagValue
	}
	s, _, _ := strings.Cut(env, ",")
	return strings.TrimSpace(s)
}
