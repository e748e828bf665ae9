package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/stripeverify"
	"github.com/jampay/jampay/pkg/subscription"
)

const whsec, rzpSecret = "whsec_bench", "rzp_bench"

type stubGateway struct{}

func (stubGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	return order.Checkout{SessionRef: "cs_" + o.ID[4:], Data: []byte(`{"url":"https://checkout.example/x"}`), Deadline: time.Now()}, nil
}

func handler(b *testing.B) (http.Handler, *memstore.Store) {
	b.Helper()
	cat, err := catalog.Load("../site/catalog.json")
	if err != nil {
		b.Fatal(err)
	}
	store := memstore.New(time.Now)
	return api.Handler(api.Deps{
		Store: store, Catalog: cat,
		Gateways: map[string]api.Gateway{"stripe": stubGateway{}, "razorpay": stubGateway{}},
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{whsec}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{rzpSecret}},
		},
		// Every benchmark request comes from one address: no rate limit.
		CheckoutRateLimit: 0,
		Logger:            slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}), store
}

func stripeRequest(body []byte) *http.Request {
	req := httptest.NewRequest("POST", "/api/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", payloads.StripeSignature(body, whsec, time.Time{}))
	return req
}

func newOrders(b *testing.B, store *memstore.Store, gateway string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		id := order.NewID()
		// The checkout the events name is the order's own (provenance): the
		// session or Razorpay order payloads makes for the order id.
		session := map[string]string{"stripe": "cs_test_" + id[4:], "razorpay": "order_" + id[4:18]}[gateway]
		o := &order.Order{ID: id, Gateway: gateway, Status: order.Pending, Amount: 4000, Currency: "usd",
			Items: []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}}}
		if err := store.CreateOrder(context.Background(), o); err != nil {
			b.Fatal(err)
		}
		// Recorded and indexed as checkout records it.
		next := o.Clone()
		next.SessionRef, next.Version = session, 1
		if err := store.Move(context.Background(), order.Move{Next: next, From: order.Pending, Refs: []string{session}}); err != nil {
			b.Fatal(err)
		}
		ids[i] = o.ID
	}
	return ids
}

// serveAll times the handler on one signed request per body. The requests
// are signed before the timer starts, as the floor's is: signing is the
// gateway's work, not ours.
func serveAll(b *testing.B, h http.Handler, bodies [][]byte) {
	reqs := make([]*http.Request, len(bodies))
	for i, body := range bodies {
		reqs[i] = stripeRequest(body)
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for _, req := range reqs {
		serve(b, h, req)
	}
}

func serve(b *testing.B, h http.Handler, req *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 && rec.Code != 201 {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// allPaid checks, off the clock, that every event measured moved its order:
// a benchmark of events that move nothing measures the wrong path.
func allPaid(b *testing.B, store *memstore.Store, ids []string) {
	b.StopTimer()
	for _, id := range ids {
		if o, err := store.GetOrder(context.Background(), id); err != nil || o.Status != order.Paid {
			b.Fatalf("order %s after its event: %v %v", id, o, err)
		}
	}
}

// BenchmarkStripeWebhook: one Stripe webhook through the HTTP handler on
// the in-memory store: a new event that moves an order, and a redelivery.
func BenchmarkStripeWebhook(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		h, store := handler(b)
		ids := newOrders(b, store, "stripe", b.N)
		bodies := make([][]byte, b.N)
		for i, id := range ids {
			bodies[i] = StripePayload(id, "", 4000)
		}
		serveAll(b, h, bodies)
		allPaid(b, store, ids)
	})
	b.Run("duplicate", func(b *testing.B) {
		h, store := handler(b)
		body := StripePayload(newOrders(b, store, "stripe", 1)[0], "", 4000)
		serve(b, h, stripeRequest(body))
		bodies := make([][]byte, b.N)
		for i := range bodies {
			bodies[i] = body
		}
		serveAll(b, h, bodies)
	})
}

func razorpayRequest(body []byte, id string) *http.Request {
	req := httptest.NewRequest("POST", "/api/webhooks/razorpay", bytes.NewReader(body))
	req.Header.Set("X-Razorpay-Signature", razorpayhook.Sign(body, rzpSecret))
	req.Header.Set("X-Razorpay-Event-Id", id)
	return req
}

// BenchmarkRazorpayWebhook: one Razorpay payment.captured through the HTTP
// handler on the in-memory store, new and duplicate.
func BenchmarkRazorpayWebhook(b *testing.B) {
	payload := func(orderID string) ([]byte, string) {
		body, id, _ := payloads.Razorpay{Type: "payment.captured", OrderID: orderID, Amount: 4000, Currency: "usd"}.Payload()
		return body, id
	}
	b.Run("new", func(b *testing.B) {
		h, store := handler(b)
		ids := newOrders(b, store, "razorpay", b.N)
		bodies, evs := make([][]byte, b.N), make([]string, b.N)
		for i, id := range ids {
			bodies[i], evs[i] = payload(id)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serve(b, h, razorpayRequest(bodies[i], evs[i]))
		}
		allPaid(b, store, ids)
	})
	b.Run("duplicate", func(b *testing.B) {
		h, store := handler(b)
		body, id := payload(newOrders(b, store, "razorpay", 1)[0])
		serve(b, h, razorpayRequest(body, id))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serve(b, h, razorpayRequest(body, id))
		}
	})
}

// BenchmarkVerify: signature verification alone, and the floor the
// webhook handler is compared with — stripe-go's ValidatePayload plus
// decoding only the fields used.
func BenchmarkVerify(b *testing.B) {
	body := StripePayload(order.NewID(), "", 4000)
	header := payloads.StripeSignature(body, whsec, time.Time{})
	b.Run("stripe-ValidatePayload", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := webhook.ValidatePayload(body, header, whsec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stripe-floor-validate+decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := webhook.ValidatePayload(body, header, whsec); err != nil {
				b.Fatal(err)
			}
			if _, err := stripehook.Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stripe-verifier", func(b *testing.B) {
		v := &stripeverify.Verifier{Secrets: []string{whsec}}
		h := http.Header{"Stripe-Signature": {header}}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := v.ParseWebhook(context.Background(), h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("razorpay-verifier", func(b *testing.B) {
		rbody, id, _ := payloads.Razorpay{Type: "payment.captured", OrderID: order.NewID(), Amount: 4000}.Payload()
		v := &razorpayhook.Verifier{Secrets: []string{rzpSecret}}
		h := http.Header{"X-Razorpay-Signature": {razorpayhook.Sign(rbody, rzpSecret)}, "X-Razorpay-Event-Id": {id}}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := v.ParseWebhook(context.Background(), h, rbody); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckout: POST /api/checkout with a stubbed gateway.
func BenchmarkCheckout(b *testing.B) {
	h, _ := handler(b)
	body := []byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2},{"sku":"mug","quantity":1}],"email":"a@example.com"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/checkout", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		serve(b, h, req)
	}
}

// BenchmarkStatus: GET /api/orders/{id} with the right token.
func BenchmarkStatus(b *testing.B) {
	h, _ := handler(b)
	req := httptest.NewRequest("POST", "/api/checkout", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}]}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var c struct{ OrderID, StatusToken string }
	_ = json.Unmarshal(rec.Body.Bytes(), &c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", "/api/orders/"+c.OrderID, nil)
		r.Header.Set("Authorization", "Bearer "+c.StatusToken)
		serve(b, h, r)
	}
}

func TestStripePayloadIsRealisticSize(t *testing.T) {
	n := len(StripePayload(order.NewID(), "", 4000))
	if n < 2500 || n > 4000 {
		t.Fatalf("benchmark payload is %d bytes, want about 3 KB", n)
	}
}

// subscriptionInvoice is a Stripe invoice.paid (API 2023-10-16, about
// 6 KB, as Stripe sends it) for subscription id on Stripe's subscription
// ref: a renewal of 900 usd, its invoice and event ids unique per i.
func subscriptionInvoice(b *testing.B, id, ref string, i int) []byte {
	b.Helper()
	raw, err := os.ReadFile("../pkg/stripehook/testdata/invoice.paid.json")
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	s = strings.ReplaceAll(s, "sbn_k3m7q2xw4hzd6fp5rt2vbnca7e", id)
	s = strings.ReplaceAll(s, "sub_1QJm4rB7WZ01zgkWf3Xr9sKa", ref)
	s = strings.ReplaceAll(s, "in_1QJm4sB7WZ01zgkW0aT3vE5b", fmt.Sprintf("in_bench%08d", i))
	s = strings.ReplaceAll(s, "evt_1QJm4uB7WZ01zgkWb9C1dE3f", fmt.Sprintf("evt_bench%08d", i))
	s = strings.Replace(s, `"amount_paid": 0`, `"amount_paid": 900`, 1)
	return []byte(s)
}

// newSubscriptions stores n started subscriptions of 900 usd a month,
// their Stripe subscription indexed as a completed checkout leaves it.
func newSubscriptions(b *testing.B, store *memstore.Store, n int) (ids, refs []string) {
	ctx := context.Background()
	for range n {
		id := subscription.NewID()
		ref := "sub_bench" + id[4:]
		s := &subscription.Subscription{ID: id, Gateway: "stripe", Status: subscription.Pending, SKU: "club-monthly",
			Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd", Interval: "month", IntervalCount: 1}
		if err := store.CreateSubscription(ctx, s); err != nil {
			b.Fatal(err)
		}
		next := s.Clone()
		next.Version, next.Status, next.SessionRef, next.SubscriptionRef = 1, subscription.Active, "cs_"+ref, ref
		next.Evidence.Completed = true
		if err := store.MoveSubscription(ctx, subscription.Move{Next: next, From: subscription.Pending, Refs: []string{"cs_" + ref, ref}}); err != nil {
			b.Fatal(err)
		}
		ids, refs = append(ids, id), append(refs, ref)
	}
	return ids, refs
}

// BenchmarkSubscriptionWebhook: a Stripe invoice.paid renewing a
// subscription, through the HTTP handler on the in-memory store, new and
// duplicate; and its floor: stripe-go's ValidatePayload plus decoding, of
// the same 6 KB body.
func BenchmarkSubscriptionWebhook(b *testing.B) {
	b.Run("floor-validate+decode", func(b *testing.B) {
		body := subscriptionInvoice(b, subscription.NewID(), "sub_floor", 0)
		header := payloads.StripeSignature(body, whsec, time.Time{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := webhook.ValidatePayload(body, header, whsec); err != nil {
				b.Fatal(err)
			}
			if _, err := stripehook.Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		h, store := handler(b)
		ids, refs := newSubscriptions(b, store, b.N)
		bodies := make([][]byte, b.N)
		for i := range ids {
			bodies[i] = subscriptionInvoice(b, ids[i], refs[i], i)
		}
		serveAll(b, h, bodies)
		b.StopTimer()
		for i, id := range ids {
			s, err := store.GetSubscription(context.Background(), id)
			if err != nil || !s.Evidence.Renewed(fmt.Sprintf("in_bench%08d", i)) {
				b.Fatalf("subscription %s after its renewal: %+v %v", id, s, err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		h, store := handler(b)
		ids, refs := newSubscriptions(b, store, 1)
		body := subscriptionInvoice(b, ids[0], refs[0], 0)
		serve(b, h, stripeRequest(body))
		bodies := make([][]byte, b.N)
		for i := range bodies {
			bodies[i] = body
		}
		serveAll(b, h, bodies)
	})
}
