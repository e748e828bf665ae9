package dynamostore_test

import (
	"context"
	"encoding/json"
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
	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
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

func TestSubscriptionConformance(t *testing.T) {
	storetest.RunSubscriptions(t, func(t *testing.T, clock *storetest.Clock) storetest.SubscriptionStore {
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
		// What reconciling costs: one query per page, whatever the table
		// holds (TestOpenOrdersCostFollowsTheOpenOnes), one write per lease
		// or cursor change.
		{"open orders past their deadline", func() error {
			_, _, err := s.OpenPastDeadline(ctx, clock.Now().Add(time.Hour), 10, "")
			return err
		}, map[string]int{"Query": 1}},
		{"park", func() error {
			for _, id := range []string{"evt_p1", "evt_p2"} {
				if err := s.Park(ctx, "stripe", "pi_p", order.Event{Gateway: "stripe", ID: id, Kind: order.KindPaid}); err != nil {
					return err
				}
			}
			return nil
		}, map[string]int{"UpdateItem": 2}},
		{"parked references", func() error { _, _, err := s.ParkedRefs(ctx, 10, ""); return err }, map[string]int{"Query": 1}},
		{"unpark, events left", func() error { return s.Unpark(ctx, "stripe", "pi_p", []string{"evt_p1"}) }, map[string]int{"UpdateItem": 1}},
		{"unpark the last event (and leave the queue)", func() error { return s.Unpark(ctx, "stripe", "pi_p", []string{"evt_p2"}) }, map[string]int{"UpdateItem": 2}},
		{"take the lease", func() error {
			_, err := s.TakeLease(ctx, "reconcile", "run-1", clock.Now().Add(time.Minute))
			return err
		}, map[string]int{"PutItem": 1}},
		{"take a lease another holds", func() error {
			if ok, err := s.TakeLease(ctx, "reconcile", "run-2", clock.Now().Add(time.Minute)); ok || err != nil {
				return fmt.Errorf("took it: %v %v", ok, err)
			}
			return nil
		}, map[string]int{"PutItem": 1}},
		{"release the lease", func() error { return s.ReleaseLease(ctx, "reconcile", "run-1") }, map[string]int{"DeleteItem": 1}},
		{"read a cursor", func() error { _, err := s.Cursor(ctx, "missed#stripe"); return err }, map[string]int{"GetItem": 1}},
		{"set a cursor", func() error { return s.SetCursor(ctx, "missed#stripe", "evt_1") }, map[string]int{"PutItem": 1}},
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
// parked events appended to one list), and reads them with this one. Items
// of the release after it are TestItemsOfTheLastReleaseStillRead.
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

// TestItemsOfTheLastReleaseStillRead writes an order and parked events
// exactly as the release before tagged evidence and versioned parked
// events wrote them (every scalar of the evidence written, zero or not;
// the two lists as string sets; each parked event the untagged JSON of
// order.Event in its own attribute), and reads them with this one.
func TestItemsOfTheLastReleaseStillRead(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	id := order.NewID()
	s_ := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
	n := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberN{Value: v} }
	b := func(v bool) ddb.AttributeValue { return &ddb.AttributeValueMemberBOOL{Value: v} }
	ss := func(v ...string) ddb.AttributeValue { return &ddb.AttributeValueMemberSS{Value: v} }
	lastOrder := map[string]ddb.AttributeValue{
		"pk": s_("order#" + id), "id": s_(id), "gateway": s_("razorpay"), "status": s_("disputed"), "version": n("5"),
		"items": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{&ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"sku": s_("tee-m"), "name": s_("T-shirt (M)"), "quantity": n("2"), "unitAmount": n("2000")}}}},
		"amount": n("4000"), "currency": s_("inr"), "tokenHash": s_("ab"), "createdAt": s_("2026-11-22T10:00:00Z"),
		"updatedAt": s_("2026-11-22T10:05:00.5Z"), "deadline": s_("2026-11-22T10:30:00Z"), "email": s_("a@example.com"),
		"sessionRef": s_("order_last"), "paymentRef": s_("pay_last"), "checkout": s_(`{"keyId":"rzp_test_x"}`),
		"gatewayError": s_("timeout"), "failureReason": s_("card_declined"), "pendingReplay": ss("pay_last"),
		"evidence": &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"processing": b(true), "paid": b(true), "paidAmount": n("4000"), "paidCurrency": s_("inr"), "mismatch": b(false),
			"declined": b(true), "failedFinal": b(false), "expired": b(false), "refunded": n("1000"),
			"paidRef": s_("pay_last"), "extraPayments": ss("pay_x2", "pay_x1"), "extraRefunded": ss("pay_x1"),
			"disputes": &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{"disp_1": s_("open"), "disp_0": s_("won")}}}},
	}
	// The JSON of order.Event as that release marshalled it, untagged.
	lastParked := map[string]ddb.AttributeValue{
		"pk":           s_("parked#razorpay#pay_last"),
		"ev#evt_last1": s_(`{"Gateway":"razorpay","ID":"evt_last1","Type":"refund.processed","Kind":"refunded","Ignore":"","OrderID":"ord_x","Refs":["pay_last","order_last"],"SessionRef":"order_last","PaymentRef":"pay_last","Amount":4000,"Currency":"inr","Refunded":1500,"Reason":"","Dispute":"","PayloadHash":"ab12","Created":"2026-11-22T10:01:00Z"}`),
		"ev#evt_last2": s_(`{"Gateway":"razorpay","ID":"evt_last2","Type":"payment.failed","Kind":"declined","Ignore":"","OrderID":"","Refs":["pay_last"],"SessionRef":"","PaymentRef":"pay_last","Amount":0,"Currency":"","Refunded":0,"Reason":"BAD_REQUEST_ERROR","Dispute":"","PayloadHash":"cd34","Created":"2026-11-22T10:02:00Z"}`),
		"expiresAt":    n(fmt.Sprint(clock.Now().Add(time.Hour).Unix())),
	}
	for _, item := range []map[string]ddb.AttributeValue{lastOrder, lastParked} {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(v string) time.Time { tm, _ := time.Parse(time.RFC3339Nano, v); return tm }
	want := order.Order{
		ID: id, Gateway: "razorpay", Status: order.Disputed, Version: 5,
		Items:  []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}},
		Amount: 4000, Currency: "inr", Email: "a@example.com", TokenHash: "ab",
		CreatedAt: at("2026-11-22T10:00:00Z"), UpdatedAt: at("2026-11-22T10:05:00.5Z"), Deadline: at("2026-11-22T10:30:00Z"),
		SessionRef: "order_last", PaymentRef: "pay_last", Checkout: `{"keyId":"rzp_test_x"}`, GatewayError: "timeout",
		FailureReason: "card_declined", PendingReplay: []string{"pay_last"},
		Evidence: order.Evidence{Processing: true, Paid: true, PaidAmount: 4000, PaidCurrency: "inr", Declined: true,
			Refunded: 1000, Disputes: map[string]string{"disp_1": order.DisputeOpen, "disp_0": order.DisputeWon},
			PaidRef: "pay_last", ExtraPayments: []string{"pay_x1", "pay_x2"}, ExtraRefunded: []string{"pay_x1"}},
	}
	if o, err := s.GetOrder(ctx, id); err != nil || !reflect.DeepEqual(*o, want) {
		t.Fatalf("the last release's order read as\n %+v, %v\nwant\n %+v", o, err, want)
	}
	parked, err := s.Parked(ctx, "razorpay", "pay_last")
	wantParked := []order.Event{
		{Gateway: "razorpay", ID: "evt_last1", Type: "refund.processed", Kind: order.KindRefunded, OrderID: "ord_x",
			Refs: []string{"pay_last", "order_last"}, SessionRef: "order_last", PaymentRef: "pay_last", Amount: 4000,
			Currency: "inr", Refunded: 1500, PayloadHash: "ab12", Created: at("2026-11-22T10:01:00Z")},
		{Gateway: "razorpay", ID: "evt_last2", Type: "payment.failed", Kind: order.KindDeclined, Refs: []string{"pay_last"},
			PaymentRef: "pay_last", Reason: "BAD_REQUEST_ERROR", PayloadHash: "cd34", Created: at("2026-11-22T10:02:00Z")},
	}
	if err != nil || !reflect.DeepEqual(parked, wantParked) {
		t.Fatalf("the last release's parked events read as\n %+v, %v\nwant\n %+v", parked, err, wantParked)
	}
	if err := s.Unpark(ctx, "razorpay", "pay_last", []string{"evt_last1"}); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Parked(ctx, "razorpay", "pay_last"); err != nil || len(left) != 1 || left[0].ID != "evt_last2" {
		t.Fatalf("after unparking one of the last release's events: %+v %v", left, err)
	}
}

// TestParkedEventsAreTaggedAndVersioned reads what Park writes: explicit
// names and a version, so renaming a Go field cannot change what is
// stored. An entry of a version this release does not know is skipped,
// as one that does not decode is, and the others still come back.
func TestParkedEventsAreTaggedAndVersioned(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	e := order.Event{Gateway: "stripe", ID: "evt_v1", Type: "charge.refunded", Kind: order.KindRefunded,
		Refs: []string{"pi_v"}, PaymentRef: "pi_v", Amount: 4000, Currency: "usd", Refunded: 4000, Created: clock.Now()}
	if err := s.Park(ctx, "stripe", "pi_v", e); err != nil {
		t.Fatal(err)
	}
	k := map[string]ddb.AttributeValue{dynamostore.KeyAttr: &ddb.AttributeValueMemberS{Value: "parked#stripe#pi_v"}}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := out.Item["ev#evt_v1"].(*ddb.AttributeValueMemberS)
	var stored map[string]any
	if raw == nil || json.Unmarshal([]byte(raw.Value), &stored) != nil {
		t.Fatalf("parked item: %+v", out.Item)
	}
	want := map[string]any{"v": 1.0, "gateway": "stripe", "id": "evt_v1", "type": "charge.refunded", "kind": "refunded",
		"refs": []any{"pi_v"}, "paymentRef": "pi_v", "amount": 4000.0, "currency": "usd", "refunded": 4000.0,
		"created": clock.Now().Format(time.RFC3339Nano)}
	if !reflect.DeepEqual(stored, want) {
		t.Fatalf("parked as %s, want the names %v", raw.Value, want)
	}
	out.Item["ev#evt_v9"] = &ddb.AttributeValueMemberS{Value: `{"v":9,"gateway":"stripe","id":"evt_v9","kind":"paid"}`}
	out.Item["ev#evt_bad"] = &ddb.AttributeValueMemberS{Value: `{not json`}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Parked(ctx, "stripe", "pi_v"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Fatalf("Parked = %+v, %v; want only %+v", got, err, e)
	}
}

// TestSubscriptionItemQueueAndTTL reads the raw item: a subscription not
// final waits in the queue index's open-subscriptions partition, dated by
// its deadline, and leaves it at a final status; one that ended expired
// with no payment gets the TTL, 30 days on, and no other ever does.
func TestSubscriptionItemQueueAndTTL(t *testing.T) {
	client, table, clock, s := rawTable(t)
	ctx := context.Background()
	raw := func(id string) map[string]ddb.AttributeValue {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]ddb.AttributeValue{
			dynamostore.KeyAttr: &ddb.AttributeValueMemberS{Value: "subscription#" + id}}, ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			t.Fatalf("raw item %s: %v", id, err)
		}
		return out.Item
	}
	attr := func(item map[string]ddb.AttributeValue, name string) string {
		switch v := item[name].(type) {
		case *ddb.AttributeValueMemberS:
			return v.Value
		case *ddb.AttributeValueMemberN:
			return v.Value
		}
		return ""
	}
	move := func(sub *subscription.Subscription, to subscription.Status, edit func(*subscription.Subscription)) *subscription.Subscription {
		next := sub.Clone()
		next.Status, next.Version, next.UpdatedAt = to, sub.Version+1, clock.Now()
		if edit != nil {
			edit(&next)
		}
		if err := s.MoveSubscription(ctx, subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version}); err != nil {
			t.Fatal(err)
		}
		return &next
	}
	renewed := func(sub *subscription.Subscription) {
		sub.Evidence.Renewals = []subscription.Renewal{{Ref: "in_1", Amount: sub.Amount, Currency: sub.Currency, First: true}}
	}

	for _, tc := range []struct {
		name  string
		steps []subscription.Status
		edit  func(*subscription.Subscription)
		ttl   bool
	}{
		{"checkout never completed", []subscription.Status{subscription.Expired}, nil, true},
		{"expired after a payment", []subscription.Status{subscription.Expired}, renewed, false},
		{"canceled", []subscription.Status{subscription.Active, subscription.PastDue, subscription.Canceled}, renewed, false},
		{"completed", []subscription.Status{subscription.Trialing, subscription.Active, subscription.Completed}, nil, false},
	} {
		sub := storetest.NewSubscription(clock)
		if err := s.CreateSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		for _, to := range tc.steps {
			item := raw(sub.ID)
			if q, at := attr(item, dynamostore.QueueAttr), attr(item, dynamostore.QueueAtAttr); q != "opensub" || at != fmt.Sprint(sub.Deadline.Unix()) {
				t.Fatalf("%s: %s in queue %q at %q, want opensub at its deadline", tc.name, sub.Status, q, at)
			}
			if ttl := attr(item, dynamostore.TTLAttr); ttl != "" {
				t.Fatalf("%s: %s expires at %s", tc.name, sub.Status, ttl)
			}
			clock.Advance(time.Hour)
			sub = move(sub, to, tc.edit)
		}
		item := raw(sub.ID)
		if _, queued := item[dynamostore.QueueAttr]; queued {
			t.Errorf("%s: %s still queued", tc.name, sub.Status)
		}
		if _, queued := item[dynamostore.QueueAtAttr]; queued {
			t.Errorf("%s: %s still dated in the queue", tc.name, sub.Status)
		}
		want := ""
		if tc.ttl {
			want = fmt.Sprint(sub.UpdatedAt.Add(order.ExpiredRetention).Unix())
		}
		if got := attr(item, dynamostore.TTLAttr); got != want {
			t.Errorf("%s: %s expires at %q, want %q", tc.name, sub.Status, got, want)
		}
	}
}

// TestSubscriptionRequestsPerOperation pins what each subscription
// operation costs, as TestRequestsPerOperation does an order's.
func TestSubscriptionRequestsPerOperation(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	clock := storetest.NewClock()
	s := dynamostore.New(client, local.NewTable(t, client), clock.Now)
	counter.Take()
	ctx := context.Background()

	sub := storetest.NewSubscription(clock)
	next := sub.Clone()
	next.Status, next.Version = subscription.Active, 1
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"create", func() error { return s.CreateSubscription(ctx, sub) }, map[string]int{"PutItem": 1}},
		{"get", func() error { _, err := s.GetSubscription(ctx, sub.ID); return err }, map[string]int{"GetItem": 1}},
		{"get for an event", func() error {
			_, _, err := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_1")
			return err
		}, map[string]int{"BatchGetItem": 1}},
		{"move", func() error {
			return s.MoveSubscription(ctx, subscription.Move{Next: next, From: subscription.Pending, FromVersion: 0})
		}, map[string]int{"PutItem": 1}},
		{"move with its event and refs", func() error {
			n := next.Clone()
			n.Status, n.Version = subscription.PastDue, 2
			return s.MoveSubscription(ctx, subscription.Move{Next: n, From: subscription.Active, FromVersion: 1,
				Event: &order.EventRecord{Gateway: "stripe", ID: "evt_2"}, Refs: []string{"sub_1"}})
		}, map[string]int{"TransactWriteItems": 1}},
		{"find by ref", func() error { _, err := s.FindSubscriptionByRef(ctx, "stripe", "sub_1"); return err }, map[string]int{"GetItem": 2}},
		{"find an order by a subscription's ref", func() error {
			var e *order.ElsewhereError
			if _, err := s.FindByRef(ctx, "stripe", "sub_1"); !errors.As(err, &e) {
				return fmt.Errorf("want ElsewhereError, got %v", err)
			}
			return nil
		}, map[string]int{"GetItem": 1}},
		{"clear replay", func() error { return s.ClearSubscriptionReplay(ctx, sub.ID, []string{"sub_1"}) }, map[string]int{"UpdateItem": 1}},
		{"put a plan", func() error { _, err := s.PutPlan(ctx, "razorpay", "k", "plan_1"); return err }, map[string]int{"PutItem": 1}},
		{"put a plan already there", func() error {
			if id, err := s.PutPlan(ctx, "razorpay", "k", "plan_2"); err != nil || id != "plan_1" {
				return fmt.Errorf("got %q, %v", id, err)
			}
			return nil
		}, map[string]int{"PutItem": 1}},
		{"read a plan", func() error { _, err := s.Plan(ctx, "razorpay", "k"); return err }, map[string]int{"GetItem": 1}},
		{"open subscriptions", func() error { _, _, err := s.OpenSubscriptions(ctx, 10, ""); return err }, map[string]int{"Query": 1}},
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
