package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/ddblocal"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/storetest"
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
