// Command reconcile is the scheduled Lambda function that asks the gateways
// what their webhooks missed and applies what they say (pkg/shop's
// Reconcile), one run at a time by the reconcile lease.
package main

import (
	"cmp"
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/ssmsecrets"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	// The API keys (it expires Stripe sessions, reads both gateways'
	// payments); no webhook secret.
	cfg, err := ssmsecrets.LoadConfig(ctx, config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	lambdafn.Must(log, err)
	inqs, err := inquirers.FromConfig(cfg, "")
	lambdafn.Must(log, err)
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{})
	lambdafn.Must(log, err)
	// It sends the effects owed too long (the notify function sends the
	// rest): the shop's name in the mails is the catalog's, shipped beside
	// the bootstrap binary.
	cat, err := catalog.Load(cmp.Or(cfg.CatalogPath, "catalog.json"))
	lambdafn.Must(log, err)
	s := shop.Service{Store: store, Inquirers: inqs}
	lambdafn.Must(log, senders.Set(ctx, &s, cfg, cat.ShopName))
	svc := shop.New(s)
	lambda.Start(func(ctx context.Context) error {
		return lambdafn.Reconcile(ctx, svc, log, lambdaHolder(ctx))
	})
}

// lambdaHolder names this invocation in the lease.
func lambdaHolder(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return "lambda:" + lc.AwsRequestID
	}
	return "lambda:" + time.Now().UTC().Format(time.RFC3339Nano)
}
