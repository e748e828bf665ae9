package ownerevents

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/shop"
)

// fakeEventBridge is an httptest EventBridge: it checks each request as
// AWS documents PutEvents (testdata/README.md) and answers the queued
// responses in turn, the last one forever.
type fakeEventBridge struct {
	t       *testing.T
	mu      sync.Mutex
	answers []string
	bodies  []map[string]any
}

func (f *fakeEventBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		t.Errorf("request %s %s, want POST /", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		t.Errorf("X-Amz-Target = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/events/aws4_request") {
		t.Errorf("Authorization = %q, want SigV4 for service events", auth)
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("body %s: %v", raw, err)
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	answer := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = io.WriteString(w, answer)
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newPublisher(t *testing.T, answers ...string) (*Publisher, *fakeEventBridge) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	fake := &fakeEventBridge{t: t, answers: answers}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := NewClient(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return New(client, "jampay-test", Options{Attempts: 3, Backoff: time.Millisecond}), fake
}

// paidEvent is the event testdata/put_events_request.json carries.
var paidEvent = shop.OwnerEvent{
	DetailType: "order.paid",
	Detail:     []byte(`{"id":"ord_abc:3:order.paid","type":"order.paid","orderId":"ord_abc","version":3,"amount":4000,"currency":"usd"}`),
}

func TestPublish_SendsTheDocumentedRequest(t *testing.T) {
	p, fake := newPublisher(t, testdata(t, "put_events_ok.json"))
	if err := p.Publish(context.Background(), paidEvent); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(testdata(t, "put_events_request.json")), &want); err != nil {
		t.Fatal(err)
	}
	if len(fake.bodies) != 1 || !reflect.DeepEqual(fake.bodies[0], want) {
		t.Fatalf("request bodies %v, want one %v", fake.bodies, want)
	}
	// Detail is a string holding the JSON, not a nested object.
	detail, _ := fake.bodies[0]["Entries"].([]any)[0].(map[string]any)["Detail"].(string)
	if detail != string(paidEvent.Detail) {
		t.Errorf("Detail = %q", detail)
	}
}

func TestPublish_RetriesAFailedEntry(t *testing.T) {
	p, fake := newPublisher(t, testdata(t, "put_events_partial_failure.json"), testdata(t, "put_events_ok.json"))
	if err := p.Publish(context.Background(), paidEvent); err != nil {
		t.Fatal(err)
	}
	if len(fake.bodies) != 2 || !reflect.DeepEqual(fake.bodies[0], fake.bodies[1]) {
		t.Fatalf("want the same entry put twice, got %v", fake.bodies)
	}
}

func TestPublish_GivesUpAfterTheAttempts(t *testing.T) {
	p, fake := newPublisher(t, testdata(t, "put_events_partial_failure.json"))
	err := p.Publish(context.Background(), paidEvent)
	if !errors.Is(err, ErrFailedEntry) || !strings.Contains(err.Error(), "InternalFailure") {
		t.Fatalf("err = %v", err)
	}
	if len(fake.bodies) != 3 {
		t.Errorf("%d attempts, want 3", len(fake.bodies))
	}
}

func TestPublish_RefusesWhatEventBridgeWouldRefuse(t *testing.T) {
	p, fake := newPublisher(t, testdata(t, "put_events_ok.json"))
	big := `{"x":"` + strings.Repeat("a", MaxEntrySize) + `"}`
	for name, e := range map[string]shop.OwnerEvent{
		"no detail-type": {Detail: []byte(`{}`)},
		"not JSON":       {DetailType: "order.paid", Detail: []byte(`not json`)},
		"not an object":  {DetailType: "order.paid", Detail: []byte(`[1]`)},
		"over 256 KB":    {DetailType: "order.paid", Detail: []byte(big)},
	} {
		if err := p.Publish(context.Background(), e); err == nil {
			t.Errorf("%s: published", name)
		}
	}
	if err := p.Publish(context.Background(), shop.OwnerEvent{DetailType: "order.paid", Detail: []byte(big[:MaxEntrySize-len(Source)-len("order.paid")-2] + `"}`)}); err != nil {
		t.Errorf("an entry of exactly 256 KB: %v", err)
	}
	if len(fake.bodies) != 1 {
		t.Errorf("%d requests reached EventBridge, want only the one at the limit", len(fake.bodies))
	}
}

func TestOpen_NeedsEventBusName(t *testing.T) {
	c, _ := config.Load(func(string) string { return "" })
	if _, err := Open(context.Background(), c); err == nil || !strings.Contains(err.Error(), config.EventBusName) {
		t.Errorf("Open without EVENT_BUS_NAME: %v", err)
	}
}

func TestNewClient_HonoursAWSEndpointURL(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	fake := &fakeEventBridge{t: t, answers: []string{testdata(t, "put_events_ok.json")}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", srv.URL)
	client, err := NewClient(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := New(client, "jampay-test", Options{}).Publish(context.Background(), paidEvent); err != nil || len(fake.bodies) != 1 {
		t.Fatalf("Publish through AWS_ENDPOINT_URL_EVENTBRIDGE: %v, %d requests", err, len(fake.bodies))
	}
}
