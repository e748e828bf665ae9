package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
)

func parkedKey(gateway, ref string) string { return "parked#" + gateway + "#" + ref }

// Park appends e to the list kept under the reference, in one UpdateItem,
// and pushes the list's expiry out to EventRetention from now.
func (s *Store) Park(ctx context.Context, gateway, ref string, e order.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              key(parkedKey(gateway, ref)),
		UpdateExpression: aws.String("SET events = list_append(if_not_exists(events, :none), :e), expiresAt = :exp"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":none": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{}},
			":e":    &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{str(string(b))}},
			":exp":  num(s.now().Add(order.EventRetention).Unix()),
		},
	})
	return wrap(err)
}

// Parked reads the events kept under the reference.
func (s *Store) Parked(ctx context.Context, gateway, ref string) ([]order.Event, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(parkedKey(gateway, ref)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err)
	}
	list, _ := out.Item["events"].(*ddb.AttributeValueMemberL)
	if list == nil {
		return nil, nil
	}
	events := make([]order.Event, 0, len(list.Value))
	for _, v := range list.Value {
		sv, _ := v.(*ddb.AttributeValueMemberS)
		var e order.Event
		if sv == nil || json.Unmarshal([]byte(sv.Value), &e) != nil {
			return nil, &order.StoreError{Err: fmt.Errorf("parked event under %s is unreadable", ref)}
		}
		events = append(events, e)
	}
	return events, nil
}
