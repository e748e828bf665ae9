package dynamostore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// scanCost keeps what the Scans a client sends read (ScannedCount: the
// items DynamoDB read to answer, which is what a Scan is billed by, kept
// or filtered out) and whether any asked for a strongly consistent read.
type scanCost struct {
	mu         sync.Mutex
	scanned    int32
	consistent bool
}

func (c *scanCost) option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("jampayScanCost",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if s, ok := in.Parameters.(*dynamodb.ScanInput); ok && aws.ToBool(s.ConsistentRead) {
						c.mu.Lock()
						c.consistent = true
						c.mu.Unlock()
					}
					out, md, err := next.HandleInitialize(ctx, in)
					if r, ok := out.Result.(*dynamodb.ScanOutput); ok {
						c.mu.Lock()
						c.scanned += r.ScannedCount
						c.mu.Unlock()
					}
					return out, md, err
				}), middleware.Before)
		})
	}
}

// TestListOrders_ReadsTheTableAboutOnce pins what the owner's listing
// costs: Scans only, eventually consistent, and every item of the table
// read once, plus at most one page's worth again per page (where a page
// ends inside a request) — whatever the filter keeps.
func TestListOrders_ReadsTheTableAboutOnce(t *testing.T) {
	const orders, refunded, limit = 400, 12, 25
	setup := local.Client(t)
	table := local.NewTable(t, setup)
	clock := storetest.NewClock()
	var items []map[string]ddb.AttributeValue
	var want []string
	for i := range orders {
		o := storetest.NewOrder(clock)
		o.CreatedAt = clock.Now().Add(-time.Duration(i) * time.Minute)
		if i%(orders/refunded) == 0 {
			o.Status = order.Refunded
			want = append(want, o.ID)
		}
		items = append(items, dynamostore.MarshalOrder(o))
		// What a paid order brings along: its event record and reference.
		items = append(items,
			map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "event#stripe#evt_" + o.ID}},
			map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "ref#stripe#pi_" + o.ID}, "orderId": &ddb.AttributeValueMemberS{Value: o.ID}})
	}
	for batch := range slices.Chunk(items, 25) {
		reqs := make([]ddb.WriteRequest, len(batch))
		for i, it := range batch {
			reqs[i] = ddb.WriteRequest{PutRequest: &ddb.PutRequest{Item: it}}
		}
		if _, err := setup.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddb.WriteRequest{table: reqs}}); err != nil {
			t.Fatal(err)
		}
	}

	for _, f := range []shop.OrderFilter{{Status: order.Refunded}, {}} {
		var counter ddblocal.Counter
		var cost scanCost
		s := dynamostore.New(local.Client(t, counter.Option(), cost.option()), table, clock.Now)
		var got []string
		pages := 0
		for after := ""; ; pages++ {
			page, next, err := s.ListOrders(context.Background(), f, limit, after)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, listedIDs(page)...)
			if after = next; after == "" {
				break
			}
		}
		if f.Status == "" {
			want = nil
			for _, it := range items {
				if id, ok := it["id"].(*ddb.AttributeValueMemberS); ok {
					want = append(want, id.Value)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("filter %+v: listed %d orders, want %d", f, len(got), len(want))
		}
		if ops := counter.Take(); len(ops) != 1 || ops["Scan"] == 0 {
			t.Errorf("filter %+v: requests %v, want Scans only", f, ops)
		}
		if cost.consistent {
			t.Errorf("filter %+v: a strongly consistent Scan costs twice as much, for an owner's look", f)
		}
		if n := int(cost.scanned); n < len(items) || n > len(items)+pages*limit {
			t.Errorf("filter %+v: %d pages read %d items of a table of %d (want each once, at most %d more)", f, pages, n, len(items), pages*limit)
		}
	}
}

func listedIDs(orders []order.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}
