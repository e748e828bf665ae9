package localserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// owner is the owner's browser on the dashboard: its forms post with the
// dashboard's own Origin, and it reads each page it is sent to.
type owner struct {
	t    *testing.T
	base string
}

// post submits a dashboard form and returns where it leads and the
// status of the answer.
func (o owner) post(path string, form url.Values, header map[string]string) (int, string) {
	o.t.Helper()
	req, _ := http.NewRequest("POST", o.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", o.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func (o owner) page(path string) string {
	o.t.Helper()
	resp, err := http.Get(o.base + path)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

func (o owner) reconcile() string {
	o.t.Helper()
	if code, loc := o.post("/_jampay/reconcile", nil, nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/_jampay/") {
		o.t.Fatalf("Reconcile now: %d → %q", code, loc)
	}
	return o.page("/_jampay/")
}

// session is the checkout the sandbox opened for the order c made.
func session(t *testing.T, base string, c map[string]any) string {
	t.Helper()
	resp, err := http.Get(base + "/sandbox/orders/" + c["orderId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var refs struct{ Session string }
	_ = json.NewDecoder(resp.Body).Decode(&refs)
	return refs.Session
}

// pay checks out on a gateway's sandbox and presses a button.
func pay(t *testing.T, base, gateway, action string) map[string]any {
	t.Helper()
	sku := map[string]string{"stripe": "tee-m", "razorpay": "sticker-in"}[gateway]
	c := postJSON(t, base+"/api/checkout", `{"gateway":"`+gateway+`","items":[{"sku":"`+sku+`","quantity":2}]}`)
	if action != "" {
		resp, err := noRedirect.Post(base+"/sandbox/"+gateway+"/"+session(t, base, c)+"/"+action, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Fatalf("%s on %s: %d", action, gateway, resp.StatusCode)
		}
	}
	return c
}

// The newcomer's walk: "Pay, but lose the webhook" leaves the order
// pending, and "Reconcile now" asks the sandbox and moves it to paid, in
// the order's history as reconcile's, by the local owner.
func TestDashboard_ReconcileNowRecoversALostWebhook(t *testing.T) {
	s, out := start(t, nil)
	if !strings.Contains(out.String(), "dashboard "+s.URL+"/_jampay/") {
		t.Errorf("banner lacks the dashboard:\n%s", out)
	}
	o := owner{t, s.URL}
	for _, gateway := range []string{"stripe", "razorpay"} {
		c := pay(t, s.URL, gateway, "pay-lose-webhook")
		if got := status(t, s.URL, c); got != "pending" {
			t.Fatalf("%s: after a lost webhook the order is %s", gateway, got)
		}
		report := o.reconcile()
		// (Reconcile counts a move per event: Razorpay's authorized, then captured.)
		if !regexp.MustCompile(`found [1-9]\d* events? the webhooks missed,\s+replayed 0 parked;\s+<strong>[1-9]\d* moved`).MatchString(report) {
			t.Errorf("%s: the run's report: %s", gateway, report)
		}
		if got := status(t, s.URL, c); got != "paid" {
			t.Fatalf("%s: after Reconcile now the order is %s", gateway, got)
		}
		id := c["orderId"].(string)
		if list := o.page("/_jampay/"); !strings.Contains(list, `<tr data-order="`+id+`">`) {
			t.Errorf("%s: the order is not listed", gateway)
		}
		detail := o.page("/_jampay/orders/" + id)
		for _, want := range []string{`data-src="reconcile">reconcile</span></td>` + "\n    <td>local</td>", `data-status="paid" id="status"`} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: the order's page lacks %q:\n%s", gateway, want, detail)
			}
		}
	}
}

// A refund from the dashboard goes through the shop's Refund, as `jampay
// refund` does: the order moves when the sandbox's webhook confirms it,
// and a refund past what is left is refused.
func TestDashboard_RefundMovesTheOrderWhenTheGatewayConfirms(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	for _, gateway := range []string{"stripe", "razorpay"} {
		c := pay(t, s.URL, gateway, "pay")
		id := c["orderId"].(string)
		refund := "/_jampay/orders/" + id + "/refund"
		if code, loc := o.post(refund, url.Values{"amount": {"15"}}, nil); code != http.StatusSeeOther || loc != "/_jampay/orders/"+id {
			t.Fatalf("%s: refund: %d → %q", gateway, code, loc)
		}
		if got := status(t, s.URL, c); got != "partially_refunded" {
			t.Fatalf("%s: after a refund of 15 the order is %s", gateway, got)
		}
		detail := o.page("/_jampay/orders/" + id)
		for _, want := range []string{"the gateway's webhook confirmed it", "jampay.refund_requested", `data-src="owner"`} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: the order's page lacks %q", gateway, want)
			}
		}
		o.post(refund, url.Values{"amount": {"100000"}}, nil)
		if detail := o.page("/_jampay/orders/" + id); !strings.Contains(detail, "Refund refused") {
			t.Errorf("%s: an over-refund was not refused:\n%s", gateway, detail)
		}
		o.post(refund, url.Values{"amount": {""}}, nil) // all that is left
		if got := status(t, s.URL, c); got != "refunded" {
			t.Fatalf("%s: after refunding the rest the order is %s", gateway, got)
		}
	}
}

// Razorpay says nothing when a customer walks away: the dashboard's clock
// (local only) lets the deadline and reconcile's 15 minutes of grace pass,
// and only then does Reconcile now expire the order.
func TestDashboard_AdvanceTheClockToExpireAnAbandonedRazorpayOrder(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	c := pay(t, s.URL, "razorpay", "") // Checkout opened, then the tab closed
	for _, step := range []struct {
		minutes string
		want    string
	}{{"", "pending"}, {"60", "pending"}, {"14", "pending"}, {"2", "expired"}} {
		if step.minutes != "" {
			if code, _ := o.post("/_jampay/clock", url.Values{"minutes": {step.minutes}}, nil); code != http.StatusSeeOther {
				t.Fatalf("advance the clock by %s: %d", step.minutes, code)
			}
		}
		o.reconcile()
		if got := status(t, s.URL, c); got != step.want {
			t.Fatalf("after advancing %s more minutes: %s, want %s", step.minutes, got, step.want)
		}
	}
	if page := o.page("/_jampay/"); !strings.Contains(page, "1h16m ahead of real time") {
		t.Errorf("the dashboard does not say how far the clock was moved")
	}
	if detail := o.page("/_jampay/orders/" + c["orderId"].(string)); !strings.Contains(detail, "jampay.checkout_expired") {
		t.Errorf("the expiry is not in the history:\n%s", detail)
	}
	if code, _ := o.post("/_jampay/clock", url.Values{"minutes": {"-5"}}, nil); code != http.StatusBadRequest {
		t.Errorf("moving the clock back: %d", code)
	}
}

// The dashboard's actions refuse any other origin: a page elsewhere in
// the owner's browser (or a name rebound to 127.0.0.1) must not refund,
// reconcile or move the clock. Nothing it asks happens.
func TestDashboard_RefusesOtherOrigins(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	c := pay(t, s.URL, "stripe", "pay")
	refund := "/_jampay/orders/" + c["orderId"].(string) + "/refund"
	for name, header := range map[string]map[string]string{
		"another origin":              {"Origin": "https://evil.example", "Sec-Fetch-Site": ""},
		"another port of this host":   {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": ""},
		"an opaque origin":            {"Origin": "null", "Sec-Fetch-Site": ""},
		"a cross-site fetch":          {"Sec-Fetch-Site": "cross-site", "Origin": ""},
		"a same-site, other origin":   {"Sec-Fetch-Site": "same-site", "Origin": ""},
		"our Origin, cross-site":      {"Sec-Fetch-Site": "cross-site"},
		"a rebound name as the Host":  {"Host": "evil.example"},
		"a non-loopback Host, origin": {"Host": "192.0.2.1:80", "Origin": "http://192.0.2.1:80"},
		// A tunnel forwarding the internet connects from loopback with our
		// Host rewritten; curl sends neither Origin nor Sec-Fetch-Site.
		"no Origin, no Sec-Fetch-Site": {"Origin": "", "Sec-Fetch-Site": ""},
		"through a tunnel":             {"X-Forwarded-For": "203.0.113.9", "Origin": ""},
	} {
		for _, path := range []string{refund, "/_jampay/reconcile", "/_jampay/clock"} {
			if code, _ := o.postHost(path, url.Values{"amount": {"5"}, "minutes": {"60"}}, header); code != http.StatusForbidden {
				t.Errorf("%s: POST %s answered %d, want 403", name, path, code)
			}
		}
	}
	if got := status(t, s.URL, c); got != "paid" {
		t.Fatalf("a refused refund moved the order to %s", got)
	}
	page := o.page("/_jampay/")
	if strings.Contains(page, "ahead of real time") || strings.Contains(page, "data-report") {
		t.Fatalf("a refused request moved the clock or ran reconcile")
	}
	// A rebound name cannot read the dashboard either.
	req, _ := http.NewRequest("GET", s.URL+"/_jampay/", nil)
	req.Host = "evil.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET with another Host: %v %v", resp, err)
	}
	// The owner's own page may (a browser says it is same-origin).
	if code, _ := o.post(refund, url.Values{"amount": {"5"}}, map[string]string{"Origin": "", "Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther {
		t.Fatalf("the owner's own page: %d", code)
	}
	localhost := strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	if code, _ := o.postHost("/_jampay/reconcile", nil, map[string]string{"Host": strings.TrimPrefix(localhost, "http://"), "Origin": localhost}); code != http.StatusSeeOther {
		t.Fatalf("the dashboard opened as localhost: %d", code)
	}
}

// postHost is post, with the Host header among what may be set.
func (o owner) postHost(path string, form url.Values, header map[string]string) (int, string) {
	o.t.Helper()
	req, _ := http.NewRequest("POST", o.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", o.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		switch {
		case k == "Host":
			req.Host = v
		case v == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, v)
		}
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// The dashboard refunds money: it lives in internal/ and only `jampay
// serve` links it. No Lambda function may, whatever functions/ grows to.
func TestNoFunctionLinksTheDashboard(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found too little to check: %q", deps)
	}
	for _, p := range deps {
		if p == "github.com/jampay/jampay/internal/localserver" || p == "github.com/jampay/jampay/internal/sandbox" {
			t.Errorf("a Lambda function links %s", p)
		}
	}
}

// subscribe checks out a subscription product on a gateway's sandbox and
// subscribes on its page, as the customer would.
func subscribe(t *testing.T, base, gateway string) map[string]any {
	t.Helper()
	sku := map[string]string{"stripe": "club-monthly", "razorpay": "club-monthly-inr"}[gateway]
	c := postJSON(t, base+"/api/checkout", `{"gateway":"`+gateway+`","items":[{"sku":"`+sku+`","quantity":1}],"email":"jam@example.com"}`)
	resp, err := noRedirect.Post(base+"/sandbox/subscriptions/"+c["subscriptionId"].(string)+"/subscribe", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("subscribe on %s: %d", gateway, resp.StatusCode)
	}
	return c
}

// subscriptionNow is the subscription as the status endpoint shows it.
func subscriptionNow(t *testing.T, base string, c map[string]any) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/subscriptions/"+c["subscriptionId"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+c["statusToken"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET subscription: %d %v", resp.StatusCode, m)
	}
	return m
}

// The owner's walk through subscriptions: the list shows each one's
// status, plan, next renewal and whether the subscriber is entitled; a
// subscription's page shows its payments and history; Cancel at period end
// asks the gateway (the sandbox) through the shop's CancelSubscription and
// records the local owner's action, and Cancel now ends it. Nothing is
// refunded.
func TestDashboard_SubscriptionsListDetailAndCancel(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	if list := o.page("/_jampay/subscriptions/"); !strings.Contains(list, "No subscriptions yet") {
		t.Fatalf("an empty list:\n%s", list)
	}
	for _, gateway := range []string{"stripe", "razorpay"} {
		c := subscribe(t, s.URL, gateway)
		id := c["subscriptionId"].(string)
		before := subscriptionNow(t, s.URL, c)
		wantStatus := map[string]string{"stripe": "trialing", "razorpay": "active"}[gateway]
		if before["status"] != wantStatus || before["entitled"] != true {
			t.Fatalf("%s: after subscribing: %v", gateway, before)
		}
		list := o.page("/_jampay/subscriptions/")
		row := list[strings.Index(list, `<tr data-subscription="`+id+`">`):]
		row = row[:strings.Index(row, "</tr>")]
		for _, want := range []string{`data-status="` + wantStatus + `"`, map[string]string{"stripe": "club-monthly", "razorpay": "club-monthly-inr"}[gateway],
			`data-entitled="true">yes`, "jam@example.com"} {
			if !strings.Contains(row, want) {
				t.Errorf("%s: the list's row lacks %q:\n%s", gateway, want, row)
			}
		}
		if strings.Contains(row, `data-next><span class="muted">`) {
			t.Errorf("%s: no next renewal listed:\n%s", gateway, row)
		}
		detail := o.page("/_jampay/subscriptions/" + id)
		for _, want := range []string{`id="status">` + wantStatus, "History", `value="period_end"`, `value="now"`} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: the subscription's page lacks %q:\n%s", gateway, want, detail)
			}
		}
		if gateway == "razorpay" && !strings.Contains(detail, "data-renewal=") {
			t.Errorf("razorpay: the first payment is not shown:\n%s", detail)
		}

		cancel := "/_jampay/subscriptions/" + id + "/cancel"
		if code, loc := o.post(cancel, url.Values{"when": {"period_end"}}, nil); code != http.StatusSeeOther || loc != "/_jampay/subscriptions/"+id {
			t.Fatalf("%s: cancel at period end: %d → %q", gateway, code, loc)
		}
		after := subscriptionNow(t, s.URL, c)
		if after["cancelAtPeriodEnd"] != true || after["status"] != wantStatus || after["entitled"] != true {
			t.Fatalf("%s: after cancel at period end: %v", gateway, after)
		}
		detail = o.page("/_jampay/subscriptions/" + id)
		for _, want := range []string{"It ends at the end of its period", `id="cancel-at-period-end">yes`, "subscription.cancel_requested",
			`data-src="owner">owner</span></td>` + "\n    <td>local</td>"} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: after cancel at period end, the page lacks %q:\n%s", gateway, want, detail)
			}
		}
		if strings.Contains(detail, `value="period_end"`) {
			t.Errorf("%s: cancel at period end offered again", gateway)
		}

		if code, _ := o.post(cancel, url.Values{"when": {"now"}}, nil); code != http.StatusSeeOther {
			t.Fatalf("%s: cancel now: %d", gateway, code)
		}
		if after := subscriptionNow(t, s.URL, c); after["status"] != "canceled" || after["entitled"] != false {
			t.Fatalf("%s: after cancel now: %v", gateway, after)
		}
		detail = o.page("/_jampay/subscriptions/" + id)
		if !strings.Contains(detail, "Canceled: the subscription is now") || !strings.Contains(detail, "nothing is left to cancel") {
			t.Errorf("%s: after cancel now:\n%s", gateway, detail)
		}
		if list := o.page("/_jampay/subscriptions/"); !strings.Contains(list, `data-next><span class="muted">ended`) {
			t.Errorf("%s: the ended subscription still renews in the list", gateway)
		}
	}
}

// Cancel's mistakes and hostile paths are answered without reaching the
// store or the gateway: a malformed or unknown id is 404 (an order's id
// too), a missing "when" is 400, and a subscription whose checkout was
// never completed has nothing to cancel.
func TestDashboard_CancelRefusesWhatItCannotDo(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	order := pay(t, s.URL, "stripe", "pay")["orderId"].(string)
	for _, id := range []string{"sbn_nope", order, "sbn_00000000000000000000000000", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "sbn_" + strings.Repeat("a", 2000)} {
		if code, _ := o.post("/_jampay/subscriptions/"+id+"/cancel", url.Values{"when": {"now"}}, nil); code != http.StatusNotFound {
			t.Errorf("cancel %.40s: %d, want 404", id, code)
		}
		resp, err := http.Get(s.URL + "/_jampay/subscriptions/" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "<script>") || len(body) > 200 {
			t.Errorf("GET %.40s: %d %q", id, resp.StatusCode, body)
		}
	}
	c := postJSON(t, s.URL+"/api/checkout", `{"gateway":"stripe","items":[{"sku":"club-monthly","quantity":1}]}`)
	id := c["subscriptionId"].(string)
	if code, _ := o.post("/_jampay/subscriptions/"+id+"/cancel", url.Values{"when": {"tomorrow"}}, nil); code != http.StatusBadRequest {
		t.Errorf("cancel with a wrong when: %d, want 400", code)
	}
	if detail := o.page("/_jampay/subscriptions/" + id); !strings.Contains(detail, "has not subscribed yet") || strings.Contains(detail, `value="now"`) {
		t.Errorf("a pending subscription offers a cancel:\n%s", detail)
	}
	if code, _ := o.post("/_jampay/subscriptions/"+id+"/cancel", url.Values{"when": {"now"}}, nil); code != http.StatusSeeOther {
		t.Fatalf("cancel a pending subscription: %d", code)
	}
	if detail := o.page("/_jampay/subscriptions/" + id); !strings.Contains(detail, "Cancel refused: This subscription has not started") {
		t.Errorf("a pending subscription's cancel:\n%s", detail)
	}
	if got := subscriptionNow(t, s.URL, c); got["status"] != "pending" {
		t.Fatalf("a refused cancel moved it to %v", got["status"])
	}
	// A mail's or an event's link to a subscription leads to its page.
	if code := func() int {
		resp, err := noRedirect.Get(s.URL + "/_jampay/orders/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}(); code != http.StatusSeeOther {
		t.Errorf("/_jampay/orders/%s: %d, want a redirect", id, code)
	}
}

// The Cancel action refuses any other origin, as Refund does: nothing it
// asks reaches the gateway.
func TestDashboard_CancelRefusesOtherOrigins(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	c := subscribe(t, s.URL, "stripe")
	cancel := "/_jampay/subscriptions/" + c["subscriptionId"].(string) + "/cancel"
	for name, header := range map[string]map[string]string{
		"another origin":               {"Origin": "https://evil.example", "Sec-Fetch-Site": ""},
		"another port of this host":    {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": ""},
		"an opaque origin":             {"Origin": "null", "Sec-Fetch-Site": ""},
		"a cross-site fetch":           {"Sec-Fetch-Site": "cross-site", "Origin": ""},
		"our Origin, cross-site":       {"Sec-Fetch-Site": "cross-site"},
		"a rebound name as the Host":   {"Host": "evil.example"},
		"no Origin, no Sec-Fetch-Site": {"Origin": "", "Sec-Fetch-Site": ""},
		"through a tunnel":             {"X-Forwarded-For": "203.0.113.9", "Origin": ""},
	} {
		for _, when := range []string{"period_end", "now"} {
			if code, _ := o.postHost(cancel, url.Values{"when": {when}}, header); code != http.StatusForbidden {
				t.Errorf("%s: cancel %s answered %d, want 403", name, when, code)
			}
		}
	}
	if got := subscriptionNow(t, s.URL, c); got["status"] != "trialing" || got["cancelAtPeriodEnd"] != false {
		t.Fatalf("a refused cancel reached the gateway: %v", got)
	}
	// A rebound name cannot read the subscriptions either.
	req, _ := http.NewRequest("GET", s.URL+"/_jampay/subscriptions/", nil)
	req.Host = "evil.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET with another Host: %v %v", resp, err)
	}
}
