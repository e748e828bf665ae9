package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func leaseKey(name string) string  { return "lease#" + name }
func cursorKey(name string) string { return "cursor#" + name }

// TakeLease is one conditional PutItem: the item is written only if there
// is none, its holder's time is up, or it is holder's already. The lease
// ends at until's second (epoch seconds, like every expiry in the table),
// and is held through that second: a lease never ends early. Its expiry is
// the table's TTL attribute, so a lease nobody released goes by itself.
func (s *Store) TakeLease(ctx context.Context, name, holder string, until time.Time) (bool, error) {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]ddb.AttributeValue{
			KeyAttr: str(leaseKey(name)), "holder": str(holder), TTLAttr: num(until.Unix()),
		},
		ConditionExpression: aws.String("attribute_not_exists(pk) OR expiresAt < :now OR holder = :holder"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":now": num(s.now().Unix()), ":holder": str(holder),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(err)
}

// ReleaseLease deletes the lease only if holder still has it: a run that
// outlived its lease must not free the one another run took since.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key(leaseKey(name)),
		ConditionExpression:       aws.String("holder = :holder"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":holder": str(holder)},
	})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err)
}

// Cursor reads the named cursor, strongly consistent: the last run wrote
// it a few minutes ago at most.
func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(cursorKey(name)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", wrap(err)
	}
	return getS(out.Item, "value"), nil
}

// SetCursor is a plain put: the run that writes a cursor holds the lease,
// so nobody else writes it meanwhile.
func (s *Store) SetCursor(ctx context.Context, name, value string) error {
	item := map[string]ddb.AttributeValue{KeyAttr: str(cursorKey(name))}
	if value != "" {
		item["value"] = str(value)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return wrap(err)
}
