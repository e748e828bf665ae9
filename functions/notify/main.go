// Command notify is the Lambda function on the table's DynamoDB stream: it
// sends what orders owe people — the customer's email (SES, from
// MAIL_FROM) and the owner's event (EventBridge, on EVENT_BUS_NAME) —
// through shop.Service.Dispatch, once per change. It needs no secret and
// links no gateway SDK.
package main

import (
	"cmp"
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/lambdafn"
	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
)

func main() {
	ctx, log := context.Background(), lambdafn.Logger()
	cfg, err := config.Load(os.Getenv)
	lambdafn.Must(log, err)
	// The shop's name in the mails comes from the catalog shipped beside
	// the bootstrap binary, as for checkout.
	cat, err := catalog.Load(cmp.Or(cfg.CatalogPath, "catalog.json"))
	lambdafn.Must(log, err)
	store, err := dynamostore.Open(ctx, cfg, dynamostore.OpenOptions{})
	lambdafn.Must(log, err)
	svc := shop.Service{Store: store}
	lambdafn.Must(log, senders.Set(ctx, &svc, cfg, cat.ShopName))
	dispatcher := shop.New(svc)
	h := &notify.Handler{Dispatcher: dispatcher, Access: dispatcher, Now: time.Now, Log: log}
	lambda.Start(h.Handle)
}
