// Package notify is the notify function's handler: it reads the table's
// DynamoDB stream as Lambda delivers it, has the dispatcher
// (shop.Service.Dispatch) send what each newly owed effect of an order or
// a subscription owes, and reports the records whose dispatch failed so
// Lambda retries from there.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/jampay/jampay/pkg/shop"
)

// Dispatcher sends what the outbox of an order or a subscription owes,
// claiming each effect first (shop.Service.Dispatch).
type Dispatcher interface {
	Dispatch(ctx context.Context, id, holder string) (shop.DispatchReport, error)
}

// AccessLinks owes a subscriber the access links they asked for
// (shop.Service.OweAccessLinks).
type AccessLinks interface {
	OweAccessLinks(ctx context.Context, emailKey string) (shop.AccessLinkResult, error)
}

// Handler handles one batch of stream records.
type Handler struct {
	Dispatcher Dispatcher
	// Access, when set, turns requests for access links into the links
	// owed; their mails then go out from the subscriptions' own records.
	Access AccessLinks
	// Now judges whether a claim seen in a record has passed.
	Now func() time.Time
	Log *slog.Logger
}

// Handle dispatches each order or subscription whose records in the batch
// owe something new, once per item however many of its records the batch
// holds. A
// record owes something new when its write added an effect to send (see
// owesNew); the claim and mark writes Dispatch itself makes do not, so
// they cost a filtered invocation at most, never a dispatch loop.
//
// A failed dispatch is reported as a failure of every record of that
// order that owed something, and Lambda (ReportBatchItemFailures) resumes
// the shard from the lowest: the records after it are delivered again,
// which is harmless, since Dispatch sends nothing already claimed or
// sent. The error return is left for what is not one record's failure;
// none here.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	holder := Holder(ctx)
	now := h.Now()
	var orders []string
	owing := map[string][]string{} // order or subscription id -> sequence numbers of the records that owe
	var resp events.DynamoDBEventResponse
	for _, r := range ev.Records {
		if key, ok := AccessRequest(r); ok && h.Access != nil {
			res, err := h.Access.OweAccessLinks(ctx, key)
			if err == nil {
				err = res.Err
			}
			if err != nil {
				h.log().Error("notify: access links not owed", "err", err.Error(), "owed", res.Links)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				continue
			}
			h.log().Info("notify: access links owed", "owed", res.Links, "held", res.Held)
			continue
		}
		id, ok := OwesNew(r, now)
		if !ok {
			continue
		}
		if owing[id] == nil {
			orders = append(orders, id)
		}
		owing[id] = append(owing[id], r.Change.SequenceNumber)
	}
	for _, id := range orders {
		// Out of time: what is left is reported failed, so Lambda hands
		// it over again rather than counting it done.
		err := ctx.Err()
		var rep shop.DispatchReport
		if err == nil {
			rep, err = h.Dispatcher.Dispatch(ctx, id, holder)
		}
		if err != nil {
			h.log().Error("notify: dispatch failed", "id", id, "err", err.Error(), "sent", rep.Sent)
			for _, seq := range owing[id] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
			}
			continue
		}
		h.log().Info("notify: dispatched", "id", id, "sent", rep.Sent, "skipped", rep.Skipped,
			"failed", rep.Failed, "held", rep.Held)
	}
	return resp, nil
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// Holder names this invocation in the outbox's claims, for the owner's
// look (jampay effects).
func Holder(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return "lambda:" + lc.AwsRequestID
	}
	return fmt.Sprintf("notify:%d", time.Now().UnixNano())
}
