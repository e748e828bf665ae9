// Command status is the Lambda function behind GET /api/orders/{orderId}.
// It needs no secret and links no gateway SDK.
package main

import (
	"context"
	"os"
	"time"

	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/lambdafn"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	cfg, err := config.Load(os.Getenv)
	lambdafn.Must(log, err)
	lambdafn.Must(log, cfg.Require(config.TableName, config.AllowedOrigins))
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{})
	lambdafn.Must(log, err)
	lambdafn.Start(api.Handler(api.Deps{Store: store, AllowedOrigins: cfg.AllowedOrigins, Now: time.Now, Logger: log}))
}
