package shop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

const testCatalog = `{"shopName":"Test","products":[
 {"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"},
 {"sku":"mug","name":"Mug","unitAmount":1250,"currency":"usd"}]}`

// gateway makes a checkout for every order, or fails with err.
type gateway struct {
	calls int
	err   error
}

func (g *gateway) CreateCheckout(_ context.Context, o *order.Order) (order.Checkout, error) {
	g.calls++
	if g.err != nil {
		return order.Checkout{}, g.err
	}
	return order.Checkout{SessionRef: "cs_test_" + o.ID[4:], Data: []byte(`{"url":"https://checkout.example/` + o.ID + `"}`)}, nil
}

func newShop(t *testing.T, limit int) (*shop.Service, *memstore.Store, *gateway) {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	gw := &gateway{}
	svc := shop.New(shop.Service{Store: st, Catalog: cat, Gateways: map[string]shop.Gateway{"stripe": gw},
		RateLimit: limit, Now: func() time.Time { return now }})
	return svc, st, gw
}

var cart = []catalog.Line{{SKU: "tee-m", Quantity: 2}}

func TestCheckout_StoresThePricedOrderBeforeTheGatewayAndRecordsItsCheckout(t *testing.T) {
	svc, st, gw := newShop(t, 0)
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Email: "a@example.com"})
	if err != nil || !res.Created || res.Replayed || gw.calls != 1 {
		t.Fatalf("%+v %v (gateway calls %d)", res, err, gw.calls)
	}
	o, err := st.GetOrder(ctx, res.Order.ID)
	if err != nil || o.Amount != 4000 || o.Currency != "usd" || o.SessionRef != "cs_test_"+o.ID[4:] || o.Checkout == "" ||
		!order.TokenMatches(o, res.Token) {
		t.Fatalf("stored %+v, %v", o, err)
	}
	if found, err := st.FindByRef(ctx, "stripe", o.SessionRef); err != nil || found.ID != o.ID {
		t.Fatalf("the session is not indexed: %v", err)
	}
}

func TestCheckout_ReplaysAnswerTheSameOrderAndToken(t *testing.T) {
	svc, _, gw := newShop(t, 0)
	req := shop.CheckoutRequest{Gateway: "stripe", Lines: cart, IdempotencyKey: "double-click-key-000001"}
	first, err := svc.Checkout(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Checkout(ctx, req)
	if err != nil || !again.Replayed || again.Order.ID != first.Order.ID || again.Token != first.Token || gw.calls != 1 {
		t.Fatalf("replay: %+v %v (gateway calls %d)", again, err, gw.calls)
	}
	other := req
	other.Lines = []catalog.Line{{SKU: "mug", Quantity: 1}}
	if _, err := svc.Checkout(ctx, other); !errors.Is(err, &order.Error{Code: order.CodeIdempotencyReused}) {
		t.Fatalf("the same key for another cart: %v", err)
	}
}

func TestCheckout_AGatewayFailureKeepsTheOrderWithTheErrorAndNoEmail(t *testing.T) {
	svc, st, gw := newShop(t, 0)
	gw.err = errors.New("stripe: 400 invalid_request_error: customer_email a@example.com is invalid; also b@x.org")
	_, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Email: "a@example.com", IdempotencyKey: "gateway-down-key-000001"})
	var gwErr *shop.GatewayError
	if !errors.As(err, &gwErr) || !errors.Is(err, shop.ErrGateway) || strings.Contains(gwErr.Message, "@") {
		t.Fatalf("%v", err)
	}
	o, _ := st.GetOrder(ctx, gwErr.OrderID)
	if o == nil || o.Status != order.Pending || o.GatewayError == "" || strings.Contains(o.GatewayError, "@") {
		t.Fatalf("kept as %+v", o)
	}
	gw.err = nil
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Email: "a@example.com", IdempotencyKey: "gateway-down-key-000001"})
	if err != nil || res.Order.ID != o.ID || !res.Created {
		t.Fatalf("the retry did not ask the gateway again for the same order: %+v %v", res, err)
	}
}

func TestCheckout_RateLimitCountsNewOrdersNotReplays(t *testing.T) {
	svc, _, _ := newShop(t, 1)
	req := shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Client: "203.0.113.9", IdempotencyKey: "counted-once-key-000001"}
	if _, err := svc.Checkout(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Checkout(ctx, req); err != nil {
		t.Fatalf("a replay at the limit: %v", err)
	}
	_, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Client: "203.0.113.9"})
	var limited *shop.RateLimited
	if !errors.As(err, &limited) || limited.RetryAfter != 10*time.Minute {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, Client: "203.0.113.10"}); err != nil {
		t.Fatalf("another client: %v", err)
	}
}

func TestCheckout_RefusesWhatIsNotForSale(t *testing.T) {
	svc, _, gw := newShop(t, 0)
	for name, tc := range map[string]struct {
		req  shop.CheckoutRequest
		code order.Code
	}{
		"unknown gateway": {shop.CheckoutRequest{Gateway: "paypal", Lines: cart}, order.CodeUnknownGateway},
		"unknown sku":     {shop.CheckoutRequest{Gateway: "stripe", Lines: []catalog.Line{{SKU: "nope", Quantity: 1}}}, order.CodeUnknownSKU},
		"short key":       {shop.CheckoutRequest{Gateway: "stripe", Lines: cart, IdempotencyKey: "short"}, order.CodeInvalidIdempotency},
	} {
		if _, err := svc.Checkout(ctx, tc.req); order.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if gw.calls != 0 {
		t.Fatalf("the gateway heard of %d refused checkouts", gw.calls)
	}
}
