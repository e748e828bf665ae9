package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func rateKey(key string) string { return "rate#" + key }

// TakeRate counts one under name unless the count has reached limit, in one
// conditional UpdateItem: fifty concurrent checkouts from one client take
// at most limit between them, and a refused one writes nothing. The item
// expires by TTL at expiresAt; callers put the window in the name, so a
// counter DynamoDB has not yet deleted is never counted in again.
func (s *Store) TakeRate(ctx context.Context, name string, limit int, expiresAt time.Time) (bool, error) {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(rateKey(name)),
		UpdateExpression:         aws.String("ADD #n :one SET " + TTLAttr + " = :exp"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#n": "count"}, // COUNT is a reserved word
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":one": num(1), ":limit": num(int64(limit)), ":exp": num(expiresAt.Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err)
	}
	return true, nil
}
