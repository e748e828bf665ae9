package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTable creates the store's table if it is missing, as template.yaml
// declares it (one string key, pay-per-request, TTL on expiresAt, the
// queue index), and waits until it is active. It is for DynamoDB Local and
// tests; in AWS the table comes from the template.
//
// A table that exists is left as it is, even one an earlier release made
// without the queue index: DynamoDB Local cannot add an index to a table
// (the index stays CREATING and every query of it fails), so on such a
// table the reconcile queries return ErrNoQueueIndex, and everything else
// works.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string, opts ...TableOption) error {
	in := &dynamodb.CreateTableInput{
		TableName:              &table,
		AttributeDefinitions:   append(queueAttributes(), ddb.AttributeDefinition{AttributeName: aws.String(KeyAttr), AttributeType: ddb.ScalarAttributeTypeS}),
		KeySchema:              []ddb.KeySchemaElement{{AttributeName: aws.String(KeyAttr), KeyType: ddb.KeyTypeHash}},
		BillingMode:            ddb.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []ddb.GlobalSecondaryIndex{queueIndex()},
	}
	for _, opt := range opts {
		opt(in)
	}
	_, err := client.CreateTable(ctx, in)
	var inUse *ddb.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	if err := waitActive(ctx, client, table); err != nil {
		return err
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &ddb.TimeToLiveSpecification{AttributeName: aws.String(TTLAttr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}

// TableOption adds to the table CreateTable makes what only some callers
// need.
type TableOption func(*dynamodb.CreateTableInput)

// WithStream gives the table the stream template.yaml declares (new and
// old images), which the notify function reads: tests of that path read
// it from DynamoDB Local, which serves Streams on the same endpoint.
func WithStream() TableOption {
	return func(in *dynamodb.CreateTableInput) {
		in.StreamSpecification = &ddb.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddb.StreamViewTypeNewAndOldImages}
	}
}

// queueIndex is the queue index as template.yaml declares it. It projects
// whole items: the open orders come with the query (no BatchGetItem after
// it), and what that costs in index writes is small, since only open
// orders and parked events are in it.
func queueIndex() ddb.GlobalSecondaryIndex {
	return ddb.GlobalSecondaryIndex{
		IndexName: aws.String(QueueIndex),
		KeySchema: []ddb.KeySchemaElement{
			{AttributeName: aws.String(QueueAttr), KeyType: ddb.KeyTypeHash},
			{AttributeName: aws.String(QueueAtAttr), KeyType: ddb.KeyTypeRange},
		},
		Projection: &ddb.Projection{ProjectionType: ddb.ProjectionTypeAll},
	}
}

func queueAttributes() []ddb.AttributeDefinition {
	return []ddb.AttributeDefinition{
		{AttributeName: aws.String(QueueAttr), AttributeType: ddb.ScalarAttributeTypeS},
		{AttributeName: aws.String(QueueAtAttr), AttributeType: ddb.ScalarAttributeTypeN},
	}
}

// waitActive waits until the table and every index of it are active.
func waitActive(ctx context.Context, client *dynamodb.Client, table string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", table, err)
		}
		active := out.Table.TableStatus == ddb.TableStatusActive
		for _, i := range out.Table.GlobalSecondaryIndexes {
			active = active && i.IndexStatus == ddb.IndexStatusActive
		}
		if active {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("table %s is not active after a minute", table)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
