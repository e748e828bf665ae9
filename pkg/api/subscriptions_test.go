package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/dynamostore"
	jampaymail "github.com/jampay/jampay/pkg/mail"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripeverify"
	"github.com/jampay/jampay/pkg/subscription"
)

const subsCatalog = `{"shopName":"Test Shop","products":[
 {"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"},
 {"sku":"club","name":"Jam club","unitAmount":900,"currency":"usd","interval":"month","trialDays":7},
 {"sku":"club-in","name":"Jam club","unitAmount":49900,"currency":"inr","interval":"month"}]}`

// subGateway sells subscriptions in handler tests; the real adapters are
// tested against stripe-mock and Razorpay's reference.
type subGateway struct {
	fakeGateway
	name    string
	cancels sync.Map // subscription id → times asked
}

func (g *subGateway) CreateSubscriptionCheckout(_ context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	data, _ := json.Marshal(map[string]string{"url": "https://checkout.example/" + s.ID})
	c := subscription.Checkout{SessionRef: "cs_sub_" + s.ID[4:], Data: data, Deadline: time.Now().Add(time.Hour)}
	if g.name == "razorpay" {
		c.SessionRef, c.SubscriptionRef = "sub_rzp_"+s.ID[4:], "sub_rzp_"+s.ID[4:]
		c.Data, _ = json.Marshal(map[string]string{"keyId": "rzp_test", "subscriptionId": c.SessionRef})
	}
	return c, nil
}

func (g *subGateway) CancelSubscription(_ context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	n, _ := g.cancels.LoadOrStore(s.ID, new(int))
	*n.(*int)++
	return order.Event{ID: fmt.Sprintf("api_%s_%d", s.SubscriptionRef, time.Now().UnixNano()), Type: "subscription.cancel_requested",
		Kind: order.KindSubscription, Source: order.SourceOwner, Created: time.Now(), Refs: []string{s.SubscriptionRef},
		Sub: &order.SubFacts{Ref: s.SubscriptionRef, Status: "active", CancelAtPeriodEnd: atPeriodEnd, PeriodEnd: time.Now().AddDate(0, 1, 0)}}, nil
}

type stripePortal struct{ *subGateway }

func (p stripePortal) PortalURL(_ context.Context, s *subscription.Subscription, returnURL string) (string, error) {
	return "https://billing.stripe.com/p/session/test_" + s.ID[4:] + "?return=" + url.QueryEscape(returnURL), nil
}

// mailbox records the mails sent; linkRenderer renders access links.
type mailbox struct {
	mu    sync.Mutex
	mails []shop.Mail
}

func (m *mailbox) Send(_ context.Context, mail shop.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, mail)
	return nil
}

func (m *mailbox) sent() []shop.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]shop.Mail(nil), m.mails...)
}

type subEnv struct {
	*env
	mail *mailbox
}

func newSubEnv(t *testing.T, kind storeKind, actions bool) *subEnv {
	e := &subEnv{env: &env{t: t, store: newStore(t, kind)}, mail: &mailbox{}}
	e.h = newSubHandler(t, e.store, e.mail, actions)
	return e
}

// newSubHandlerNoDispatch is newSubHandler without the effects dispatch
// (which a Lambda function does not do in the request: notify does, on
// the stream), to count the requests alone.
func newSubHandlerNoDispatch(t *testing.T, store order.Store) http.Handler {
	return newSubHandler(t, store, nil, true)
}

// newSubHandler is the handler as the functions wire it for
// subscriptions, on store, mailing into mail.
func newSubHandler(t *testing.T, store order.Store, mail *mailbox, actions bool) http.Handler {
	cat, err := catalog.Parse(strings.NewReader(subsCatalog))
	if err != nil {
		t.Fatal(err)
	}
	stripeGW := &subGateway{name: "stripe"}
	// What the notify function does on the table's stream, at once: the
	// real mail templates, into the mailbox.
	renderer, err := jampaymail.NewRenderer("Test Shop", origin)
	if err != nil {
		t.Fatal(err)
	}
	var owed func(context.Context, subscription.Subscription)
	var access func(context.Context, string)
	if mail != nil {
		dispatcher := shop.New(shop.Service{Store: store, Renderer: renderer, Mailer: mail, MailEnabled: true, AccountURL: origin + "/account.html"})
		owed = func(ctx context.Context, after subscription.Subscription) {
			if _, err := dispatcher.Dispatch(ctx, after.ID, "test"); err != nil {
				t.Errorf("dispatch %s: %v", after.ID, err)
			}
		}
		// What the notify function does with a request's stream record.
		dispatcher.SubscriptionOwed = owed
		access = func(ctx context.Context, key string) {
			if res, err := dispatcher.OweAccessLinks(ctx, key); err != nil || res.Err != nil {
				t.Errorf("owe access links: %v %v", err, res.Err)
			}
		}
	}
	return api.Handler(api.Deps{
		Store: store, Catalog: cat,
		Gateways: map[string]api.Gateway{"stripe": stripePortal{stripeGW}, "razorpay": &subGateway{name: "razorpay"}},
		Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{whsec}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{rzpSecret}},
		},
		AllowedOrigins: []string{origin}, SubscriptionActions: actions, AccountURL: origin + "/account.html",
		SubscriptionOwed: owed, AccessRequested: access,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
}

type subCreated struct {
	SubscriptionID string          `json:"subscriptionId"`
	StatusToken    string          `json:"statusToken"`
	Gateway        string          `json:"gateway"`
	Amount         int64           `json:"amount"`
	Currency       string          `json:"currency"`
	Interval       string          `json:"interval"`
	IntervalCount  int64           `json:"intervalCount"`
	Checkout       json.RawMessage `json:"checkout"`
}

func (e *subEnv) subscribe(gateway, sku, email string) subCreated {
	e.t.Helper()
	body := `{"gateway":"` + gateway + `","items":[{"sku":"` + sku + `","quantity":1}]`
	if email != "" {
		body += `,"email":"` + email + `"`
	}
	r := e.do("POST", "/api/checkout", []byte(body+`}`), jsonHeader)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var c subCreated
	if err := json.Unmarshal(r.Body, &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// start completes the subscription's checkout, as the gateway's webhook
// would (the webhook path itself is tested with real payloads).
func (e *subEnv) start(c subCreated) {
	e.t.Helper()
	subs := e.store.(subscription.Store)
	s, err := subs.GetSubscription(context.Background(), c.SubscriptionID)
	if err != nil {
		e.t.Fatal(err)
	}
	svc := shop.New(shop.Service{Store: e.store})
	ref := "sub_" + s.ID[4:]
	if s.SubscriptionRef != "" {
		ref = s.SubscriptionRef
	}
	if _, err := svc.Apply(context.Background(), order.Event{Gateway: s.Gateway, ID: "evt_start_" + s.ID, Type: "checkout.session.completed",
		Kind: order.KindPaid, OrderID: s.ID, SessionRef: s.SessionRef, Refs: []string{s.SessionRef, ref}, Created: time.Now(),
		Sub: &order.SubFacts{Ref: ref}}); err != nil {
		e.t.Fatal(err)
	}
}

func TestSubscriptions_CheckoutStatusCancelPortal(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newSubEnv(t, kind, true)
			c := e.subscribe("stripe", "club", "a@example.com")
			if !subscription.ValidID(c.SubscriptionID) || c.StatusToken == "" || c.Amount != 900 || c.Currency != "usd" ||
				c.Interval != "month" || c.IntervalCount != 1 || !strings.Contains(string(c.Checkout), "checkout.example") {
				t.Fatalf("201: %+v", c)
			}
			path := "/api/subscriptions/" + c.SubscriptionID
			r := e.do("GET", path, nil, bearer(c.StatusToken))
			m := r.json(t)
			if r.Status != 200 || m["status"] != "pending" || m["entitled"] != false || m["sku"] != "club" || m["name"] != "Jam club" ||
				m["currentPeriodEnd"] != nil || m["cancelAtPeriodEnd"] != false || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("pending: %d %s", r.Status, r.Body)
			}
			// Nothing to cancel before the checkout completes.
			if r := e.do("POST", path+"/cancel", nil, bearer(c.StatusToken)); r.Status != http.StatusConflict || r.errorCode(t) != "not_cancelable" {
				t.Fatalf("cancel pending: %d %s", r.Status, r.Body)
			}
			e.start(c)
			m = e.do("GET", path, nil, bearer(c.StatusToken)).json(t)
			if m["status"] != "trialing" || m["entitled"] != true {
				t.Fatalf("started: %v", m)
			}
			r = e.do("POST", path+"/cancel", nil, bearer(c.StatusToken))
			if r.Status != http.StatusAccepted || r.json(t)["cancelAtPeriodEnd"] != true || r.json(t)["subscriptionId"] != c.SubscriptionID {
				t.Fatalf("cancel: %d %s", r.Status, r.Body)
			}
			m = e.do("GET", path, nil, bearer(c.StatusToken)).json(t)
			if m["cancelAtPeriodEnd"] != true || m["entitled"] != true || m["currentPeriodEnd"] == nil {
				t.Fatalf("after cancel: %v", m)
			}
			r = e.do("POST", path+"/portal", nil, bearer(c.StatusToken))
			if u, _ := r.json(t)["url"].(string); r.Status != 200 || !strings.HasPrefix(u, "https://billing.stripe.com/") || !strings.Contains(u, url.QueryEscape(origin+"/account.html")) {
				t.Fatalf("portal: %d %s", r.Status, r.Body)
			}
			// Razorpay has no billing portal.
			rc := e.subscribe("razorpay", "club-in", "")
			if !strings.Contains(string(rc.Checkout), `"subscriptionId"`) {
				t.Fatalf("razorpay checkout: %s", rc.Checkout)
			}
			e.start(rc)
			if r := e.do("POST", "/api/subscriptions/"+rc.SubscriptionID+"/portal", nil, bearer(rc.StatusToken)); r.Status != 400 || r.errorCode(t) != "not_supported" {
				t.Fatalf("razorpay portal: %d %s", r.Status, r.Body)
			}
		})
	}
}

// An unknown id, a malformed id, an order's id and a wrong token are one
// answer, on every subscription route.
func TestSubscriptions_NotFoundTellsNothing(t *testing.T) {
	e := newSubEnv(t, memory, true)
	c := e.subscribe("stripe", "club", "")
	o := e.checkout("stripe", `[{"sku":"tee-m","quantity":1}]`)
	for _, tc := range []struct{ id, token string }{
		{c.SubscriptionID, "wrong"}, {c.SubscriptionID, ""}, {subscription.NewID(), c.StatusToken},
		{"sbn_short", c.StatusToken}, {o.OrderID, o.StatusToken}, {"../orders/" + o.OrderID, o.StatusToken},
	} {
		for _, route := range []struct{ method, suffix string }{{"GET", ""}, {"POST", "/cancel"}, {"POST", "/portal"}} {
			r := e.do(route.method, "/api/subscriptions/"+url.PathEscape(tc.id)+route.suffix, nil, bearer(tc.token))
			if r.Status != 404 || r.errorCode(t) != "subscription_not_found" {
				t.Errorf("%s %s%s token %q: %d %s", route.method, tc.id, route.suffix, tc.token, r.Status, r.Body)
			}
		}
	}
}

// The status function answers a subscription's state and nothing that
// asks the gateway.
func TestSubscriptions_TheStatusFunctionServesNoAction(t *testing.T) {
	e := newSubEnv(t, memory, false)
	c := e.subscribe("stripe", "club", "")
	if r := e.do("GET", "/api/subscriptions/"+c.SubscriptionID, nil, bearer(c.StatusToken)); r.Status != 200 {
		t.Fatalf("GET: %d", r.Status)
	}
	for _, p := range []string{"/api/subscriptions/" + c.SubscriptionID + "/cancel", "/api/subscriptions/" + c.SubscriptionID + "/portal", "/api/access-links"} {
		if r := e.do("POST", p, []byte(`{"email":"a@example.com"}`), jsonHeader); r.Status != 404 || r.errorCode(t) != "not_found" {
			t.Errorf("POST %s: %d %s", p, r.Status, r.Body)
		}
	}
}

func TestAccessLinks_AlwaysAcceptedAndOneLinkPerWhile(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newSubEnv(t, kind, true)
			c := e.subscribe("stripe", "club", "Sub@Example.com")
			ask := func(email string) response {
				return e.do("POST", "/api/access-links", []byte(`{"email":"`+email+`"}`), jsonHeader)
			}
			// Not started yet: nothing to link to, and the same answer.
			if r := ask("sub@example.com"); r.Status != 202 || string(r.Body) != "{\"accepted\":true}\n" || len(accessLinks(e.mail.sent())) != 0 {
				t.Fatalf("pending: %d %s, %d mails", r.Status, r.Body, len(e.mail.sent()))
			}
			e.start(c)
			for _, email := range []string{"nobody@example.com", "sub@example.com", "SUB@example.com"} {
				if r := ask(email); r.Status != 202 {
					t.Fatalf("%s: %d %s", email, r.Status, r.Body)
				}
			}
			links := accessLinks(e.mail.sent())
			// To the address on record, as the subscriber wrote it.
			if len(links) != 1 || links[0].to != "Sub@Example.com" {
				t.Fatalf("access-link mails %+v of %+v", links, e.mail.sent())
			}
			// The link carries a fresh token in its fragment; it opens the
			// subscription, and so does the checkout's.
			frag := links[0].fragment
			if frag.Get("subscription") != c.SubscriptionID || frag.Get("token") == "" || frag.Get("token") == c.StatusToken ||
				!strings.Contains(links[0].mail.Text, origin+"/account.html#subscription=") || strings.Contains(links[0].mail.Subject, frag.Get("token")) {
				t.Fatalf("link in %q", links[0].mail.Text)
			}
			for _, token := range []string{frag.Get("token"), c.StatusToken} {
				if r := e.do("GET", "/api/subscriptions/"+c.SubscriptionID, nil, bearer(token)); r.Status != 200 {
					t.Fatalf("token %q: %d", token, r.Status)
				}
			}
			// Hostile and malformed bodies are refused before anything is
			// looked up.
			for body, code := range map[string]string{`{"email":"not an address"}`: "invalid_email", `{"email":"a@b.c","x":1}`: "invalid_json", `{"email":"a@b.c"} {}`: "invalid_json", `[]`: "invalid_json"} {
				if r := e.do("POST", "/api/access-links", []byte(body), jsonHeader); r.Status != 400 || r.errorCode(t) != code {
					t.Errorf("%s: %d %s", body, r.Status, r.Body)
				}
			}
		})
	}
}

func TestAccessLinks_TokensAreBoundedAndTheOldestRetires(t *testing.T) {
	e := newSubEnv(t, memory, true)
	c := e.subscribe("stripe", "club", "a@example.com")
	e.start(c)
	renderer, _ := jampaymail.NewRenderer("Test Shop", origin)
	clock := time.Now()
	svc := shop.New(shop.Service{Store: e.store, Renderer: renderer, Mailer: e.mail, MailEnabled: true, AccountURL: "https://x/account.html",
		Now: func() time.Time { return clock }})
	for i := range subscription.MaxAccessTokens + 2 {
		clock = clock.Add(subscription.AccessLinkEvery)
		if res, err := svc.OweAccessLinks(context.Background(), subscription.EmailKey("a@example.com")); err != nil || res.Links != 1 {
			t.Fatalf("link %d: %+v %v", i, res, err)
		}
		if _, err := svc.Dispatch(context.Background(), c.SubscriptionID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	s := e.stored(c.SubscriptionID)
	links := accessLinks(e.mail.sent())
	if len(s.AccessTokenHashes) != subscription.MaxAccessTokens || len(links) != subscription.MaxAccessTokens+2 {
		t.Fatalf("%d tokens kept, %d links mailed", len(s.AccessTokenHashes), len(links))
	}
	if !subscription.TokenMatches(s, c.StatusToken) || !subscription.TokenMatches(s, links[len(links)-1].fragment.Get("token")) || subscription.TokenMatches(s, links[0].fragment.Get("token")) {
		t.Fatal("the checkout's token and the newest link open it; the oldest link, retired, does not")
	}
	for _, w := range s.Outbox {
		if w.Type == subscription.AccessLinkEffect && w.State != order.EffectSent {
			t.Fatalf("access link effect %+v", w)
		}
	}
}

type accessLink struct {
	to       string
	mail     shop.Mail
	fragment url.Values
}

var accessLinkURL = regexp.MustCompile(`account\.html#(subscription=[^\s"<>&]+&(?:amp;)?token=[^\s"<>]+)`)

// accessLinks are the access-link mails sent, with their links' fragments.
func accessLinks(mails []shop.Mail) []accessLink {
	var out []accessLink
	for _, m := range mails {
		if m.Tags["kind"] != "access_link" {
			continue
		}
		l := accessLink{to: m.To, mail: m}
		if match := accessLinkURL.FindStringSubmatch(m.Text); match != nil {
			l.fragment, _ = url.ParseQuery(match[1])
		}
		out = append(out, l)
	}
	return out
}

// FuzzSubscriptionRoutes: whatever id, token and body arrive at the
// subscription routes and the access-link route, the handler never
// panics, never answers 5xx (the memory store does not fail), always
// answers JSON, opens a subscription only with its token, and the
// access-link route says nothing but 202 to any address it can read.
func FuzzSubscriptionRoutes(f *testing.F) {
	e := newSubEnv(&testing.T{}, memory, true)
	c := e.subscribe("stripe", "club", "a@example.com")
	e.start(c)
	f.Add(c.SubscriptionID, c.StatusToken, uint8(0), []byte(`{"email":"a@example.com"}`))
	f.Add(c.SubscriptionID, "x", uint8(1), []byte(`{}`))
	f.Add("sbn_"+strings.Repeat("a", 26), c.StatusToken, uint8(2), []byte(`{"email":"a@"}`))
	f.Add("%2e%2e", "", uint8(1), []byte(`{"email":1}`))
	f.Fuzz(func(t *testing.T, id, token string, route uint8, body []byte) {
		e.t = t
		method, suffix := "POST", []string{"", "/cancel", "/portal"}[route%3]
		if suffix == "" {
			method = "GET"
		}
		r := e.do(method, "/api/subscriptions/"+url.PathEscape(id)+suffix, nil, bearer(token))
		if r.Status >= 500 || len(r.Body) > 0 && !json.Valid(r.Body) {
			t.Fatalf("%s %q%s: %d %q", method, id, suffix, r.Status, r.Body)
		}
		if r.Status < 300 && (id != c.SubscriptionID || token != c.StatusToken) {
			t.Fatalf("%s %q%s opened with token %q: %d %s", method, id, suffix, token, r.Status, r.Body)
		}
		r = e.do("POST", "/api/access-links", body, jsonHeader)
		if r.Status >= 500 || !json.Valid(r.Body) || r.Status != 202 && r.Status != 400 && r.Status != 429 {
			t.Fatalf("access links %q: %d %q", body, r.Status, r.Body)
		}
	})
}

// TestAccessLinks_NothingTellsWhetherAnAddressSubscribes: an address is
// indexed only once its subscription starts (checkouts started in its
// name crowd nothing out), a request costs the same DynamoDB requests for
// every address, and an address may ask AccessLinksPerDay times a day.
func TestAccessLinks_NothingTellsWhetherAnAddressSubscribes(t *testing.T) {
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	store := dynamostore.New(client, local.NewTable(t, client), time.Now)
	e := &subEnv{env: &env{t: t, store: store}, mail: &mailbox{}}
	e.h = newSubHandlerNoDispatch(t, store)
	for range 30 {
		e.subscribe("stripe", "club", "victim@example.com") // abandoned, never started
	}
	c := e.subscribe("stripe", "club", "victim@example.com")
	e.start(c)
	ids, err := store.ByEmail(context.Background(), subscription.EmailKey("victim@example.com"))
	if err != nil || len(ids) != 1 || ids[0] != c.SubscriptionID {
		t.Fatalf("indexed %v %v, want the started subscription alone", ids, err)
	}
	counter.Take()
	var costs []map[string]int
	for _, email := range []string{"victim@example.com", "nobody@example.com"} {
		if r := e.do("POST", "/api/access-links", []byte(`{"email":"`+email+`"}`), jsonHeader); r.Status != 202 {
			t.Fatalf("%s: %d %s", email, r.Status, r.Body)
		}
		costs = append(costs, counter.Take())
	}
	if !reflect.DeepEqual(costs[0], costs[1]) || costs[0]["PutItem"] != 1 {
		t.Fatalf("a subscriber's request costs %v, another's %v", costs[0], costs[1])
	}
	// The day's count per address: past it, nothing is recorded.
	for range shop.AccessLinksPerDay {
		e.do("POST", "/api/access-links", []byte(`{"email":"third@example.com"}`), jsonHeader)
	}
	counter.Take()
	if r := e.do("POST", "/api/access-links", []byte(`{"email":"third@example.com"}`), jsonHeader); r.Status != 202 {
		t.Fatalf("over the day's count: %d", r.Status)
	}
	if got := counter.Take(); got["PutItem"] != 0 || got["UpdateItem"] != 1 {
		t.Fatalf("over the day's count: %v, want the count alone", got)
	}
}
