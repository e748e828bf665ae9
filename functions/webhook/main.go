// Command webhook is the Lambda function behind POST /api/webhooks/{gateway}.
package main

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/ssmsecrets"
	"github.com/jampay/jampay/pkg/webhooks"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	// The webhook secrets alone: this function parses unauthenticated
	// input, so it holds no key that can move money (and the Razorpay path
	// never calls Razorpay).
	cfg, err := ssmsecrets.LoadConfig(ctx, config.StripeWebhookSecret, config.RazorpayWebhookSecret)
	lambdafn.Must(log, err)
	hooks, err := webhooks.Verifiers(cfg)
	lambdafn.Must(log, err)
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{})
	lambdafn.Must(log, err)
	lambdafn.Start(api.Handler(api.Deps{Store: store, Webhooks: hooks, Now: time.Now, Logger: log}))
}
