package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripegw"
)

// faultyStore fails its Nth call (counting every method), as DynamoDB
// does when it throttles or times out at the worst moment.
type faultyStore struct {
	order.Store
	failAt int64
	calls  atomic.Int64
	writes atomic.Int64 // successful writes, for the hostile-input test
}

func (f *faultyStore) fail() error {
	if f.calls.Add(1) == f.failAt {
		return &order.StoreError{Err: errors.New("injected failure")}
	}
	return nil
}

func (f *faultyStore) wrote(err error) error {
	if err == nil {
		f.writes.Add(1)
	}
	return err
}

func (f *faultyStore) CreateOrder(ctx context.Context, o *order.Order) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.CreateOrder(ctx, o))
}
func (f *faultyStore) GetOrder(ctx context.Context, id string) (*order.Order, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.GetOrder(ctx, id)
}
func (f *faultyStore) FindByRef(ctx context.Context, gw, ref string) (*order.Order, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.FindByRef(ctx, gw, ref)
}
func (f *faultyStore) Move(ctx context.Context, m order.Move) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.Move(ctx, m))
}
func (f *faultyStore) RecordEvent(ctx context.Context, r order.EventRecord) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.RecordEvent(ctx, r))
}
func (f *faultyStore) ClaimIdempotencyKey(ctx context.Context, r order.IdempotencyRecord) (*order.IdempotencyRecord, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	old, err := f.Store.ClaimIdempotencyKey(ctx, r)
	return old, f.wrote(err)
}
func (f *faultyStore) Park(ctx context.Context, gw, ref string, e order.Event) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.Park(ctx, gw, ref, e))
}
func (f *faultyStore) Parked(ctx context.Context, gw, ref string) ([]order.Event, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Parked(ctx, gw, ref)
}

// TestFaults_NthStoreCallFails fails each store call of a checkout and of a
// webhook in turn: the answer is a 5xx (never a 4xx, never a lie), no
// session is ever made for an order that was not stored, and redelivering
// the webhook converges to the same end as a clean run, with one effect.
func TestFaults_NthStoreCallFails(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			for n := int64(1); n <= 8; n++ {
				e := newEnv(t, kind)
				f := &faultyStore{Store: e.store, failAt: n}
				e.store = f
				e.h = wrapEffects(t, e, func(order.Order) {})
				r := e.do("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}]}`), jsonHeader)
				if r.Status != 201 && r.Status != 502 && r.Status != 503 {
					t.Fatalf("checkout with call %d failing: %d %s", n, r.Status, r.Body)
				}
				if r.Status != 201 {
					if e.gw.calls.Load() > 0 {
						// The gateway heard of the order: it must be stored.
						orders := 0
						e.gw.lastOrders(func(id string) {
							if _, err := f.Store.GetOrder(context.Background(), id); err == nil {
								orders++
							}
						})
						if orders == 0 {
							t.Fatalf("call %d: a gateway session exists for an order that is not stored", n)
						}
					}
					continue
				}
				c := created{}
				mustJSON(t, r.Body, &c)
				f.calls.Store(0)
				body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000}.Payload()
				first := e.signedStripe(body, whsec, time.Now())
				if first.Status != 200 && first.Status != 503 {
					t.Fatalf("webhook with call %d failing: %d %s", n, first.Status, first.Body)
				}
				f.failAt = -1
				if again := e.signedStripe(body, whsec, time.Now()); again.Status != 200 {
					t.Fatalf("redelivery after call %d failed: %d %s", n, again.Status, again.Body)
				}
				got, _ := f.Store.GetOrder(context.Background(), c.OrderID)
				if got.Status != order.Paid {
					t.Fatalf("call %d failing, then redelivered: %s, want paid", n, got.Status)
				}
				if effects := len(asStatuses(mustLoad(&e.moves, c.OrderID))); effects != 1 {
					t.Fatalf("call %d: %d effects, want 1", n, effects)
				}
			}
		})
	}
}

func TestFaults_WebhookPastItsDeadlineIs5xx(t *testing.T) {
	e := newEnv(t, dynamodb)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000}.Payload()
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	req := httptest.NewRequest("POST", "/api/webhooks/stripe", bytesReader(body)).WithContext(ctx)
	req.Header = e.signedStripeHeader(body, whsec, time.Now())
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 503 {
		t.Fatalf("a webhook whose Lambda ran out of time: %d %s", rec.Code, rec.Body)
	}
	if e.get(c.OrderID).Status != order.Pending {
		t.Fatal("moved anyway")
	}
	e.mustReceive(payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000})
}

// TestFaults_StripeDownOrSlowIs502AndTheOrderIsKept points the real Stripe
// adapter at a Stripe that answers 500, and at one slower than the client's
// timeout.
func TestFaults_StripeDownOrSlowIs502AndTheOrderIsKept(t *testing.T) {
	var hits atomic.Int64
	var keys, orderIDs sync.Map
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		keys.Store(r.Header.Get("Idempotency-Key"), true)
		_ = r.ParseForm()
		orderIDs.Store(r.PostForm.Get("client_reference_id"), true)
		w.Header().Set("Content-Type", "application/json")
		// Stripe asks for a retry this way on transient failures.
		w.Header().Set("Stripe-Should-Retry", "true")
		w.WriteHeader(500)
		_, _ = w.Write([]byte(`{"error":{"type":"api_error","message":"An unknown error occurred"}}`))
	}))
	defer down.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	defer slow.Close()
	for name, gw := range map[string]api.Gateway{
		"500":     stripegw.New(stripegw.Config{SecretKey: "sk_test_1", APIBase: down.URL, SiteURL: origin}),
		"timeout": stripegw.New(stripegw.Config{SecretKey: "sk_test_1", APIBase: slow.URL, SiteURL: origin, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}),
	} {
		store := newStore(t, memory)
		h := api.Handler(api.Deps{Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": gw}, Logger: quietLogger()})
		r := doWith(t, h, "POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`), jsonHeader)
		if r.Status != 502 || r.errorCode(t) != "gateway_error" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		if name == "500" {
			kept := 0
			orderIDs.Range(func(id, _ any) bool {
				if o, err := store.GetOrder(context.Background(), id.(string)); err == nil && o.GatewayError != "" && o.Status == order.Pending {
					kept++
				}
				return true
			})
			if kept != 1 {
				t.Fatalf("the order was not kept with its gateway error (%d)", kept)
			}
		}
	}
	n := 0
	keys.Range(func(any, any) bool { n++; return true })
	if hits.Load() < 2 || n != 1 {
		t.Fatalf("stripe-go made %d attempts with %d idempotency keys; want retries with one key", hits.Load(), n)
	}
}
func (f *faultyStore) Unpark(ctx context.Context, gw, ref string, ids []string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.Unpark(ctx, gw, ref, ids))
}
func (f *faultyStore) ClearReplay(ctx context.Context, id string, refs []string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.wrote(f.Store.ClearReplay(ctx, id, refs))
}
