// Package lambdafn is what every jampay Lambda function does at cold start
// besides building its parts: a JSON logger, ending the start with a reason,
// and serving an http.Handler through the API Gateway adapter. The parts
// come from the builders every host shares (dynamostore.Open, gateways);
// functions that need secrets read their own, by name, with
// ssmsecrets.LoadConfig, and the status function, needing none, does not
// link the SSM client. A function's main is wiring over these and nothing
// else.
package lambdafn

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jampay/jampay/pkg/apigw"
)

// Logger is the functions' structured logger: JSON lines on stderr, which
// Lambda ships to CloudWatch Logs.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Start serves h to Lambda through the HTTP API adapter. It never returns.
func Start(h http.Handler) {
	lambda.Start(apigw.Handler(h))
}

// Must ends the cold start if err is set, saying why in the log: Lambda
// reports the init failure and API Gateway answers 5xx, so the gateway's
// webhook is retried once the setting is fixed.
func Must(log *slog.Logger, err error) {
	if err != nil {
		log.Error("cannot start", "err", err)
		fmt.Fprintln(os.Stderr, "jampay: cannot start:", err)
		os.Exit(1)
	}
}
