// Command coldstart measures jampay's Lambda functions starting cold. It
// plays the Lambda Runtime API (the HTTP protocol aws-lambda-go speaks:
// /2018-06-01/runtime/invocation/next, …/response, …/error, /init/error),
// builds each function as Lambda would (for this machine's architecture),
// starts it against DynamoDB Local, feeds it real API Gateway v2 events and
// reports exec→first `next` (init), the first invoke, warm invoke p50/p99
// and peak resident memory. Secrets come from the environment, not SSM, so
// the SSM round trip (one request, in AWS) is not in the figures.
//
// notify gets DynamoDB stream events instead: one record each, the write
// that paid an order (its old and new images as read from the table, the
// new one owing the receipt). MAIL_FROM and EVENT_BUS_NAME are unset, so
// the effect is claimed and marked skipped: the figures are the dispatch
// path without a network sender (SES and EventBridge add their own round
// trips in AWS).
//
//	go run ./bench/coldstart -runs 5 -warm 200
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/localproc"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

const whsec = "whsec_coldstart_0123456789abcdef"

func main() {
	runs := flag.Int("runs", 5, "cold starts per function")
	warm := flag.Int("warm", 200, "warm invokes after the last cold start")
	flag.Parse()
	if err := run(*runs, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// runtimeAPI is the stand-in for Lambda's Runtime API.
type runtimeAPI struct {
	srv     *http.Server
	addr    string
	mu      sync.Mutex
	nextAt  chan time.Time       // each `next` call's arrival
	events  chan []byte          // queued invocations
	results chan result          // responses and errors
	pending map[string]time.Time // request id → handed out at
}

type result struct {
	err     string
	body    []byte
	elapsed time.Duration
}

func newRuntimeAPI() (*runtimeAPI, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &runtimeAPI{addr: l.Addr().String(), nextAt: make(chan time.Time, 16), events: make(chan []byte),
		results: make(chan result, 16), pending: map[string]time.Time{}}
	mux := http.NewServeMux()
	n := 0
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		a.nextAt <- time.Now()
		select {
		case ev := <-a.events:
			a.mu.Lock()
			n++
			id := fmt.Sprintf("req-%d", n)
			a.pending[id] = time.Now()
			a.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(10*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:jampay")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			_, _ = w.Write(ev)
		case <-r.Context().Done():
		}
	})
	finish := func(w http.ResponseWriter, r *http.Request, isErr bool) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		at := a.pending[r.PathValue("id")]
		a.mu.Unlock()
		res := result{body: body, elapsed: time.Since(at)}
		if isErr {
			res.err = string(body)
		}
		a.results <- res
		w.WriteHeader(http.StatusAccepted)
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) { finish(w, r, false) })
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) { finish(w, r, true) })
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.results <- result{err: "init error: " + string(body)}
		w.WriteHeader(http.StatusAccepted)
	})
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(l)
	return a, nil
}

// invoke queues one event and waits for the function's answer.
func (a *runtimeAPI) invoke(ev []byte) (result, error) {
	select {
	case a.events <- ev:
	case res := <-a.results:
		return res, fmt.Errorf("%s", res.err)
	case <-time.After(20 * time.Second):
		return result{}, fmt.Errorf("the function never asked for an event")
	}
	select {
	case res := <-a.results:
		if res.err != "" {
			return res, fmt.Errorf("%s", res.err)
		}
		return res, nil
	case <-time.After(20 * time.Second):
		return result{}, fmt.Errorf("no response")
	}
}

type function struct {
	name   string
	env    []string
	events func(i int) []byte // the i-th event to invoke with
	check  func(body []byte) error
	after  func(invoked int) error // checks the table once its invokes are done
}

func apiEvent(method, path string, headers map[string]string, body []byte) []byte {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " " + path, RawPath: path, Headers: headers, Body: string(body)}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	ev.RequestContext.RequestID, ev.RequestContext.DomainName = "coldstart", "abc123.execute-api.eu-west-1.amazonaws.com"
	b, _ := json.Marshal(ev)
	return b
}

func statusIs(code int) func([]byte) error {
	return func(b []byte) error {
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(b, &r); err != nil || r.StatusCode != code {
			return fmt.Errorf("want %d, got %s", code, b)
		}
		return nil
	}
}

func run(runs, warm int) error {
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "jampay-coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	for _, fn := range []string{"status", "webhook", "notify"} {
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(bin, fn, "bootstrap"), "./functions/"+fn)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", fn, err)
		}
	}
	ddb, err := ddblocal.Start()
	if err != nil {
		return err
	}
	defer ddb.Stop()
	client, err := dynamostore.NewClient(ctx, ddb.Endpoint)
	if err != nil {
		return err
	}
	table := fmt.Sprintf("jampay-coldstart-%d", time.Now().UnixNano())
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		return err
	}
	store := dynamostore.New(client, table, time.Now)
	// Orders to poll and to pay: one per invoke.
	total := runs*1 + warm + 1
	ids, tokens := make([]string, total), make([]string, total)
	for i := range ids {
		token, hash := order.NewToken()
		id := order.NewID()
		// The session the webhook names is the order's own (provenance).
		o := &order.Order{ID: id, Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd", TokenHash: hash,
			Items: []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}}, CreatedAt: time.Now(), UpdatedAt: time.Now(),
			SessionRef: "cs_test_" + id[4:]}
		if err := store.CreateOrder(ctx, o); err != nil {
			return err
		}
		ids[i], tokens[i] = o.ID, token
	}
	// notify's mails name the shop: its catalog ships beside the
	// bootstrap, as the Makefile packages it.
	cat, err := os.ReadFile(filepath.Join(root, "site", "catalog.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "notify", "catalog.json"), cat, 0o644); err != nil {
		return err
	}
	notifyEvents, notified, err := paidOrders(ctx, client, table, store, runs+warm+1)
	if err != nil {
		return err
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + ddb.Endpoint,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "ALLOWED_ORIGINS=https://shop.example.com",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "CHECKOUT_RATE_LIMIT=0"}
	fns := []function{
		{name: "status", env: base, check: statusIs(200), events: func(i int) []byte {
			return apiEvent("GET", "/api/orders/"+ids[i], map[string]string{"authorization": "Bearer " + tokens[i]}, nil)
		}},
		{name: "webhook", env: append(append([]string{}, base...), "STRIPE_WEBHOOK_SECRET="+whsec, "STRIPE_MODE=test"), check: statusIs(200), events: func(i int) []byte {
			body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: ids[i], Amount: 4000}.Payload()
			sig := payloads.StripeSignature(body, whsec, time.Time{})
			return apiEvent("POST", "/api/webhooks/stripe", map[string]string{"stripe-signature": sig, "content-type": "application/json"}, body)
		}},
		// No MAIL_FROM, no EVENT_BUS_NAME: the receipt is recorded skipped.
		{name: "notify", env: append(append([]string{}, base...), "CATALOG_PATH="+filepath.Join(bin, "notify", "catalog.json")),
			check: noBatchFailures, events: func(i int) []byte { return notifyEvents[i] },
			after: func(invoked int) error { return allSkipped(ctx, store, notified[:invoked]) }},
	}
	fmt.Printf("machine: %s/%s, %d CPUs; %d cold starts per function, then %d warm invokes\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runs, warm)
	fmt.Printf("%-8s %12s %14s %16s %10s %10s %12s\n", "function", "init (p50)", "first invoke", "exec→1st resp", "warm p50", "warm p99", "peak RSS")
	for _, fn := range fns {
		var inits, firsts, totals, warms []time.Duration
		var peak int64
		next := 0
		for r := 0; r < runs; r++ {
			api, err := newRuntimeAPI()
			if err != nil {
				return err
			}
			cmd := exec.Command(filepath.Join(bin, fn.name, "bootstrap"))
			cmd.Env = append(fn.env, "AWS_LAMBDA_RUNTIME_API="+api.addr)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				return err
			}
			var initAt time.Time
			select {
			case initAt = <-api.nextAt:
			case res := <-api.results:
				return fmt.Errorf("%s: %s %s", fn.name, res.err, stderr.String())
			case <-time.After(20 * time.Second):
				return fmt.Errorf("%s never asked for an event: %s", fn.name, stderr.String())
			}
			res, err := api.invoke(fn.events(next))
			next++
			if err == nil {
				err = fn.check(res.body)
			}
			if err != nil {
				return fmt.Errorf("%s first invoke: %v %s", fn.name, err, stderr.String())
			}
			inits, firsts, totals = append(inits, initAt.Sub(start)), append(firsts, res.elapsed), append(totals, time.Since(start))
			if r == runs-1 {
				for i := 0; i < warm; i++ {
					<-api.nextAt
					res, err := api.invoke(fn.events(next))
					next++
					if err == nil {
						err = fn.check(res.body)
					}
					if err != nil {
						return fmt.Errorf("%s warm invoke: %v", fn.name, err)
					}
					warms = append(warms, res.elapsed)
				}
			}
			if kb := localproc.PeakRSS(cmd.Process.Pid); kb > peak {
				peak = kb
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			api.srv.Close()
		}
		if fn.after != nil {
			if err := fn.after(next); err != nil {
				return fmt.Errorf("%s: %v", fn.name, err)
			}
		}
		fmt.Printf("%-8s %12s %14s %16s %10s %10s %9.1f MiB\n", fn.name, p(inits, 50), p(firsts, 50), p(totals, 50), p(warms, 50), p(warms, 99), float64(peak)/1024)
	}
	fmt.Printf("\nnode -e \"require('stripe')\" (p50 of %d): %s\n", runs, nodeStripe(root, runs))
	return nil
}

// paidOrders makes n orders paid through the shop, as a webhook pays
// them, each owing its receipt; it answers for each the stream event
// Lambda would hand notify for the paying write (NEW_AND_OLD_IMAGES), and
// the order ids.
func paidOrders(ctx context.Context, client *dynamodb.Client, table string, store *dynamostore.Store, n int) ([][]byte, []string, error) {
	svc := shop.New(shop.Service{Store: store, Now: time.Now})
	image := func(id string) (map[string]events.DynamoDBAttributeValue, error) {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: new(true),
			Key: map[string]ddbtypes.AttributeValue{dynamostore.KeyAttr: &ddbtypes.AttributeValueMemberS{Value: "order#" + id}}})
		if err != nil || out.Item == nil {
			return nil, fmt.Errorf("read order %s: %v", id, err)
		}
		return lambdaImage(out.Item), nil
	}
	evs, ids := make([][]byte, n), make([]string, n)
	for i := range evs {
		id := order.NewID()
		o := &order.Order{ID: id, Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd", Email: "ada@example.com",
			Items:     []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}},
			CreatedAt: time.Now(), UpdatedAt: time.Now(), Deadline: time.Now().Add(time.Hour), SessionRef: "cs_test_" + id[4:]}
		if err := store.CreateOrder(ctx, o); err != nil {
			return nil, nil, err
		}
		old, err := image(id)
		if err != nil {
			return nil, nil, err
		}
		if _, _, err := svc.ApplyEvent(ctx, order.Event{Gateway: "stripe", ID: "evt_coldstart_" + id, Type: "checkout.session.completed",
			Kind: order.KindPaid, OrderID: id, Refs: []string{o.SessionRef}, SessionRef: o.SessionRef, PaymentRef: "pi_" + id,
			Amount: 4000, Currency: "usd"}); err != nil {
			return nil, nil, err
		}
		paid, err := image(id)
		if err != nil {
			return nil, nil, err
		}
		key := map[string]events.DynamoDBAttributeValue{dynamostore.KeyAttr: paid[dynamostore.KeyAttr]}
		b, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
			EventID: fmt.Sprintf("coldstart-%d", i), EventName: "MODIFY", EventVersion: "1.1", EventSource: "aws:dynamodb",
			AWSRegion: "us-east-1", EventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/" + table + "/stream/2026-01-01T00:00:00.000",
			Change: events.DynamoDBStreamRecord{ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()}, Keys: key,
				NewImage: paid, OldImage: old, SequenceNumber: fmt.Sprintf("%021d", i+1), SizeBytes: 1024, StreamViewType: "NEW_AND_OLD_IMAGES"},
		}}})
		if err != nil {
			return nil, nil, err
		}
		evs[i], ids[i] = b, id
	}
	return evs, ids, nil
}

// lambdaImage turns an item as the DynamoDB API answers it into a stream
// image as aws-lambda-go reads it.
func lambdaImage(item map[string]ddbtypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v ddbtypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *ddbtypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = lambdaValue(e)
		}
		return events.NewListAttribute(l)
	case *ddbtypes.AttributeValueMemberM:
		return events.NewMapAttribute(lambdaImage(v.Value))
	}
	panic(fmt.Sprintf("attribute value %T", v))
}

// noBatchFailures checks notify's answer: no record reported failed.
func noBatchFailures(b []byte) error {
	var r events.DynamoDBEventResponse
	if err := json.Unmarshal(b, &r); err != nil || len(r.BatchItemFailures) != 0 {
		return fmt.Errorf("want no batch item failures, got %s", b)
	}
	return nil
}

// allSkipped checks that notify dispatched each order it was handed: with
// no sender set, every effect is marked skipped, none left owed.
func allSkipped(ctx context.Context, store *dynamostore.Store, ids []string) error {
	for _, id := range ids {
		o, err := store.GetOrder(ctx, id)
		if err != nil {
			return err
		}
		if len(o.Outbox) == 0 {
			return fmt.Errorf("order %s owes nothing: the event measured no dispatch", id)
		}
		for _, w := range o.Outbox {
			if w.State != order.EffectSkipped {
				return fmt.Errorf("order %s: v%d %s is %s, want skipped", id, w.Version, w.Type, w.State)
			}
		}
	}
	return nil
}

// nodeStripe times Node loading the official stripe package, the common
// alternative's cold start floor.
func nodeStripe(root string, runs int) string {
	var d []time.Duration
	for i := 0; i < runs; i++ {
		cmd := exec.Command("node", "-e", "require('stripe')")
		cmd.Dir = root
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return "not measured (" + strings.TrimSpace(string(out)) + "; run npm ci)"
		}
		d = append(d, time.Since(start))
	}
	return p(d, 50)
}

func p(d []time.Duration, pct int) string {
	if len(d) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*pct + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond).String()
}

func repoRoot() (string, error) {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run inside the jampay repository")
		}
		dir = parent
	}
}
