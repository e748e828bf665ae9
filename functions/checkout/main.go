// Command checkout is the Lambda function behind POST /api/checkout.
package main

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/gateways"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/ssmsecrets"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	// The keys that open checkouts and nothing else: no webhook secret.
	cfg, err := ssmsecrets.LoadConfig(ctx, config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	lambdafn.Must(log, err)
	lambdafn.Must(log, cfg.Require(config.TableName, config.SiteURL, config.AllowedOrigins))
	cat, err := catalog.Load(cmp.Or(cfg.CatalogPath, "catalog.json")) // shipped beside the bootstrap binary
	lambdafn.Must(log, err)
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{})
	lambdafn.Must(log, err)
	gws, err := gateways.Checkouts(cfg, cat.ShopName, store)
	lambdafn.Must(log, err)
	// A subscription product a configured gateway cannot sell stops the
	// function at start, naming the product and the gateway.
	lambdafn.Must(log, cat.CheckGateways(slices.Sorted(maps.Keys(gws))))
	lambdafn.Start(api.Handler(api.Deps{
		Store: store, Catalog: cat, Gateways: gws, CheckoutRateLimit: cfg.CheckoutRateLimit,
		AllowedOrigins: cfg.AllowedOrigins, Now: time.Now, Logger: log,
		// This function holds the gateway keys: it serves a subscriber's
		// cancel and billing portal too.
		SubscriptionActions: true, AccountURL: cfg.AccountURL(),
	}))
}
