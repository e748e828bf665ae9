package stripeinquiry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/stripemockrun"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripegw/stripeinquiry"
	"github.com/jampay/jampay/pkg/stripehook"
)

var mock *stripemockrun.Server

func TestMain(m *testing.M) {
	var err error
	if mock, err = stripemockrun.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "stripeinquiry tests need stripe-mock:", err)
		os.Exit(1)
	}
	code := m.Run()
	mock.Stop()
	os.Exit(code)
}

// sent is one request reconcile made.
type sent struct {
	Method, Path string
	Query, Form  url.Values
	Header       http.Header
}

// apiLog keeps every request the client sends, then passes it on.
type apiLog struct {
	mu   sync.Mutex
	reqs []sent
}

func (l *apiLog) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	l.mu.Lock()
	l.reqs = append(l.reqs, sent{r.Method, r.URL.Path, r.URL.Query(), form, r.Header.Clone()})
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (l *apiLog) sent() []sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// calls lists the requests as "METHOD path".
func (l *apiLog) calls() []string {
	var out []string
	for _, s := range l.sent() {
		out = append(out, s.Method+" "+s.Path)
	}
	return out
}

func inquirer(base string, log *apiLog) *stripeinquiry.Inquirer {
	return stripeinquiry.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: base,
		HTTPClient: &http.Client{Transport: log}, RetryWait: time.Millisecond})
}

// typesSent reads types[0], types[1], … as stripe-go sends them.
func typesSent(q url.Values) []string {
	var out []string
	for i := 0; q.Has(fmt.Sprintf("types[%d]", i)); i++ {
		out = append(out, q.Get(fmt.Sprintf("types[%d]", i)))
	}
	return out
}

// TestInquire_StripeMockTakesTheRetrieveAndTheExpiry: past its deadline,
// the order's session is read (its PaymentIntent expanded) and, still open,
// expired — requests stripe-mock, strict as Stripe, accepts. stripe-mock is
// stateless: its answer to the expiry still says "open", and what Stripe
// says is what is reported, so no expiry is made up.
func TestInquire_StripeMockTakesTheRetrieveAndTheExpiry(t *testing.T) {
	log := &apiLog{}
	now := time.Now()
	o := order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		SessionRef: "cs_test_open", Deadline: now.Add(-time.Minute)}
	events, err := inquirer(mock.URL, log).Inquire(context.Background(), o, now)
	if err != nil {
		t.Fatalf("stripe-mock refused what Inquire sent: %v", err)
	}
	if got, want := log.calls(), []string{"GET /v1/checkout/sessions/cs_test_open", "POST /v1/checkout/sessions/cs_test_open/expire"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	reqs := log.sent()
	if reqs[0].Query.Get("expand[0]") != "payment_intent" || reqs[1].Form.Get("expand[0]") != "payment_intent" {
		t.Errorf("the PaymentIntent is not expanded: %v / %v", reqs[0].Query, reqs[1].Form)
	}
	for _, r := range reqs {
		if r.Header.Get("Stripe-Version") != "2023-10-16" || r.Header.Get("Authorization") != "Bearer sk_test_123" {
			t.Errorf("%s %s: Stripe-Version %q, Authorization %q", r.Method, r.Path, r.Header.Get("Stripe-Version"), r.Header.Get("Authorization"))
		}
	}
	if len(events) != 0 {
		t.Fatalf("a session Stripe still calls open was reported: %+v", events)
	}
}

// TestInquire_ADryRunExpiresNothing: a dry run reads the session and says
// it would expire it, and sends Stripe no expiry.
func TestInquire_ADryRunExpiresNothing(t *testing.T) {
	log := &apiLog{}
	now := time.Now()
	o := order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		SessionRef: "cs_test_open", Deadline: now.Add(-time.Minute)}
	events, err := inquirer(mock.URL, log).Inquire(shop.WithDryRun(context.Background()), o, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := log.calls(), []string{"GET /v1/checkout/sessions/cs_test_open"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	// stripe-mock's session carries a PaymentIntent with a failed attempt,
	// so its decline comes first; the expiry must be there.
	if len(events) == 0 || events[len(events)-1].Kind != order.KindExpired {
		t.Fatalf("a dry run should say it would expire the session: %+v", events)
	}
}

// TestMissed_StripeMockTakesTheEventsQueries: the first sweep lists by
// creation time with the types jampay handles, the next pages from the
// cursor with ending_before; stripe-mock accepts both. Its one event is a
// type jampay does not handle: nothing is returned, and the cursor passes it.
func TestMissed_StripeMockTakesTheEventsQueries(t *testing.T) {
	log := &apiLog{}
	q := inquirer(mock.URL, log)
	since := time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
	events, next, err := q.Missed(context.Background(), "", since, 25)
	if err != nil {
		t.Fatalf("stripe-mock refused the sweep: %v", err)
	}
	if len(events) != 0 || !strings.HasPrefix(next, "evt_") || !strings.Contains(next, "@") {
		t.Fatalf("events %+v, next %q", events, next)
	}
	first := log.sent()[0]
	if first.Path != "/v1/events" || first.Query.Get("created[gte]") != strconv.FormatInt(since.Unix(), 10) ||
		first.Query.Get("limit") != "100" || first.Query.Has("ending_before") {
		t.Errorf("first sweep query %v", first.Query)
	}
	if got := typesSent(first.Query); !slices.Equal(got, stripehook.Types()) {
		t.Errorf("types %v, want stripehook.Types() %v", got, stripehook.Types())
	}
	if _, _, err := q.Missed(context.Background(), next, since, 25); err != nil {
		t.Fatalf("stripe-mock refused the page after the cursor: %v", err)
	}
	second := log.sent()[1]
	evt, _, _ := strings.Cut(next, "@")
	if second.Query.Get("ending_before") != evt || second.Query.Get("limit") != "25" || second.Query.Has("created[gte]") {
		t.Errorf("page after the cursor: query %v", second.Query)
	}
}

// envelopeOf is the webhook Stripe would send of obj: what Missed's events
// must decode the same as.
func envelopeOf(t *testing.T, id, typ string, created int64, obj []byte) order.Event {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2023-10-16", "created": created,
		"livemode": false, "type": typ, "data": map[string]any{"object": json.RawMessage(obj)}})
	e, err := stripehook.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	e.Gateway, e.Source = "stripe", order.SourceReconcile
	return e
}

// TestMissed_ObjectsAreReadAgainFromStripeMock: each listed event's object
// is read again by id at the pinned API version, for every object the
// table's types carry (stripe-mock takes the requests), and the event is
// what stripehook.Decode makes of that object under the event's id and type.
func TestMissed_ObjectsAreReadAgainFromStripeMock(t *testing.T) {
	ids := map[string]string{"checkout.session": "cs_test_again", "payment_intent": "pi_again", "charge": "ch_again", "dispute": "dp_again",
		"subscription": "sub_again", "invoice": "in_again"}
	var listed []map[string]any // newest first
	for i, et := range stripehook.Events {
		listed = append([]map[string]any{{"id": fmt.Sprintf("evt_row%02d", i), "object": "event", "api_version": "2019-02-19",
			"created": 1700000000 + i, "livemode": false, "type": et.Type,
			"data": map[string]any{"object": map[string]any{"id": ids[et.Object], "object": et.Object}}}}, listed...)
	}
	target, _ := url.Parse(mock.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/events" {
			_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "has_more": false, "data": listed})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	log := &apiLog{}
	events, next, err := inquirer(srv.URL, log).Missed(context.Background(), "", time.Unix(1600000000, 0), 100)
	if err != nil {
		t.Fatalf("stripe-mock refused a read: %v", err)
	}
	if len(events) != len(stripehook.Events) || next != fmt.Sprintf("evt_row%02d@%d", len(stripehook.Events)-1, 1700000000+len(stripehook.Events)-1) {
		t.Fatalf("%d events, next %q", len(events), next)
	}
	paths := map[string]string{"checkout.session": "/v1/checkout/sessions/", "payment_intent": "/v1/payment_intents/", "charge": "/v1/charges/", "dispute": "/v1/disputes/",
		"subscription": "/v1/subscriptions/", "invoice": "/v1/invoices/"}
	for i, et := range stripehook.Events {
		req, _ := http.NewRequest("GET", mock.URL+paths[et.Object]+ids[et.Object], nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		obj, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := envelopeOf(t, fmt.Sprintf("evt_row%02d", i), et.Type, int64(1700000000+i), obj)
		if !reflect.DeepEqual(events[i], want) {
			t.Errorf("%s:\n got %+v\nwant %+v", et.Type, events[i], want)
		}
	}
	reads := 0
	for _, r := range log.sent() {
		if r.Path == "/v1/events" {
			continue
		}
		reads++
		if r.Method != "GET" || r.Header.Get("Stripe-Version") != "2023-10-16" {
			t.Errorf("%s %s at version %q", r.Method, r.Path, r.Header.Get("Stripe-Version"))
		}
	}
	if reads != len(ids) {
		t.Errorf("%d object reads for %d objects: each is read once per call", reads, len(ids))
	}
}

// eventsAPI stands in for Stripe's events list (newest first; created[gte],
// ending_before, starting_after, limit, has_more as Stripe's reference
// describes them) and the objects' retrieve endpoints. The events it lists
// are in an old API version with a stub for an object: what Missed returns
// must come from the object read again.
type eventsAPI struct {
	t       *testing.T
	mu      sync.Mutex
	events  []listedEvent // newest first
	objects map[string]json.RawMessage
	reads   map[string]int
	fail    int // answer every request with this status
}

type listedEvent struct {
	ID      string
	Created int64
	Body    json.RawMessage
}

func newEventsAPI(t *testing.T) (*eventsAPI, *httptest.Server) {
	a := &eventsAPI{t: t, objects: map[string]json.RawMessage{}, reads: map[string]int{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

// add makes ev happen at Stripe, and returns what its webhook decodes to.
func (a *eventsAPI) add(ev payloads.Stripe) order.Event {
	a.t.Helper()
	body, err := ev.Payload()
	if err != nil {
		a.t.Fatal(err)
	}
	var env map[string]json.RawMessage
	var data struct{ Object map[string]json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil || json.Unmarshal(env["data"], &data) != nil {
		a.t.Fatal(err)
	}
	var id string
	_ = json.Unmarshal(data.Object["id"], &id)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.objects[id], _ = json.Marshal(data.Object)
	env["api_version"] = json.RawMessage(`"2019-02-19"`)
	env["data"], _ = json.Marshal(map[string]any{"object": map[string]any{"id": id, "object": data.Object["object"], "amount": "?"}})
	listed, _ := json.Marshal(env)
	a.events = append([]listedEvent{{ev.EventID, ev.Created.Unix(), listed}}, a.events...)
	want, err := stripehook.Decode(body)
	if err != nil {
		a.t.Fatal(err)
	}
	want.Gateway, want.Source = "stripe", order.SourceReconcile
	return want
}

func stripeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "code": code, "param": param, "message": msg}})
}

func (a *eventsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer sk_test_123" || r.Header.Get("Stripe-Version") != "2023-10-16" {
		a.t.Errorf("%s: Authorization %q, Stripe-Version %q", r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Stripe-Version"))
	}
	if a.fail != 0 {
		stripeError(w, a.fail, "api_error", "", "", "Something went wrong on Stripe's end.")
		return
	}
	if r.URL.Path != "/v1/events" {
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		obj, ok := a.objects[id]
		if r.Method != "GET" || !ok {
			stripeError(w, 404, "invalid_request_error", "resource_missing", "id", "No such object: '"+id+"'")
			return
		}
		a.reads[id]++
		_, _ = w.Write(obj)
		return
	}
	q := r.URL.Query()
	if got := typesSent(q); !slices.Equal(got, stripehook.Types()) {
		a.t.Errorf("types %v", got)
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		a.t.Errorf("limit %q", q.Get("limit"))
	}
	var list []listedEvent
	for _, e := range a.events {
		if gte, err := strconv.ParseInt(q.Get("created[gte]"), 10, 64); err != nil || e.Created >= gte {
			list = append(list, e)
		}
	}
	index := func(id string) int { return slices.IndexFunc(list, func(e listedEvent) bool { return e.ID == id }) }
	var page []listedEvent
	more := false
	switch {
	case q.Has("ending_before"):
		i := index(q.Get("ending_before"))
		if i < 0 {
			stripeError(w, 404, "invalid_request_error", "resource_missing", "ending_before", "No such event: '"+q.Get("ending_before")+"'")
			return
		}
		// The page next to the cursor, newest first.
		newer := list[:i]
		page, more = newer[max(0, len(newer)-limit):], len(newer) > limit
	case q.Has("starting_after"):
		i := index(q.Get("starting_after"))
		older := list[i+1:]
		page, more = older[:min(limit, len(older))], len(older) > limit
	default:
		page, more = list[:min(limit, len(list))], len(list) > limit
	}
	data := []json.RawMessage{}
	for _, e := range page {
		data = append(data, e.Body)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/events", "has_more": more, "data": data})
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// refund is a charge.refunded event of its own order, i seconds after t0.
func refund(i int) payloads.Stripe {
	return payloads.Stripe{Type: "charge.refunded", EventID: fmt.Sprintf("evt_%04d", i), OrderID: order.NewID(), Amount: 4000,
		Refunded: 1000, Created: t0.Add(time.Duration(i) * time.Second)}
}

// TestMissed_EveryHandledTypeReadsAsItsWebhook: an event of each type the
// table lists comes out of Missed as its webhook decodes, under its own
// evt_ id (so the webhook, arriving later, is a duplicate).
func TestMissed_EveryHandledTypeReadsAsItsWebhook(t *testing.T) {
	api, srv := newEventsAPI(t)
	var want []order.Event
	for i, et := range stripehook.Events {
		want = append(want, api.add(payloads.Stripe{Type: et.Type, EventID: fmt.Sprintf("evt_type%02d", i), OrderID: order.NewID(),
			Amount: 4000, Refunded: 4000, DisputeStatus: "lost", Created: t0.Add(time.Duration(i) * time.Second)}))
	}
	got, next, err := inquirer(srv.URL, &apiLog{}).Missed(context.Background(), "", t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	last := len(want) - 1
	if wantNext := fmt.Sprintf("evt_type%02d@%d", last, t0.Add(time.Duration(last)*time.Second).Unix()); next != wantNext {
		t.Fatalf("next %q, want %q", next, wantNext)
	}
}

// TestMissed_PagesFromTheCursorOldestFirst: the first sweep reads every
// page since `since` and returns the oldest; each call after reads from the
// cursor with ending_before (pages of at most 100), oldest first; the
// cursor is the newest event returned, and stays when nothing is new.
func TestMissed_PagesFromTheCursorOldestFirst(t *testing.T) {
	api, srv := newEventsAPI(t)
	var want []order.Event
	for i := range 250 {
		want = append(want, api.add(refund(i)))
	}
	log := &apiLog{}
	q := inquirer(srv.URL, log)
	ctx := context.Background()
	got, next, err := q.Missed(ctx, "", t0, 3)
	if err != nil || !reflect.DeepEqual(got, want[:3]) || next != fmt.Sprintf("evt_0002@%d", t0.Unix()+2) {
		t.Fatalf("first sweep: %d events, next %q, %v", len(got), next, err)
	}
	if lists := len(log.sent()); lists != 3+3 {
		t.Errorf("first sweep made %d calls, want 3 pages of events and 3 objects", lists)
	}
	got, next, err = q.Missed(ctx, next, t0, 150)
	if err != nil || !reflect.DeepEqual(got, want[3:153]) || next != fmt.Sprintf("evt_0152@%d", t0.Unix()+152) {
		t.Fatalf("after the cursor: %d events (%v…), next %q, %v", len(got), ids(got, 2), next, err)
	}
	var limits []string
	for _, r := range log.sent()[6:] {
		if r.Path == "/v1/events" {
			limits = append(limits, r.Query.Get("ending_before")+"/"+r.Query.Get("limit"))
		}
	}
	if !slices.Equal(limits, []string{"evt_0002/100", "evt_0102/50"}) {
		t.Errorf("pages after the cursor (ending_before/limit): %v", limits)
	}
	got, next, _ = q.Missed(ctx, next, t0, 500)
	if !reflect.DeepEqual(got, want[153:]) || next != fmt.Sprintf("evt_0249@%d", t0.Unix()+249) {
		t.Fatalf("the rest: %d events, next %q", len(got), next)
	}
	if got, again, err := q.Missed(ctx, next, t0, 100); err != nil || len(got) != 0 || again != next {
		t.Fatalf("nothing new: %d events, next %q, %v", len(got), again, err)
	}
}

func ids(events []order.Event, n int) []string {
	var out []string
	for _, e := range events[:min(n, len(events))] {
		out = append(out, e.ID)
	}
	return out
}

// TestMissed_EachObjectIsReadOncePerCallAsItIsNow: two refunds of one
// charge read the charge once, and both report what Stripe says now (the
// evidence keeps the largest refund, so the order of facts is moot).
func TestMissed_EachObjectIsReadOncePerCallAsItIsNow(t *testing.T) {
	api, srv := newEventsAPI(t)
	o := order.NewID()
	api.add(payloads.Stripe{Type: "charge.refunded", EventID: "evt_r1", OrderID: o, Amount: 4000, Refunded: 1000, Created: t0})
	api.add(payloads.Stripe{Type: "charge.refunded", EventID: "evt_r2", OrderID: o, Amount: 4000, Refunded: 4000, Created: t0.Add(time.Second)})
	got, _, err := inquirer(srv.URL, &apiLog{}).Missed(context.Background(), "", t0, 10)
	if err != nil || len(got) != 2 || got[0].ID != "evt_r1" || got[1].ID != "evt_r2" {
		t.Fatalf("%+v %v", got, err)
	}
	if got[0].Refunded != 4000 || got[1].Refunded != 4000 || api.reads["ch_"+o[4:]] != 1 {
		t.Fatalf("refunded %d, %d; charge read %d times", got[0].Refunded, got[1].Refunded, api.reads["ch_"+o[4:]])
	}
}

// TestMissed_ACursorPastStripesRetentionSweepsByCreationAndSaysSo: Stripe
// keeps events 30 days. When the cursor's event is gone, Missed sweeps by
// creation time from the cursor's time, and says so first with an event
// that is recorded and moves nothing.
func TestMissed_ACursorPastStripesRetentionSweepsByCreationAndSaysSo(t *testing.T) {
	api, srv := newEventsAPI(t)
	var want []order.Event
	for i := range 4 {
		want = append(want, api.add(refund(i)))
	}
	log := &apiLog{}
	cur := fmt.Sprintf("evt_gone@%d", t0.Add(time.Second).Unix())
	got, next, err := inquirer(srv.URL, log).Missed(context.Background(), cur, t0.Add(-72*time.Hour), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d events, want the flag and 2: %+v", len(got), got)
	}
	flag := got[0]
	if flag.ID != "recon_gap_evt_gone" || flag.Type != stripeinquiry.EventsGap || flag.Kind != order.KindIgnored ||
		!strings.Contains(flag.Ignore, "30 days") || flag.Gateway != "stripe" || flag.Source != order.SourceReconcile {
		t.Fatalf("flag %+v", flag)
	}
	if !reflect.DeepEqual(got[1:], want[1:3]) || next != fmt.Sprintf("evt_0002@%d", t0.Unix()+2) {
		t.Fatalf("after the flag: %v, next %q", ids(got[1:], 3), next)
	}
	reqs := log.sent()
	if reqs[0].Query.Get("ending_before") != "evt_gone" || reqs[1].Query.Get("created[gte]") != strconv.FormatInt(t0.Unix()+1, 10) {
		t.Fatalf("queries %v then %v", reqs[0].Query, reqs[1].Query)
	}
}

// TestMissed_AGatewayErrorIsAnError: a 5xx, retried and still failing,
// returns an error with no events and no cursor; so does an object that
// cannot be read.
func TestMissed_AGatewayErrorIsAnError(t *testing.T) {
	api, srv := newEventsAPI(t)
	api.add(refund(0))
	api.fail = 500
	log := &apiLog{}
	got, next, err := inquirer(srv.URL, log).Missed(context.Background(), "", t0, 10)
	if err == nil || len(got) != 0 || next != "" {
		t.Fatalf("a 500 read as %d events, next %q, %v", len(got), next, err)
	}
	if n := len(log.sent()); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
	api.fail = 0
	clear(api.objects)
	// Retention aside, an object Stripe says does not exist is passed,
	// recorded as ignored: there is nothing to wait for.
	got, next, err = inquirer(srv.URL, &apiLog{}).Missed(context.Background(), "", t0, 10)
	if err != nil || len(got) != 1 || got[0].Kind != order.KindIgnored || got[0].Ignore == "" || got[0].ID != "evt_0000" || next == "" {
		t.Fatalf("a missing object: %+v, next %q, %v", got, next, err)
	}
}

// reply is one scripted answer; script answers each "METHOD path" with its
// replies in turn, the last one again and again.
type reply struct {
	status int
	body   string
}

type script map[string][]reply

func serve(t *testing.T, s script) *httptest.Server {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		mu.Lock()
		rs := s[key]
		if len(rs) == 0 {
			mu.Unlock()
			t.Errorf("unexpected %s", key)
			w.WriteHeader(404)
			return
		}
		rep := rs[0]
		if len(rs) > 1 {
			s[key] = rs[1:]
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(max(rep.status, 200))
		_, _ = w.Write([]byte(rep.body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sessionOf is the Checkout Session of o as Stripe would answer for it,
// with fields changed (its status, the expanded PaymentIntent).
func sessionOf(t *testing.T, o order.Order, typ string, set map[string]any) string {
	t.Helper()
	body, err := payloads.Stripe{Type: typ, OrderID: o.ID, Amount: o.Amount, SessionID: o.SessionRef}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data struct{ Object map[string]any }
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		env.Data.Object[k] = v
	}
	out, _ := json.Marshal(env.Data.Object)
	return string(out)
}

// paymentIntent is o's PaymentIntent as Stripe would expand it.
func paymentIntent(t *testing.T, o order.Order, status string, declined bool) map[string]any {
	body, _ := payloads.Stripe{Type: "payment_intent.payment_failed", OrderID: o.ID, Amount: o.Amount}.Payload()
	var env struct {
		Data struct{ Object map[string]any }
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	env.Data.Object["status"] = status
	if !declined {
		env.Data.Object["last_payment_error"] = nil
	}
	return env.Data.Object
}

const (
	notOpen     = `{"error":{"type":"invalid_request_error","message":"Only Checkout Sessions with a status in [\"open\"] can be expired."}}`
	rateLimited = `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`
	apiError    = `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`
)

// TestInquire_WhatTheSessionSays: the session, read past the order's
// deadline (expired first while open), amounts to the event its webhook
// would have been, under an id made of the session and its state.
func TestInquire_WhatTheSessionSays(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	type want struct {
		id, typ string
		kind    order.Kind
		reason  string
	}
	cases := []struct {
		name  string
		reply func(o order.Order) script
		calls []string
		want  []want
		err   bool
	}{
		{"completed and paid", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{body: sessionOf(t, o, "checkout.session.completed", nil)}}}
		}, []string{"GET"}, []want{{"_complete_paid", "checkout.session.completed", order.KindPaid, ""}}, false},
		{"completed while an async payment is under way", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{body: sessionOf(t, o, "checkout.session.completed",
				map[string]any{"payment_status": "unpaid", "payment_intent": paymentIntent(t, o, "processing", false)})}}}
		}, []string{"GET"}, []want{{"_complete_unpaid", "checkout.session.completed", order.KindProcessing, ""}}, false},
		{"an async payment that failed", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{body: sessionOf(t, o, "checkout.session.completed",
				map[string]any{"payment_status": "unpaid", "payment_intent": paymentIntent(t, o, "requires_payment_method", false)})}}}
		}, []string{"GET"}, []want{{"_complete_failed", "checkout.session.async_payment_failed", order.KindFailed, "The payment did not go through."}}, false},
		{"open past its deadline is expired first", func(o order.Order) script {
			return script{
				"GET /v1/checkout/sessions/" + o.SessionRef:              {{body: sessionOf(t, o, "checkout.session.completed", map[string]any{"status": "open", "payment_status": "unpaid", "payment_intent": nil})}},
				"POST /v1/checkout/sessions/" + o.SessionRef + "/expire": {{body: sessionOf(t, o, "checkout.session.expired", nil)}},
			}
		}, []string{"GET", "POST"}, []want{{"_expired", "checkout.session.expired", order.KindExpired, ""}}, false},
		{"expired after a decline keeps the reason", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{body: sessionOf(t, o, "checkout.session.expired",
				map[string]any{"payment_intent": paymentIntent(t, o, "canceled", true)})}}}
		}, []string{"GET"}, []want{
			{"pi_", "payment_intent.payment_failed", order.KindDeclined, "Your card was declined."},
			{"_expired", "checkout.session.expired", order.KindExpired, ""}}, false},
		{"paid between the read and the expiry", func(o order.Order) script {
			return script{
				"GET /v1/checkout/sessions/" + o.SessionRef: {
					{body: sessionOf(t, o, "checkout.session.completed", map[string]any{"status": "open", "payment_status": "unpaid", "payment_intent": nil})},
					{body: sessionOf(t, o, "checkout.session.completed", nil)}},
				"POST /v1/checkout/sessions/" + o.SessionRef + "/expire": {{status: 400, body: notOpen}},
			}
		}, []string{"GET", "POST", "GET"}, []want{{"_complete_paid", "checkout.session.completed", order.KindPaid, ""}}, false},
		{"a refused expiry of a session still open is an error", func(o order.Order) script {
			open := sessionOf(t, o, "checkout.session.completed", map[string]any{"status": "open", "payment_status": "unpaid", "payment_intent": nil})
			return script{
				"GET /v1/checkout/sessions/" + o.SessionRef:              {{body: open}},
				"POST /v1/checkout/sessions/" + o.SessionRef + "/expire": {{status: 400, body: notOpen}},
			}
		}, []string{"GET", "POST", "GET"}, nil, true},
		{"429, then the answer", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{status: 429, body: rateLimited}, {body: sessionOf(t, o, "checkout.session.completed", nil)}}}
		}, []string{"GET", "GET"}, []want{{"_complete_paid", "checkout.session.completed", order.KindPaid, ""}}, false},
		{"a 500 is an error, never unpaid", func(o order.Order) script {
			return script{"GET /v1/checkout/sessions/" + o.SessionRef: {{status: 500, body: apiError}}}
		}, []string{"GET", "GET", "GET", "GET"}, nil, true},
		{"a 500 on the expiry is an error, never unpaid", func(o order.Order) script {
			return script{
				"GET /v1/checkout/sessions/" + o.SessionRef:              {{body: sessionOf(t, o, "checkout.session.completed", map[string]any{"status": "open", "payment_status": "unpaid", "payment_intent": nil})}},
				"POST /v1/checkout/sessions/" + o.SessionRef + "/expire": {{status: 500, body: apiError}},
			}
		}, []string{"GET", "POST", "POST", "POST", "POST"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := order.NewID()
			o := order.Order{ID: id, Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
				SessionRef: "cs_test_" + id[4:], Deadline: now.Add(-time.Minute)}
			log := &apiLog{}
			got, err := inquirer(serve(t, tc.reply(o)).URL, log).Inquire(context.Background(), o, now)
			var methods []string
			for _, r := range log.sent() {
				methods = append(methods, r.Method)
			}
			if !slices.Equal(methods, tc.calls) {
				t.Errorf("calls %v, want %v", log.calls(), tc.calls)
			}
			if tc.err {
				if err == nil || len(got) != 0 {
					t.Fatalf("want an error and nothing, got %+v, %v", got, err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%+v %v", got, err)
			}
			for i, w := range tc.want {
				e := got[i]
				wantID := "recon_" + o.SessionRef + w.id
				if strings.HasPrefix(w.id, "pi_") {
					wantID = "recon_pi_" + id[4:] + "_payment_failed"
				}
				if e.ID != wantID || e.Type != w.typ || e.Kind != w.kind || e.Reason != w.reason || e.Gateway != "stripe" ||
					e.Source != order.SourceReconcile || e.OrderID != o.ID {
					t.Errorf("event %d: %+v\nwant id %s, %s, %s, reason %q", i, e, wantID, w.typ, w.kind, w.reason)
				}
				if e.Type == "checkout.session.completed" && (e.SessionRef != o.SessionRef || e.Currency != "usd" || e.Amount != 4000) {
					t.Errorf("the session's money: %+v", e)
				}
			}
		})
	}
}

// TestInquire_NotAskedBeforeTheDeadline: an order whose checkout can still
// be paid is not asked about; one past its deadline that never got a
// session is expired without a call (no one can pay it).
func TestInquire_NotAskedBeforeTheDeadline(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	log := &apiLog{}
	q := inquirer(serve(t, script{}).URL, log)
	o := order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd", SessionRef: "cs_test_later", Deadline: now.Add(time.Minute)}
	if got, err := q.Inquire(context.Background(), o, now); err != nil || len(got) != 0 {
		t.Fatalf("before the deadline: %+v %v", got, err)
	}
	o.SessionRef, o.Deadline = "", now.Add(-time.Minute)
	got, err := q.Inquire(context.Background(), o, now)
	if err != nil || len(got) != 1 || got[0].Kind != order.KindExpired || got[0].OrderID != o.ID || got[0].ID != "recon_"+o.ID+"_expired" ||
		got[0].Type != stripeinquiry.CheckoutExpired {
		t.Fatalf("no session: %+v %v", got, err)
	}
	if len(log.sent()) != 0 {
		t.Fatalf("Stripe was asked: %v", log.calls())
	}
}

// TestInquire_RetriesStopAtTheContextsDeadline: a wait that would outlast
// the context is not waited: the error comes back while the Lambda still
// has time to record it.
func TestInquire_RetriesStopAtTheContextsDeadline(t *testing.T) {
	now := time.Now()
	o := order.Order{ID: order.NewID(), Gateway: "stripe", SessionRef: "cs_test_busy", Deadline: now.Add(-time.Minute)}
	srv := serve(t, script{"GET /v1/checkout/sessions/cs_test_busy": {{status: 429, body: rateLimited}}})
	log := &apiLog{}
	q := stripeinquiry.New(stripegw.Config{SecretKey: "sk_test_123", APIBase: srv.URL, HTTPClient: &http.Client{Transport: log}, RetryWait: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := q.Inquire(ctx, o, now)
	var se *stripe.Error
	if err == nil || time.Since(start) > 250*time.Millisecond || len(log.sent()) != 1 {
		t.Fatalf("err %v after %s and %d calls", err, time.Since(start), len(log.sent()))
	}
	if !strings.Contains(err.Error(), "429") || !errors.As(err, &se) {
		t.Fatalf("the error does not say what Stripe said: %v", err)
	}
}
