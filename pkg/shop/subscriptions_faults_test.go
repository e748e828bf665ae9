package shop_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// faultySubs fails its Nth call of the methods a subscription's checkout
// and events use, as DynamoDB does when it throttles at the worst moment.
type faultySubs struct {
	*memstore.Store
	failAt int64
	calls  atomic.Int64
}

func (f *faultySubs) fail() error {
	if f.calls.Add(1) == f.failAt {
		return &order.StoreError{Err: errors.New("injected failure")}
	}
	return nil
}

func (f *faultySubs) CreateSubscription(ctx context.Context, s *subscription.Subscription) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.CreateSubscription(ctx, s)
}

func (f *faultySubs) GetSubscription(ctx context.Context, id string) (*subscription.Subscription, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.GetSubscription(ctx, id)
}

func (f *faultySubs) GetSubscriptionForEvent(ctx context.Context, id, gw, ev string) (*subscription.Subscription, bool, error) {
	if err := f.fail(); err != nil {
		return nil, false, err
	}
	return f.Store.GetSubscriptionForEvent(ctx, id, gw, ev)
}

func (f *faultySubs) FindSubscriptionByRef(ctx context.Context, gw, ref string) (*subscription.Subscription, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.FindSubscriptionByRef(ctx, gw, ref)
}

func (f *faultySubs) MoveSubscription(ctx context.Context, m subscription.Move) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.MoveSubscription(ctx, m)
}

func (f *faultySubs) RecordEvent(ctx context.Context, r order.EventRecord) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.RecordEvent(ctx, r)
}

func (f *faultySubs) ClaimIdempotencyKey(ctx context.Context, r order.IdempotencyRecord) (*order.IdempotencyRecord, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.ClaimIdempotencyKey(ctx, r)
}

func (f *faultySubs) IndexEmail(ctx context.Context, key, id string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.IndexEmail(ctx, key, id)
}

// TestSubscriptionFaults_NthStoreCallFails fails each store call of a
// subscription's checkout and of its events in turn: every failure is a
// store error (a 5xx: the customer or the gateway retries), the gateway
// never hears of a subscription that is not stored, and redelivering
// converges to the clean run's state with its effects owed once.
func TestSubscriptionFaults_NthStoreCallFails(t *testing.T) {
	cat, err := catalog.Parse(strings.NewReader(subCatalog))
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= 10; n++ {
		now := subNow
		clock := func() time.Time { return now }
		f := &faultySubs{Store: memstore.New(clock), failAt: n}
		gw := &subGateway{}
		svc := shop.New(shop.Service{Store: f, Subs: f, Catalog: cat, Gateways: map[string]shop.Gateway{"stripe": gw}, Now: clock})
		req := shop.CheckoutRequest{Gateway: "stripe", Lines: subCart, Email: "a@example.com", IdempotencyKey: "faults-key-0123456789"}
		res, err := svc.Checkout(ctx, req)
		var se *order.StoreError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("checkout with call %d failing: %v, want a store error", n, err)
		}
		if err != nil {
			for _, id := range gw.subIDs {
				if _, err := f.Store.GetSubscription(ctx, id); err != nil {
					t.Fatalf("call %d: the gateway was asked for %s, which is not stored", n, id)
				}
			}
			f.failAt = -1
			// The customer's retry, once the first request is no longer
			// taken to be in flight.
			now = now.Add(time.Minute)
			if res, err = svc.Checkout(ctx, req); err != nil {
				t.Fatalf("retry after call %d failed: %v", n, err)
			}
		}
		s := res.Subscription
		f.calls.Store(0)
		f.failAt = n
		events := []order.Event{
			{Gateway: "stripe", ID: "evt_c", Type: "checkout.session.completed", Kind: order.KindPaid, OrderID: s.ID, SessionRef: s.SessionRef,
				Refs: []string{s.SessionRef, "sub_f"}, Created: subNow, Sub: &order.SubFacts{Ref: "sub_f"}},
			{Gateway: "stripe", ID: "evt_i", Type: "invoice.paid", Kind: order.KindRenewalPaid, Refs: []string{"sub_f"}, Amount: 900, Currency: "usd",
				Created: subNow.AddDate(0, 0, 7), Sub: &order.SubFacts{Ref: "sub_f", Renewal: "in_2", PeriodEnd: subNow.AddDate(0, 1, 7)}},
		}
		for _, e := range events {
			if _, err := svc.Apply(ctx, e); err != nil && !errors.As(err, &se) {
				t.Fatalf("%s with call %d failing: %v", e.ID, n, err)
			}
		}
		f.failAt = -1
		for _, e := range events {
			if _, err := svc.Apply(ctx, e); err != nil {
				t.Fatalf("redelivery of %s after call %d: %v", e.ID, n, err)
			}
		}
		got, _ := f.Store.GetSubscription(ctx, s.ID)
		owed := map[string]int{}
		for _, w := range got.Outbox {
			owed[w.Type]++
		}
		if got.Status != subscription.Trialing || !got.Evidence.Renewed("in_2") || owed["subscription.trialing"] != 1 || owed["subscription.renewed"] != 1 {
			t.Fatalf("call %d failing, then redelivered: %s, renewals %v, owed %v", n, got.Status, got.Evidence.Renewals, owed)
		}
	}
}
