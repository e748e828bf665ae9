// Command jampay is the site owner's tool: `jampay serve` runs the shop and
// the API locally with no keys, `jampay trigger` sends one signed test
// webhook to a running jampay, and orders, order, refund, subscriptions,
// subscription, cancel, reconcile and effects run the shop's table from
// the terminal.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `jampay — payments for static sites

Usage:
  jampay serve [-addr 127.0.0.1:8787] [-site site] [-catalog site/catalog.json]
  jampay trigger <stripe|razorpay> <event type> -order ID [-session ID] [-payment ID] [-amount N -currency C] [-url URL]

Running the shop (the table in AWS, or DynamoDB Local):
  jampay orders [-status S] [-gateway G] [-since 2026-11-01] [-until 2026-11-30] [-limit 50] [-json]
  jampay order ID [-json]
  jampay refund ID [-amount N] [-wait]     N in minor units (cents, paise); none: all that is left
  jampay subscriptions [-status S] [-gateway G] [-limit 50] [-json]
  jampay subscription ID [-json]
  jampay cancel ID [-now]                 the gateway ends it with its period (-now: at once);
                                          it refunds nothing (use jampay refund for an order; a
                                          subscription's payments are refunded in the gateway's dashboard)
  jampay reconcile [-dry-run]
  jampay effects [-failed] [-json]        emails and owner events waiting to go (or failed)
  jampay effects retry [ID] [-catalog site/catalog.json]
                                          send the failed ones again (one order's or subscription's, or all)

Settings come from the environment (TABLE_NAME, DYNAMODB_ENDPOINT, SITE_URL,
ALLOWED_ORIGINS, STRIPE_*, RAZORPAY_*); a gateway without keys is the sandbox.
The shop commands read them as the Lambda functions do: with
SECRETS_PARAMETER_PATH set, the API keys come from SSM Parameter Store under
it; STRIPE_MODE is required with a Stripe key. They use your AWS credentials
from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN: eval "$(aws configure export-credentials --format env)")
and AWS_REGION; with DYNAMODB_ENDPOINT they need none, and act as "local".
"jampay orders" and "jampay subscriptions" read the whole table (a Scan):
their cost follows the table.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jampay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "trigger":
		return trigger(ctx, args[1:], getenv, stdout)
	case "orders":
		return orders(ctx, args[1:], getenv, stdout, stderr)
	case "order":
		return showOrder(ctx, args[1:], getenv, stdout, stderr)
	case "refund":
		return refund(ctx, args[1:], getenv, stdout, stderr)
	case "subscriptions":
		return subscriptions(ctx, args[1:], getenv, stdout, stderr)
	case "subscription":
		return showSubscription(ctx, args[1:], getenv, stdout, stderr)
	case "cancel":
		return cancel(ctx, args[1:], getenv, stdout, stderr)
	case "reconcile":
		return reconcile(ctx, args[1:], getenv, stdout, stderr)
	case "effects":
		return effects(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// shutdownGrace is how long requests in flight get when jampay is stopped.
const shutdownGrace = 5 * time.Second
