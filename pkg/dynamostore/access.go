package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var (
	_ subscription.SubscriberIndex = (*Store)(nil)
	_ shop.AccessRequests          = (*Store)(nil)
)

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

// accessRequestKey is the item a request for access links writes: keyed
// by the address's hash, so no key holds an address.
func accessRequestKey(emailKey string) string { return "accessreq#" + emailKey }

// AccessRequestPrefix starts the keys of access-link requests, whose
// stream records the notify function turns into the links owed.
const AccessRequestPrefix = "accessreq#"

// RequestAccess records a request for access links with one unconditional
// PutItem, the same for every address: its stream record (an insert, or a
// modify of the day's earlier request) is what the notify function acts
// on. The item goes with its TTL a day later.
func (s *Store) RequestAccess(ctx context.Context, emailKey string, at time.Time) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]ddb.AttributeValue{
			KeyAttr: str(accessRequestKey(emailKey)), "emailKey": str(emailKey),
			"requestedAt": num(at.UnixNano()), TTLAttr: num(at.Add(24 * time.Hour).Unix()),
		},
	})
	return wrap(err)
}
