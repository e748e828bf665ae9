// Package lambdafn is what every jampay Lambda function does at cold start:
// build the DynamoDB store and a JSON logger, and serve an http.Handler
// through the API Gateway adapter. (Functions that need secrets read their
// own, by name, with ssmsecrets.LoadConfig; the status function needs none
// and does not link the SSM client.) A function's main is wiring over this
// and nothing else.
package lambdafn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jampay/jampay/pkg/apigw"
	jconfig "github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
)

// Logger is the functions' structured logger: JSON lines on stderr, which
// Lambda ships to CloudWatch Logs.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Store builds the DynamoDB store the settings name.
func Store(ctx context.Context, c jconfig.Config) (*dynamostore.Store, error) {
	if err := c.Require(jconfig.TableName); err != nil {
		return nil, err
	}
	client, err := dynamostore.NewClient(ctx, c.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	return dynamostore.New(client, c.TableName, time.Now), nil
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
