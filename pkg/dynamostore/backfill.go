package dynamostore

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
)

// BackfillOpenQueue puts in the open queue the open orders a release
// before the queue index wrote: they carry no queue attributes until their
// next move, so reconcile would never see one nobody pays (an abandoned
// Razorpay checkout stays pending for ever). It is the one Scan of the
// store: the first reconcile run after the upgrade makes it, once (a cursor
// says it is done), never again — its cost follows the table. It reports
// how many orders it queued; a second run finds none.
//
// Each order is queued by a conditional UpdateItem on the status and
// version it was read at, so a move that came meanwhile (and queued the
// order itself, or closed it) wins. The version is left alone, as
// ClearReplay leaves it: nothing about the order changed.
//
// It is resumable: it scans from where the last call stopped (from, ""
// for the start), stops at the first page boundary past stop, and returns
// where to go on ("" once the whole table is done), so a table too large
// for one Lambda run is finished by the next ones.
func (s *Store) BackfillOpenQueue(ctx context.Context, from string, stop time.Time) (next string, queued int, err error) {
	in := &dynamodb.ScanInput{
		TableName: &s.table,
		FilterExpression: aws.String("begins_with(pk, :order) AND (#status = :pending OR #status = :processing)" +
			" AND attribute_exists(#deadline) AND attribute_not_exists(#q)"),
		ProjectionExpression:     aws.String("pk, #status, #version, #deadline"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#version": "version", "#deadline": "deadline", "#q": QueueAttr},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":order": str(orderKey("")), ":pending": str(string(order.Pending)), ":processing": str(string(order.Processing)),
		},
	}
	if from != "" {
		in.ExclusiveStartKey = key(from)
	}
	for {
		page, err := s.client.Scan(ctx, in)
		if err != nil {
			return from, queued, wrap(err)
		}
		for _, item := range page.Items {
			deadline := getTime(item, "deadline")
			if deadline.IsZero() {
				continue
			}
			_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                &s.table,
				Key:                      key(getS(item, KeyAttr)),
				UpdateExpression:         aws.String("SET #q = :q, #at = :at"),
				ConditionExpression:      aws.String("#status = :status AND #version = :version"),
				ExpressionAttributeNames: map[string]string{"#q": QueueAttr, "#at": QueueAtAttr, "#status": "status", "#version": "version"},
				ExpressionAttributeValues: map[string]ddb.AttributeValue{
					":q": str(queueOpen), ":at": num(deadline.Unix()), ":status": item["status"], ":version": item["version"],
				},
			})
			var ccf *ddb.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				continue
			}
			if err != nil {
				return from, queued, wrap(err)
			}
			queued++
		}
		if page.LastEvaluatedKey == nil {
			return "", queued, nil
		}
		from = getS(page.LastEvaluatedKey, KeyAttr)
		in.ExclusiveStartKey = page.LastEvaluatedKey
		if !time.Now().Before(stop) {
			return from, queued, nil
		}
	}
}
