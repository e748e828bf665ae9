package dynamostore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
)

func settings(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpen_WithoutTableNameNamesIt(t *testing.T) {
	_, err := dynamostore.Open(context.Background(), settings(t, map[string]string{config.DynamoDBEndpoint: local.Endpoint}), dynamostore.OpenOptions{})
	if err == nil || !strings.Contains(err.Error(), config.TableName) {
		t.Fatalf("Open without %s: %v", config.TableName, err)
	}
}

// jampay serve on DynamoDB Local creates its table; starting it again
// finds the table there and keeps it.
func TestOpen_CreatesTheTableWhenAsked(t *testing.T) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	table := "jampay-open-" + hex.EncodeToString(b)
	c := settings(t, map[string]string{config.DynamoDBEndpoint: local.Endpoint, config.TableName: table})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := dynamostore.Open(ctx, c, dynamostore.OpenOptions{CreateTable: true}); err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
	}
	out, err := local.Client(t).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil || string(out.Table.TableStatus) != "ACTIVE" {
		t.Fatalf("table %s after Open: %v %v", table, out, err)
	}
}
