package api_test

import (
	"log/slog"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripeverify"
	"github.com/jampay/jampay/pkg/subscription"
)

// TestDynamoDBRequestsPerFlow pins what each flow costs in DynamoDB
// requests, counted by an SDK middleware on DynamoDB Local. DynamoDB bills
// per request, so these are the cost per order; they are deterministic, so
// they are asserted.
func TestDynamoDBRequestsPerFlow(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	store := dynamostore.New(client, local.NewTable(t, client), time.Now)
	gw := &fakeGateway{}
	h := api.Handler(api.Deps{
		Store: store, Catalog: mustCatalog(t),
		Gateways: map[string]api.Gateway{"stripe": gw, "razorpay": gw},
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{whsec}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{rzpSecret}},
		},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	e := &env{t: t, h: h, store: store, gw: gw}
	counter.Take()

	var c created
	var completed, refund []byte
	steps := []struct {
		name string
		run  func()
		want map[string]int
	}{
		{"checkout", func() { c = e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`) },
			map[string]int{"PutItem": 1, "TransactWriteItems": 1}},
		{"checkout with Idempotency-Key", func() {
			r := e.do("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`),
				http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"count-requests-key-0001"}})
			if r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}, map[string]int{"PutItem": 2, "TransactWriteItems": 1}},
		{"status poll", func() {
			if r := e.do("GET", "/api/orders/"+c.OrderID, nil, bearer(c.StatusToken)); r.Status != 200 {
				t.Fatalf("%d", r.Status)
			}
		}, map[string]int{"GetItem": 1}},
		{"first webhook (indexes the PaymentIntent, replays and clears what was parked under it)", func() {
			completed, _ = payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000}.Payload()
			if r := e.signedStripe(completed, whsec, time.Now()); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1, "GetItem": 1, "UpdateItem": 1}},
		{"duplicate webhook", func() {
			if r := e.signedStripe(completed, whsec, time.Now()); r.Status != 200 {
				t.Fatalf("%d", r.Status)
			}
		}, map[string]int{"BatchGetItem": 1}},
		{"later webhook", func() {
			refund, _ = payloads.Stripe{Type: "charge.refunded", OrderID: c.OrderID, Amount: 4000, Refunded: 1000}.Payload()
			if r := e.signedStripe(refund, whsec, time.Now()); r.Status != 200 {
				t.Fatalf("%d", r.Status)
			}
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"webhook that changes nothing (expired after paid)", func() {
			body, _ := payloads.Stripe{Type: "checkout.session.expired", OrderID: c.OrderID, Amount: 4000}.Payload()
			if r := e.signedStripe(body, whsec, time.Now()); r.Status != 200 {
				t.Fatalf("%d", r.Status)
			}
		}, map[string]int{"BatchGetItem": 1, "PutItem": 1}},
	}
	for _, st := range steps {
		st.run()
		if got := counter.Take(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: DynamoDB requests %v, want %v", st.name, got, st.want)
		}
	}
}

// TestDynamoDBRequests_RateLimit pins what the checkout rate limit costs:
// one conditional UpdateItem per checkout that makes an order, nothing for
// a replay, and a refused checkout writes nothing else.
func TestDynamoDBRequests_RateLimit(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	store := dynamostore.New(client, local.NewTable(t, client), time.Now)
	gw := &fakeGateway{}
	e := &env{t: t, store: store, gw: gw, h: api.Handler(api.Deps{
		Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": gw},
		CheckoutRateLimit: 2, Logger: quietLogger(),
	})}
	keyed := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"count-rate-limit-key-01"}}
	body := []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`)
	counter.Take()
	steps := []struct {
		name   string
		header http.Header
		status int
		want   map[string]int
	}{
		{"checkout", jsonHeader, 201, map[string]int{"UpdateItem": 1, "PutItem": 1, "TransactWriteItems": 1}},
		{"checkout with Idempotency-Key", keyed, 201, map[string]int{"PutItem": 2, "UpdateItem": 1, "TransactWriteItems": 1}},
		{"replay", keyed, 201, map[string]int{"PutItem": 1, "GetItem": 1}},
		{"refused", jsonHeader, 429, map[string]int{"UpdateItem": 1}},
	}
	for _, st := range steps {
		if r := e.do("POST", "/api/checkout", body, st.header); r.Status != st.status {
			t.Fatalf("%s: %d %s", st.name, r.Status, r.Body)
		}
		if got := counter.Take(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: DynamoDB requests %v, want %v", st.name, got, st.want)
		}
	}
}

// TestDynamoDBRequestsPerSubscriptionFlow pins what a subscription costs:
// a new event one read and one write (a renewal included), a duplicate
// one read, the state one read.
func TestDynamoDBRequestsPerSubscriptionFlow(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	e := newSubEnv(t, memory, true)
	e.store = dynamostore.New(client, local.NewTable(t, client), time.Now)
	// The same handler as newSubEnv's, on the counted store.
	e.h = newSubHandlerNoDispatch(t, e.store)
	var c subCreated
	var sub *subscription.Subscription
	renewal := stripeSub("invoice.paid", day(37), invoice("in_count", false, 900))
	counter.Take()
	steps := []struct {
		name string
		run  func()
		want map[string]int
	}{
		{"subscription checkout (stored, checkout recorded)", func() { c = e.subscribe("stripe", "club", "a@example.com") },
			map[string]int{"PutItem": 1, "TransactWriteItems": 1}},
		{"state", func() {
			if r := e.do("GET", "/api/subscriptions/"+c.SubscriptionID, nil, bearer(c.StatusToken)); r.Status != 200 {
				t.Fatalf("%d", r.Status)
			}
		}, map[string]int{"GetItem": 1}},
		{"checkout completed (indexes Stripe's subscription and the subscriber's address, replays what was parked under it)", func() {
			sub = e.stored(c.SubscriptionID)
			counter.Take()
			if r := stripeSub("checkout.session.completed", day(0), nil).send(e, sub, "sub_count"); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1, "GetItem": 1, "UpdateItem": 2}},
		{"renewal", func() {
			if r := renewal.send(e, sub, "sub_count"); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"duplicate", func() {
			if r := renewal.send(e, sub, "sub_count"); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}, map[string]int{"BatchGetItem": 1}},
	}
	for _, st := range steps {
		st.run()
		if got := counter.Take(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: DynamoDB requests %v, want %v", st.name, got, st.want)
		}
	}
}
