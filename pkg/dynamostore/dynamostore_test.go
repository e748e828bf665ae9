package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/internal/storetest"
)

var local *ddblocal.Server

func TestMain(m *testing.M) {
	var err error
	if local, err = ddblocal.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "dynamostore tests need DynamoDB Local:", err)
		os.Exit(1)
	}
	code := m.Run()
	local.Stop()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) order.Store {
		client := local.Client(t)
		return dynamostore.New(client, local.NewTable(t, client), clock.Now)
	})
}

// TestRequestsPerOperation pins how many DynamoDB requests each store
// operation costs: the bill is per request, and a regression here is a
// regression in cost and latency.
func TestRequestsPerOperation(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	clock := storetest.NewClock()
	s := dynamostore.New(client, local.NewTable(t, client), clock.Now)
	counter.Take()
	ctx := context.Background()

	o := storetest.NewOrder(clock)
	ev := order.EventRecord{Gateway: "stripe", ID: "evt_1", ExpiresAt: clock.Now().Add(time.Hour)}
	next := o.Clone()
	next.Status, next.Version = order.Paid, 1
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"create order", func() error { return s.CreateOrder(ctx, o) }, map[string]int{"PutItem": 1}},
		{"get order", func() error { _, err := s.GetOrder(ctx, o.ID); return err }, map[string]int{"GetItem": 1}},
		{"record event", func() error { return s.RecordEvent(ctx, ev) }, map[string]int{"PutItem": 1}},
		{"duplicate event", func() error {
			if err := s.RecordEvent(ctx, ev); !errors.Is(err, order.ErrDuplicateEvent) {
				return fmt.Errorf("want duplicate, got %v", err)
			}
			return nil
		}, map[string]int{"PutItem": 1}},
		{"move", func() error {
			return s.Move(ctx, order.Move{Next: next, From: order.Pending, FromVersion: 0})
		}, map[string]int{"PutItem": 1}},
		{"move with its event", func() error {
			n := next.Clone()
			n.Status, n.Version = order.PartiallyRefunded, 2
			return s.Move(ctx, order.Move{Next: n, From: order.Paid, FromVersion: 1, Event: &order.EventRecord{Gateway: "stripe", ID: "evt_2"}, Refs: []string{"pi_1"}})
		}, map[string]int{"TransactWriteItems": 1}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := counter.Take(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: requests %v, want %v", st.name, got, st.want)
		}
	}
}

// rawTable is a store on a fresh table, with the client to read and write
// its items directly.
func rawTable(t *testing.T) (*dynamodb.Client, string, *storetest.Clock, *dynamostore.Store) {
	client := local.Client(t)
	table := local.NewTable(t, client)
	clock := storetest.NewClock()
	return client, table, clock, dynamostore.New(client, table, clock.Now)
}

// TestItemsOfThePreviousReleaseStillRead writes an order and a parked list
// exactly as the previous release wrote them (no pendingReplay, no paidRef,
// parked events appended to one list), and reads them with this one.
func TestItemsOfThePreviousReleaseStillRead(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	id := order.NewID()
	s_ := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
	n := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberN{Value: v} }
	b := func(v bool) ddb.AttributeValue { return &ddb.AttributeValueMemberBOOL{Value: v} }
	oldOrder := map[string]ddb.AttributeValue{
		"pk": s_("order#" + id), "id": s_(id), "gateway": s_("stripe"), "status": s_("paid"), "version": n("3"),
		"items": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{&ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"sku": s_("tee-m"), "name": s_("T-shirt (M)"), "quantity": n("2"), "unitAmount": n("2000")}}}},
		"amount": n("4000"), "currency": s_("usd"), "tokenHash": s_("ab"), "createdAt": s_("2026-11-22T10:00:00Z"),
		"updatedAt": s_("2026-11-22T10:05:00Z"), "sessionRef": s_("cs_test_old"), "paymentRef": s_("pi_old"),
		"evidence": &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"processing": b(false), "paid": b(true), "paidAmount": n("4000"), "paidCurrency": s_("usd"), "mismatch": b(false),
			"declined": b(true), "failedFinal": b(false), "expired": b(false), "refunded": n("0")}},
	}
	legacy := func(eventID string) ddb.AttributeValue {
		return s_(`{"Gateway":"stripe","ID":"` + eventID + `","Type":"charge.dispute.created","Kind":"dispute_opened","OrderID":"","Refs":["pi_old"],"SessionRef":"","PaymentRef":"","Amount":0,"Currency":"","Refunded":0,"Reason":"","Dispute":"dp_old","PayloadHash":"","Created":"2026-11-22T10:00:00Z"}`)
	}
	oldParked := map[string]ddb.AttributeValue{
		// The previous release appended every delivery: evt_old1 came twice,
		// and one entry is not an event at all.
		"pk": s_("parked#stripe#pi_old"), "events": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{
			legacy("evt_old1"), legacy("evt_old2"), legacy("evt_old1"), s_("{not json")}},
		"expiresAt": n(fmt.Sprint(clock.Now().Add(time.Hour).Unix())),
	}
	for _, item := range []map[string]ddb.AttributeValue{oldOrder, oldParked} {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := s.GetOrder(ctx, id)
	if err != nil || o.Status != order.Paid || o.Version != 3 || o.PaymentRef != "pi_old" || !o.Evidence.Paid ||
		o.Evidence.PaidRef != "" || len(o.PendingReplay) != 0 || len(o.Items) != 1 || o.Items[0].Quantity != 2 {
		t.Fatalf("old order read as %+v, %v", o, err)
	}
	// The old item never recorded which payment paid (its PaymentRef may
	// be a declined attempt's): the next paid event names it, and is never
	// taken for a second payment.
	for _, ref := range []string{"pi_old", "pay_other"} {
		next, _ := order.Apply(*o, order.Event{Kind: order.KindPaid, Amount: 4000, Currency: "usd", PaymentRef: ref})
		if next.Status != order.Paid || len(next.Evidence.ExtraPayments) != 0 || next.Evidence.PaidRef != ref {
			t.Fatalf("a paid event (%s) on the old order: %s %+v", ref, next.Status, next.Evidence)
		}
	}
	parked, err := s.Parked(ctx, "stripe", "pi_old")
	if err != nil || len(parked) != 2 || parked[0].ID != "evt_old1" || parked[1].Dispute != "dp_old" {
		t.Fatalf("old parked list read as %+v, %v", parked, err)
	}
	if err := s.Unpark(ctx, "stripe", "pi_old", []string{"evt_old1"}); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Parked(ctx, "stripe", "pi_old"); err != nil || len(left) != 1 || left[0].ID != "evt_old2" {
		t.Fatalf("after unparking one old event: %+v %v", left, err)
	}
}

// TestExpiredOrderWithoutMoneyGoesWithTheTTL reads the raw item: the TTL
// attribute is set 30 days after an order ends expired with no money, and
// gone once money arrives.
func TestExpiredOrderWithoutMoneyGoesWithTheTTL(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	o := storetest.NewOrder(clock)
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	ttl := func() string {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]ddb.AttributeValue{
			dynamostore.KeyAttr: &ddb.AttributeValueMemberS{Value: "order#" + o.ID}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := out.Item[dynamostore.TTLAttr].(*ddb.AttributeValueMemberN)
		if v == nil {
			return ""
		}
		return v.Value
	}
	if got := ttl(); got != "" {
		t.Fatalf("a pending order expires at %s", got)
	}
	cur := *o
	for _, step := range []struct {
		e    order.Event
		want string
	}{
		{order.Event{ID: "e1", Kind: order.KindExpired}, fmt.Sprint(clock.Now().Add(order.ExpiredRetention).Unix())},
		{order.Event{ID: "e2", Kind: order.KindPaid, Amount: o.Amount, Currency: o.Currency, PaymentRef: "pi_late"}, ""},
	} {
		next, _ := order.Apply(cur, step.e)
		next.Version, next.UpdatedAt = cur.Version+1, clock.Now()
		if err := s.Move(ctx, order.Move{Next: next, From: cur.Status, FromVersion: cur.Version}); err != nil {
			t.Fatal(err)
		}
		if got := ttl(); got != step.want {
			t.Fatalf("after %s (%s): TTL %q, want %q", step.e.Kind, next.Status, got, step.want)
		}
		cur = next
	}
}
