package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/subscription"
)

var _ subscription.SubscriberIndex = (*Store)(nil)

// emailIndexKey is the item listing a subscriber's subscriptions: keyed by
// subscription.EmailKey (a hash), so no key holds an address.
func emailIndexKey(emailKey string) string { return "email#" + emailKey }

// IndexEmail adds id to the email's string set with one UpdateItem: ADD
// to a set is idempotent and needs no read.
func (s *Store) IndexEmail(ctx context.Context, emailKey, id string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(emailIndexKey(emailKey)),
		UpdateExpression:          aws.String("ADD ids :id"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":id": &ddb.AttributeValueMemberSS{Value: []string{id}}},
	})
	return wrap(err)
}

// ByEmail reads the email's set. DynamoDB keeps no order in a set: the
// ids come sorted, which for random ids is no particular order.
func (s *Store) ByEmail(ctx context.Context, emailKey string) ([]string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(emailIndexKey(emailKey)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err)
	}
	return getSS(out.Item, "ids"), nil
}
