// Command reconcile is jampay's scheduled reconcile as a Netlify scheduled
// function (netlify.toml's [functions.reconcile] schedule). Wiring only:
// pkg/hosted builds the App, pkg/netlifyfn.Scheduled refuses what is not
// Netlify's scheduler or an owner with JAMPAY_RECONCILE_SECRET.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/netlifyfn"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	app, err := hosted.FromEnvironment(ctx, hosted.Netlify, log)
	lambdafn.Must(log, err)
	handler, err := netlifyfn.Scheduled(app, os.Getenv, log)
	lambdafn.Must(log, err)
	lambda.Start(handler)
}
