// Command webhook is the Lambda function behind POST /api/webhooks/{gateway}.
package main

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/gateways"
	"github.com/jampay/jampay/pkg/lambdafn"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	cfg, err := lambdafn.LoadConfig(ctx, true)
	lambdafn.Must(log, err)
	hooks, err := gateways.Webhooks(cfg)
	lambdafn.Must(log, err)
	store, err := lambdafn.Store(ctx, cfg)
	lambdafn.Must(log, err)
	lambdafn.Start(api.Handler(api.Deps{Store: store, Webhooks: hooks, Now: time.Now, Logger: log}))
}
