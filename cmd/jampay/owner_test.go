package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
)

// The owner's commands are tested as main runs them (run, with the
// settings in the getenv given), on DynamoDB Local — the in-memory store
// does not outlive a process, and the owner's commands are processes of
// their own — with stand-ins for the gateways and AWS's other APIs.

var (
	local     *ddblocal.Server
	localOnce sync.Once
	localErr  error
)

// TestMain stops the DynamoDB Local the tests started, if they started
// one (ddblocal starts one only without DYNAMODB_TEST_ENDPOINT): left
// running, it would hold the test's output open.
func TestMain(m *testing.M) {
	code := m.Run()
	local.Stop()
	os.Exit(code)
}

// shopTable is a fresh table on DynamoDB Local, the settings that name it,
// and a store on it to set up and check orders with.
func shopTable(t *testing.T) (map[string]string, *dynamostore.Store) {
	t.Helper()
	localOnce.Do(func() { local, localErr = ddblocal.Start() })
	if localErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(localErr)
		}
		t.Skip("DynamoDB Local:", localErr)
	}
	client := local.Client(t)
	table := local.NewTable(t, client)
	return map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": local.Endpoint}, dynamostore.New(client, table, time.Now)
}

// envOf is a getenv reading only m: nothing of the test process's own
// environment reaches the command.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// with returns a copy of m with more settings.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// jampay runs one command as main does and returns what it printed.
func jampay(ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(ctx, args, envOf(env), &out, &errOut)
	return out.String(), errOut.String(), err
}

// paidOrder is an order paid in full through gateway, with its history.
func paidOrder(gateway string, created time.Time, amount int64, currency string) *order.Order {
	_, hash := order.NewToken()
	o := &order.Order{
		ID: order.NewID(), Gateway: gateway, Status: order.Paid, Version: 1, Amount: amount, Currency: currency,
		Items: []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: amount / 2}},
		Email: "a@example.com", TokenHash: hash,
		CreatedAt: created, UpdatedAt: created.Add(time.Minute), Deadline: created.Add(time.Hour),
	}
	o.SessionRef, o.PaymentRef = "cs_test_"+o.ID[4:], "pi_"+o.ID[4:]
	if gateway == "razorpay" {
		o.SessionRef, o.PaymentRef = "order_"+o.ID[4:18], "pay_"+o.ID[4:18]
	}
	o.Evidence = order.Evidence{Paid: true, PaidAmount: amount, PaidCurrency: currency, PaidRef: o.PaymentRef}
	o.History = []order.Change{{At: created.Add(time.Minute), EventID: "evt_paid_" + o.ID[4:12], EventType: "checkout.session.completed",
		Source: order.SourceWebhook, From: order.Pending, To: order.Paid}}
	return o
}

func mustCreate(t *testing.T, s *dynamostore.Store, orders ...*order.Order) {
	t.Helper()
	for _, o := range orders {
		if err := s.CreateOrder(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// mustCreateIndexed creates o as checkout does: written first, then
// moved with its gateway reference indexed, so that what the gateway says
// of the reference finds it. o's Version grows by one.
func mustCreateIndexed(t *testing.T, s *dynamostore.Store, o *order.Order) {
	t.Helper()
	o.Version = 0
	mustCreate(t, s, o)
	next := o.Clone()
	next.Version++
	if err := s.Move(context.Background(), order.Move{Next: next, From: o.Status, FromVersion: o.Version, Refs: []string{o.SessionRef}}); err != nil {
		t.Fatal(err)
	}
	*o = next
}

func mustGet(t *testing.T, s *dynamostore.Store, id string) *order.Order {
	t.Helper()
	o, err := s.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// razorpayAPI stands in for Razorpay's REST API as its reference describes
// it (see pkg/razorpaygw/razorpayinquiry/testdata/README.md): HTTP basic
// auth; an order's payments at GET /v1/orders/:id/payments; the sweep's
// lists at GET /v1/payments|refunds|disputes (empty here); a refund at
// POST /v1/payments/:id/refund with X-Refund-Idempotency.
type razorpayAPI struct {
	t        *testing.T
	mu       sync.Mutex
	payments map[string][]json.RawMessage // by Razorpay order
	broken   map[string]bool              // Razorpay orders whose payments it will not list
	refuse   string                       // when set, why it refuses every refund (a 400)
	calls    []string
	refunds  []razorpayRefund
}

type razorpayRefund struct {
	ID, Payment, Key string
	Amount           int64
	Notes            map[string]string
}

func newRazorpayAPI(t *testing.T) (*razorpayAPI, *httptest.Server) {
	a := &razorpayAPI{t: t, payments: map[string][]json.RawMessage{}, broken: map[string]bool{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

// captured makes a captured payment of o exist at Razorpay, as the
// payment entity of its payment.captured webhook shows it.
func (a *razorpayAPI) captured(o *order.Order, at time.Time) {
	body, _, err := payloads.Razorpay{Type: "payment.captured", OrderID: o.ID, RazorpayOrderID: o.SessionRef,
		PaymentID: "pay_" + o.ID[4:18], Amount: o.Amount, Currency: o.Currency, Created: at}.Payload()
	if err != nil {
		a.t.Fatal(err)
	}
	var ev struct {
		Payload struct {
			Payment struct{ Entity json.RawMessage }
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.payments[o.SessionRef] = append(a.payments[o.SessionRef], ev.Payload.Payment.Entity)
}

var (
	orderPayments  = regexp.MustCompile(`^/v1/orders/(order_[A-Za-z0-9]+)/payments$`)
	paymentRefund  = regexp.MustCompile(`^/v1/payments/(pay_[A-Za-z0-9]+)/refund$`)
	paymentRefunds = regexp.MustCompile(`^/v1/payments/(pay_[A-Za-z0-9]+)/refunds$`)
)

func (a *razorpayAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, r.Method+" "+r.URL.Path)
	if u, p, ok := r.BasicAuth(); !ok || u != "rzp_test_key" || p != "key_secret_1234567890" {
		a.t.Errorf("%s %s: basic auth %q %q %v", r.Method, r.URL.Path, u, p, ok)
	}
	w.Header().Set("Content-Type", "application/json")
	items := []json.RawMessage{}
	switch p := r.URL.Path; {
	case r.Method == "GET" && orderPayments.MatchString(p) && a.broken[orderPayments.FindStringSubmatch(p)[1]]:
		// A 400 is not retried: the run reports it at once.
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"code":"BAD_REQUEST_ERROR","description":"The id provided does not exist","source":"business","step":"payment_initiation","reason":"input_validation_failed","metadata":{}}}`)
		return
	case r.Method == "GET" && orderPayments.MatchString(p):
		items = append(items, a.payments[orderPayments.FindStringSubmatch(p)[1]]...)
	case r.Method == "GET" && (p == "/v1/payments" || p == "/v1/refunds" || p == "/v1/disputes"):
	case r.Method == "GET" && paymentRefunds.MatchString(p):
		for _, rf := range a.refunds {
			if rf.Payment == paymentRefunds.FindStringSubmatch(p)[1] {
				items = append(items, refundEntity(rf))
			}
		}
	case r.Method == "POST" && paymentRefund.MatchString(p):
		var body struct {
			Amount int64             `json:"amount"`
			Notes  map[string]string `json:"notes"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || body.Amount < 100 {
			a.t.Errorf("refund body %s: %v", b, err)
		}
		if a.refuse != "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "BAD_REQUEST_ERROR", "description": a.refuse,
				"source": "business", "step": "payment_initiation", "reason": "input_validation_failed", "metadata": map[string]any{}}})
			return
		}
		rf := razorpayRefund{ID: fmt.Sprintf("rfnd_%014d", len(a.refunds)+1), Payment: paymentRefund.FindStringSubmatch(p)[1],
			Key: r.Header.Get("X-Refund-Idempotency"), Amount: body.Amount, Notes: body.Notes}
		a.refunds = append(a.refunds, rf)
		_, _ = w.Write(refundEntity(rf))
		return
	default:
		a.t.Errorf("unexpected %s %s", r.Method, p)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"entity": "collection", "count": len(items), "items": items})
}

// refundEntity is a refund as Razorpay's "Refunds Entity" shows it, still
// being processed (a "normal" refund takes days).
func refundEntity(rf razorpayRefund) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"id": rf.ID, "entity": "refund", "amount": rf.Amount, "currency": "INR",
		"payment_id": rf.Payment, "notes": rf.Notes, "receipt": nil, "acquirer_data": map[string]any{"arn": nil},
		"created_at": time.Now().Unix(), "batch_id": nil, "status": "pending", "speed_requested": "normal"})
	return b
}

// razorpayKeys are the settings of a shop selling through the stand-in.
func razorpayKeys(base string) []string {
	return []string{"RAZORPAY_KEY_ID", "rzp_test_key", "RAZORPAY_KEY_SECRET", "key_secret_1234567890", "RAZORPAY_API_BASE", base}
}

// awsTable is a fresh table on DynamoDB Local reached as AWS's DynamoDB
// is — through AWS_ENDPOINT_URL_DYNAMODB, with AWS credentials and a
// region, not DYNAMODB_ENDPOINT — and those settings. DynamoDB Local keeps
// a database per access key and region, so the table is made with the
// same.
func awsTable(t *testing.T) (map[string]string, *dynamostore.Store) {
	t.Helper()
	env, _ := shopTable(t)
	aws := map[string]string{"TABLE_NAME": env["TABLE_NAME"], "AWS_ENDPOINT_URL_DYNAMODB": local.Endpoint,
		"AWS_ACCESS_KEY_ID": "AKIAOWNEREXAMPLE", "AWS_SECRET_ACCESS_KEY": "owner-secret", "AWS_SESSION_TOKEN": "owner-session",
		"AWS_REGION": "eu-west-1"}
	client, err := dynamostore.NewClient(context.Background(), local.Endpoint, func(o *dynamodb.Options) {
		o.Region = aws["AWS_REGION"]
		o.Credentials = credentials.NewStaticCredentialsProvider(aws["AWS_ACCESS_KEY_ID"], aws["AWS_SECRET_ACCESS_KEY"], aws["AWS_SESSION_TOKEN"])
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamostore.CreateTable(ctx, client, aws["TABLE_NAME"]); err != nil {
		t.Fatal(err)
	}
	return aws, dynamostore.New(client, aws["TABLE_NAME"], time.Now)
}

// sigV4 matches the Authorization header of a request signed with the
// owner's access key for service in eu-west-1, with the session token.
func checkSigned(t *testing.T, r *http.Request, service string) {
	t.Helper()
	auth := r.Header.Get("Authorization")
	if !regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIAOWNEREXAMPLE/\d{8}/eu-west-1/` + service + `/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$`).MatchString(auth) {
		t.Errorf("%s: Authorization %q is not SigV4 for %s in eu-west-1 with the owner's key", service, auth, service)
	}
	if r.Header.Get("X-Amz-Security-Token") != "owner-session" {
		t.Errorf("%s: no session token", service)
	}
}

// stsAPI stands in for STS's GetCallerIdentity, as its API reference
// shows the request (Query protocol, form-encoded) and the XML answer.
func stsAPI(t *testing.T, arn string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkSigned(t, r, "sts")
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || string(b) != "Action=GetCallerIdentity&Version=2011-06-15" ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			t.Errorf("STS request %s %q %q", r.Method, b, r.Header.Get("Content-Type"))
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>`+arn+`</Arn>
    <UserId>AROAEXAMPLE:alice</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ssmAPI stands in for SSM's GetParameters (JSON 1.1 protocol), holding
// params by full name; it records the names each call asked for.
func ssmAPI(t *testing.T, params map[string]string, asked *[]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkSigned(t, r, "ssm")
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" {
			t.Errorf("SSM target %q", r.Header.Get("X-Amz-Target"))
		}
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !in.WithDecryption {
			t.Errorf("SSM request: %v %+v", err, in)
		}
		*asked = append(*asked, in.Names...)
		type param struct{ Name, Value, Type string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{Parameters: []param{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			if v, ok := params[n]; ok {
				out.Parameters = append(out.Parameters, param{n, v, "SecureString"})
			} else {
				out.InvalidParameters = append(out.InvalidParameters, n)
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCallerARN_RefusedCredentials: STS's refusal (expired or wrong
// credentials) is said with its code, and no actor is made up.
func TestCallerARN_RefusedCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
			`<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error>`+
			`<RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ErrorResponse>`)
	}))
	defer srv.Close()
	a, err := awsFromEnv(envOf(map[string]string{"AWS_ACCESS_KEY_ID": "AKIAOWNEREXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "eu-west-1"}))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := callerARN(context.Background(), a, srv.URL)
	if arn != "" || err == nil || !strings.Contains(err.Error(), "403 ExpiredToken: The security token included in the request is expired") {
		t.Fatalf("%q %v", arn, err)
	}
}
