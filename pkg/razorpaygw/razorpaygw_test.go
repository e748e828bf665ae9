package razorpaygw_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
)

func fixture(t *testing.T, name, receipt string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(b), "{{RECEIPT}}", receipt))
}

// razorpayAPI is an httptest stand-in for Razorpay's Orders API that checks
// requests as the API reference describes them.
type razorpayAPI struct {
	t         *testing.T
	creates   atomic.Int64
	lists     atomic.Int64
	badAmount bool // answer 400 as Razorpay does for an invalid amount
	made      atomic.Bool
}

func (a *razorpayAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret" {
		a.t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/orders":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			a.t.Errorf("Content-Type %q", ct)
		}
		var body struct {
			Amount   json.Number       `json:"amount"`
			Currency string            `json:"currency"`
			Receipt  string            `json:"receipt"`
			Notes    map[string]string `json:"notes"`
		}
		raw, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			a.t.Errorf("body %s: %v", raw, err)
		}
		if body.Amount.String() != "39800" || body.Currency != "INR" || !order.ValidID(body.Receipt) || body.Notes["order_id"] != body.Receipt {
			a.t.Errorf("create order body = %s", raw)
		}
		a.creates.Add(1)
		if a.badAmount {
			w.WriteHeader(400)
			_, _ = w.Write(fixture(a.t, "error-bad-request.json", body.Receipt))
			return
		}
		a.made.Store(true)
		_, _ = w.Write(fixture(a.t, "order-create-response.json", body.Receipt))
	case r.Method == "GET" && r.URL.Path == "/v1/orders":
		a.lists.Add(1)
		receipt := r.URL.Query().Get("receipt")
		if !a.made.Load() {
			_, _ = w.Write([]byte(`{"entity":"collection","count":0,"items":[]}`))
			return
		}
		_, _ = w.Write(fixture(a.t, "order-list-response.json", receipt))
	default:
		a.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(404)
	}
}

func newOrder() *order.Order {
	return &order.Order{ID: order.NewID(), Gateway: "razorpay", Amount: 39800, Currency: "inr", Email: "a@example.com",
		Items: []order.LineItem{{SKU: "sticker-in", Name: "Stickers", Quantity: 2, UnitAmount: 19900}}}
}

func gateway(url string) *razorpaygw.Gateway {
	return razorpaygw.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: url, ShopName: "Jam & Co."})
}

func TestCreateCheckout_AsTheReferenceDescribes(t *testing.T) {
	api := &razorpayAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	o := newOrder()
	c, err := gateway(srv.URL).CreateCheckout(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	_ = json.Unmarshal(c.Data, &data)
	if c.SessionRef != "order_IluGWxBm9U8zJ8" || data["keyId"] != "rzp_test_key" || data["orderId"] != "order_IluGWxBm9U8zJ8" ||
		data["amount"] != 39800.0 || data["currency"] != "INR" || data["name"] != "Jam & Co." {
		t.Fatalf("checkout = %s %s", c.SessionRef, c.Data)
	}
	if strings.Contains(string(c.Data), "key_secret") {
		t.Fatal("the key secret is in what goes to the browser")
	}
}

func TestCreateCheckout_FourXXIsAnError(t *testing.T) {
	srv := httptest.NewServer(&razorpayAPI{t: t, badAmount: true})
	defer srv.Close()
	if _, err := gateway(srv.URL).CreateCheckout(context.Background(), newOrder()); err == nil {
		t.Fatal("a 400 from Razorpay was taken for an order")
	}
}

// lostAnswer delivers the first create to Razorpay, then loses the answer
// as a client timeout would: Razorpay made the order, we never heard.
type lostAnswer struct{ lost atomic.Bool }

type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (l *lostAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == "POST" && l.lost.CompareAndSwap(false, true) {
		resp.Body.Close()
		return nil, timeoutError{}
	}
	return resp, err
}

func TestCreateCheckout_TimeoutFindsTheOrderByReceipt(t *testing.T) {
	api := &razorpayAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	gw := razorpaygw.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: srv.URL, Transport: &lostAnswer{}})
	c, err := gw.CreateCheckout(context.Background(), newOrder())
	if err != nil {
		t.Fatal(err)
	}
	if api.creates.Load() != 1 || api.lists.Load() != 1 || c.SessionRef != "order_EKwxwAgItmmXdp" {
		t.Fatalf("creates %d, lists %d, ref %s: a timed-out create must find the order, not make another", api.creates.Load(), api.lists.Load(), c.SessionRef)
	}
}

func TestCreateCheckout_RetryAfterGatewayErrorLooksFirst(t *testing.T) {
	api := &razorpayAPI{t: t}
	api.made.Store(true)
	srv := httptest.NewServer(api)
	defer srv.Close()
	o := newOrder()
	o.GatewayError = "razorpay: create order: timeout"
	if _, err := gateway(srv.URL).CreateCheckout(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if api.creates.Load() != 0 {
		t.Fatal("made a second Razorpay order for one of ours")
	}
}

func TestCreateCheckout_Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := gateway("http://127.0.0.1:1").CreateCheckout(ctx, newOrder()); err == nil {
		t.Fatal("no error")
	}
}
