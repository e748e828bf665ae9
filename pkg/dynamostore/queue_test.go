package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
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
)

// queryCost adds up what the queries a client sends read: it asks each for
// its consumed capacity, and keeps ScannedCount (the items DynamoDB read
// to answer, which is what a query is billed by).
type queryCost struct {
	mu       sync.Mutex
	capacity float64
	scanned  int32
}

func (c *queryCost) option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("jampayQueryCost",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
						q.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
					}
					out, md, err := next.HandleInitialize(ctx, in)
					if r, ok := out.Result.(*dynamodb.QueryOutput); ok {
						c.mu.Lock()
						c.scanned += r.ScannedCount
						if r.ConsumedCapacity != nil {
							c.capacity += aws.ToFloat64(r.ConsumedCapacity.CapacityUnits)
						}
						c.mu.Unlock()
					}
					return out, md, err
				}), middleware.Before)
		})
	}
}

// TestOpenOrdersCostFollowsTheOpenOnes writes 10,000 orders, 100 of them
// open past their deadline and 900 open with time left, and lists the due
// ones: the requests and the items read follow the 100, whatever the rest
// of the table holds, and nothing is scanned.
func TestOpenOrdersCostFollowsTheOpenOnes(t *testing.T) {
	const total, due, notDue = 10_000, 100, 900
	setup := local.Client(t)
	table := local.NewTable(t, setup)
	clock := storetest.NewClock()
	now := clock.Now()
	var items []map[string]ddb.AttributeValue
	var want []string
	closed := []order.Status{order.Paid, order.Expired, order.Refunded, order.Failed, order.PartiallyRefunded}
	for i := range total {
		o := storetest.NewOrder(clock)
		switch {
		case i < due:
			o.Deadline = now.Add(-time.Duration(i+1) * time.Minute)
			if i%3 == 0 {
				o.Status = order.Processing
			}
			want = append(want, o.ID)
		case i < due+notDue:
			o.Deadline = now.Add(time.Duration(i) * time.Second)
		default:
			o.Status, o.Deadline = closed[i%len(closed)], now.Add(-time.Duration(i)*time.Minute)
		}
		items = append(items, dynamostore.MarshalOrder(o))
	}
	batchWrite(t, setup, table, items)

	var counter ddblocal.Counter
	var cost queryCost
	s := dynamostore.New(local.Client(t, counter.Option(), cost.option()), table, clock.Now)
	for _, limit := range []int{100, 25} {
		counter.Take()
		cost = queryCost{}
		var got []string
		after := ""
		for {
			orders, next, err := s.OpenPastDeadline(context.Background(), now, limit, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range orders {
				got = append(got, o.ID)
			}
			if after = next; next == "" {
				break
			}
		}
		if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("limit %d: listed %d orders, want the %d due", limit, len(got), due)
		}
		pages := (due + limit - 1) / limit
		requests := counter.Take()
		if !reflect.DeepEqual(requests, map[string]int{"Query": pages}) {
			t.Errorf("limit %d: requests %v, want %d Query and nothing else", limit, requests, pages)
		}
		// Each page reads one order more than it returns, to know whether
		// it is the last.
		if cost.scanned > int32(due+pages) {
			t.Errorf("limit %d: %d items read to list %d", limit, cost.scanned, due)
		}
		t.Logf("%d orders, %d open past their deadline, %d open with time left: pages of %d: %d Query, %d items read, %.1f read capacity units",
			total, due, notDue, limit, requests["Query"], cost.scanned, cost.capacity)
	}
	// For the figures: what one pass over the table would read instead.
	var scanned int32
	var capacity float64
	for p := dynamodb.NewScanPaginator(setup, &dynamodb.ScanInput{
		TableName: &table, Select: ddb.SelectCount, ReturnConsumedCapacity: ddb.ReturnConsumedCapacityTotal,
	}); p.HasMorePages(); {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		scanned += out.ScannedCount
		if out.ConsumedCapacity != nil {
			capacity += aws.ToFloat64(out.ConsumedCapacity.CapacityUnits)
		}
	}
	t.Logf("a Scan of the same table (not used) reads %d items, %.1f read capacity units", scanned, capacity)
}

// batchWrite writes items 25 at a time (BatchWriteItem's most), a few
// batches at once, retrying what DynamoDB leaves unprocessed.
func batchWrite(t *testing.T, client *dynamodb.Client, table string, items []map[string]ddb.AttributeValue) {
	t.Helper()
	batches := make(chan []map[string]ddb.AttributeValue)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				reqs := make([]ddb.WriteRequest, len(batch))
				for i, item := range batch {
					reqs[i] = ddb.WriteRequest{PutRequest: &ddb.PutRequest{Item: item}}
				}
				for attempt := 0; len(reqs) > 0; attempt++ {
					if attempt == 10 {
						errs <- errors.New("BatchWriteItem left items unprocessed 10 times")
						return
					}
					out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]ddb.WriteRequest{table: reqs},
					})
					if err != nil {
						errs <- err
						return
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		}()
	}
	for chunk := range slices.Chunk(items, 25) {
		batches <- chunk
	}
	close(batches)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestTableWithoutTheQueueIndex runs this release on a table made by the
// previous one, which has no queue index: everything works but the
// reconcile queries, which say which index is missing. (In AWS the stack
// update adds the index and DynamoDB fills it from the items already
// there, queue attributes included; DynamoDB Local cannot add an index to
// a table, so that part is AWS's to test.)
func TestTableWithoutTheQueueIndex(t *testing.T) {
	client := local.Client(t)
	table := fmt.Sprintf("jampay-test-old-%d", time.Now().UnixNano())
	ctx := context.Background()
	// The table exactly as the previous release's CreateTable (and
	// template.yaml) made it.
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		AttributeDefinitions: []ddb.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddb.ScalarAttributeTypeS}},
		KeySchema:            []ddb.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddb.KeyTypeHash}},
		BillingMode:          ddb.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock()
	s := dynamostore.New(client, table, clock.Now)
	o := storetest.NewOrder(clock)
	o.Deadline = clock.Now().Add(-time.Minute)
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	next := o.Clone()
	next.Status, next.Version = order.Processing, 1
	next.History = []order.Change{{At: clock.Now(), EventID: "evt_1", Source: order.SourceWebhook, From: order.Pending, To: order.Processing}}
	if err := s.Move(ctx, order.Move{Next: next, From: order.Pending, FromVersion: 0, Event: &order.EventRecord{Gateway: "stripe", ID: "evt_1"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetOrder(ctx, o.ID); err != nil || got.Status != order.Processing || len(got.History) != 1 {
		t.Fatalf("on the old table: %+v %v", got, err)
	}
	if err := s.Park(ctx, "stripe", "pi_x", order.Event{Gateway: "stripe", ID: "evt_p", Kind: order.KindPaid}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.TakeLease(ctx, "reconcile", "run-1", clock.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("lease on the old table: %v %v", ok, err)
	}
	_, _, openErr := s.OpenPastDeadline(ctx, clock.Now(), 10, "")
	_, _, parkedErr := s.ParkedRefs(ctx, 10, "")
	for name, err := range map[string]error{"OpenPastDeadline": openErr, "ParkedRefs": parkedErr} {
		var se *order.StoreError
		if !errors.Is(err, dynamostore.ErrNoQueueIndex) || !errors.As(err, &se) || !strings.Contains(err.Error(), `index "queue"`) {
			t.Errorf("%s on a table without the index: %v, want ErrNoQueueIndex naming it", name, err)
		}
	}
	// CreateTable leaves the table as it is (DynamoDB Local cannot add an
	// index), and it keeps working.
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetOrder(ctx, o.ID); err != nil || got.Version != 1 {
		t.Fatalf("after CreateTable on the old table: %+v %v", got, err)
	}
}

// TestOrdersWrittenBeforeTheQueue writes an order and a parked item exactly
// as the release before the queue index wrote them (no queue attributes,
// no history, no parkSeq): they read as before, are not listed, and join
// their queue with the first write of this release.
func TestOrdersWrittenBeforeTheQueue(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	id := order.NewID()
	s_ := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
	n := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberN{Value: v} }
	b := func(v bool) ddb.AttributeValue { return &ddb.AttributeValueMemberBOOL{Value: v} }
	deadline := clock.Now().Add(-20 * time.Minute)
	before := map[string]ddb.AttributeValue{
		"pk": s_("order#" + id), "id": s_(id), "gateway": s_("razorpay"), "status": s_("pending"), "version": n("1"),
		"items": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{&ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"sku": s_("tee-m"), "name": s_("T-shirt (M)"), "quantity": n("2"), "unitAmount": n("2000")}}}},
		"amount": n("4000"), "currency": s_("inr"), "tokenHash": s_("ab"), "createdAt": s_("2026-11-22T09:10:00Z"),
		"updatedAt": s_("2026-11-22T09:10:01Z"), "deadline": s_(deadline.Format(time.RFC3339Nano)),
		"sessionRef": s_("order_before"), "failureReason": s_("BAD_REQUEST_ERROR"),
		"evidence": &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{"declined": b(true)}},
	}
	beforeParked := map[string]ddb.AttributeValue{
		"pk":          s_("parked#razorpay#pay_before"),
		"ev#evt_bef1": s_(`{"v":1,"gateway":"razorpay","id":"evt_bef1","type":"payment.captured","kind":"paid","refs":["pay_before"],"paymentRef":"pay_before","amount":4000,"currency":"inr"}`),
		"expiresAt":   n(fmt.Sprint(clock.Now().Add(time.Hour).Unix())),
	}
	for _, item := range []map[string]ddb.AttributeValue{before, beforeParked} {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := s.GetOrder(ctx, id)
	if err != nil || o.Status != order.Pending || o.Version != 1 || o.History != nil || !o.Deadline.Equal(deadline) ||
		o.FailureReason != "BAD_REQUEST_ERROR" || !o.Evidence.Declined {
		t.Fatalf("the order read as %+v, %v", o, err)
	}
	open := func() []string {
		t.Helper()
		orders, _, err := s.OpenPastDeadline(ctx, clock.Now(), 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, o := range orders {
			ids = append(ids, o.ID)
		}
		return ids
	}
	// Not in the index until written again (or queued by
	// BackfillOpenQueue, TestBackfillOpenQueue).
	if got := open(); len(got) != 0 {
		t.Fatalf("an order written before the index is listed: %v", got)
	}
	next := o.Clone()
	next.Version, next.UpdatedAt = 2, clock.Now()
	next.History = append(next.History, order.Change{At: clock.Now(), EventID: "pay_x", EventType: "payment.failed",
		Source: order.SourceReconcile, Actor: "local", From: order.Pending, To: order.Pending})
	if err := s.Move(ctx, order.Move{Next: next, From: order.Pending, FromVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if got := open(); !slices.Equal(got, []string{id}) {
		t.Fatalf("once moved by this release: listed %v, want %s", got, id)
	}
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]ddb.AttributeValue{"pk": s_("order#" + id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	wantQueue := map[string]ddb.AttributeValue{dynamostore.QueueAttr: s_("open"), dynamostore.QueueAtAttr: n(fmt.Sprint(deadline.Unix()))}
	wantHistory := &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{&ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
		"at": s_(clock.Now().Format(time.RFC3339Nano)), "id": s_("pay_x"), "type": s_("payment.failed"), "src": s_("reconcile"),
		"by": s_("local"), "from": s_("pending"), "to": s_("pending")}}}}
	for name, want := range wantQueue {
		if !reflect.DeepEqual(raw.Item[name], want) {
			t.Errorf("%s stored as %#v, want %#v", name, raw.Item[name], want)
		}
	}
	if !reflect.DeepEqual(raw.Item["history"], wantHistory) {
		t.Errorf("history stored as %#v", raw.Item["history"])
	}
	// Once it is no longer open, it leaves the index, and the item keeps
	// no queue attribute.
	paid := next.Clone()
	paid.Status, paid.Version = order.Paid, 3
	if err := s.Move(ctx, order.Move{Next: paid, From: order.Pending, FromVersion: 2}); err != nil {
		t.Fatal(err)
	}
	if got := open(); len(got) != 0 {
		t.Fatalf("a paid order is listed: %v", got)
	}

	// The parked item joins the parked queue with its next park, and
	// leaves it when the last event is unparked.
	refs := func() []string {
		t.Helper()
		got, _, err := s.ParkedRefs(ctx, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range got {
			out = append(out, r.Gateway+"#"+r.Ref)
		}
		return out
	}
	if got := refs(); len(got) != 0 {
		t.Fatalf("a parked item written before the index is listed: %v", got)
	}
	if evs, err := s.Parked(ctx, "razorpay", "pay_before"); err != nil || len(evs) != 1 || evs[0].ID != "evt_bef1" {
		t.Fatalf("parked before the index: %+v %v", evs, err)
	}
	if err := s.Park(ctx, "razorpay", "pay_before", order.Event{Gateway: "razorpay", ID: "evt_bef2", Kind: order.KindRefunded}); err != nil {
		t.Fatal(err)
	}
	if got := refs(); !slices.Equal(got, []string{"razorpay#pay_before"}) {
		t.Fatalf("after a park by this release: %v", got)
	}
	if err := s.Unpark(ctx, "razorpay", "pay_before", []string{"evt_bef1", "evt_bef2"}); err != nil {
		t.Fatal(err)
	}
	if got := refs(); len(got) != 0 {
		t.Fatalf("an emptied parked item is still listed: %v", got)
	}
}

// TestUnparkKeepsWhatWasParkedMeanwhile: an Unpark that empties the item
// takes it out of the queue only if nothing was parked after what it read.
// The second request is where the race is, so the test makes a park land
// between the two requests.
func TestUnparkKeepsWhatWasParkedMeanwhile(t *testing.T) {
	client := local.Client(t)
	table := local.NewTable(t, client)
	clock := storetest.NewClock()
	plain := dynamostore.New(client, table, clock.Now)
	ctx := context.Background()
	var once sync.Once
	// Between Unpark's two UpdateItems, another process parks again.
	racer := local.Client(t, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("parkMeanwhile",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok && strings.HasPrefix(aws.ToString(u.UpdateExpression), "REMOVE #q") {
						once.Do(func() {
							if err := plain.Park(ctx, "stripe", "pi_r", order.Event{Gateway: "stripe", ID: "evt_late", Kind: order.KindPaid}); err != nil {
								t.Error(err)
							}
						})
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
	s := dynamostore.New(racer, table, clock.Now)
	if err := s.Park(ctx, "stripe", "pi_r", order.Event{Gateway: "stripe", ID: "evt_1", Kind: order.KindPaid}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unpark(ctx, "stripe", "pi_r", []string{"evt_1"}); err != nil {
		t.Fatal(err)
	}
	refs, _, err := s.ParkedRefs(ctx, 10, "")
	if err != nil || len(refs) != 1 || refs[0].Ref != "pi_r" {
		t.Fatalf("a park that came during the Unpark was taken out of the queue: %+v %v", refs, err)
	}
	if evs, _ := s.Parked(ctx, "stripe", "pi_r"); len(evs) != 1 || evs[0].ID != "evt_late" {
		t.Fatalf("parked meanwhile: %+v", evs)
	}
}

// TestBackfillOpenQueue queues the open orders written before the queue
// index, once, and nothing else.
func TestBackfillOpenQueue(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	now := clock.Now()
	put := func(status order.Status, deadline time.Time) string {
		t.Helper()
		o := storetest.NewOrder(clock)
		o.Status, o.Deadline = status, deadline
		item := dynamostore.MarshalOrder(o)
		// As the release before the index wrote it.
		delete(item, dynamostore.QueueAttr)
		delete(item, dynamostore.QueueAtAttr)
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	pending := put(order.Pending, now.Add(-time.Hour))
	processing := put(order.Processing, now.Add(time.Hour))
	put(order.Paid, now.Add(-time.Hour))
	put(order.Expired, now.Add(-time.Hour))
	put(order.Pending, time.Time{})
	queuedAlready := storetest.NewOrder(clock)
	queuedAlready.Deadline = now.Add(-2 * time.Hour)
	if err := s.CreateOrder(ctx, queuedAlready); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, "stripe", "pi_x", order.Event{Gateway: "stripe", ID: "evt_x", Kind: order.KindPaid}); err != nil {
		t.Fatal(err)
	}
	listed := func(before time.Time) []string {
		t.Helper()
		orders, _, err := s.OpenPastDeadline(ctx, before, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, o := range orders {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := listed(now.Add(2 * time.Hour)); !slices.Equal(got, []string{queuedAlready.ID}) {
		t.Fatalf("before the backfill: %v", got)
	}
	if next, n, err := s.BackfillOpenQueue(ctx, "", time.Now().Add(time.Minute)); err != nil || n != 2 || next != "" {
		t.Fatalf("backfill queued %d, %v; want the 2 open orders", n, err)
	}
	if got := listed(now); !slices.Equal(got, []string{queuedAlready.ID, pending}) {
		t.Fatalf("after the backfill, due now: %v", got)
	}
	if got := listed(now.Add(2 * time.Hour)); !slices.Equal(got, []string{queuedAlready.ID, pending, processing}) {
		t.Fatalf("after the backfill, due in two hours: %v", got)
	}
	if o, err := s.GetOrder(ctx, pending); err != nil || o.Version != 0 || o.Status != order.Pending {
		t.Fatalf("the backfill changed the order: %+v %v", o, err)
	}
	if next, n, err := s.BackfillOpenQueue(ctx, "", time.Now().Add(time.Minute)); err != nil || n != 0 || next != "" {
		t.Fatalf("a second backfill queued %d, %v", n, err)
	}
}
