// Command api is jampay's whole API as one Netlify Go function; netlify.toml
// rewrites /api/* to it. Netlify builds it from this directory with the
// repository's go.mod. Wiring only: pkg/hosted builds the App from the
// site's settings, pkg/netlifyfn adapts Netlify's events to it.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jampay/jampay/pkg/hosted"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/netlifyfn"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	// The catalog is the one `make hosted-catalog` embedded (Netlify ships
	// the binary alone), else CATALOG_PATH.
	app, err := hosted.FromEnvironment(ctx, hosted.Netlify, log)
	lambdafn.Must(log, err)
	lambda.Start(netlifyfn.Handler(app))
}
