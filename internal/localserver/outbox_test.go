package localserver_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailRows lists the mail page's rows as "kind order", newest first.
func mailRows(o owner) []string {
	var rows []string
	for _, m := range regexp.MustCompile(`<tr data-mail="([a-z_]+)" data-order="(ord_[a-z0-9]+)">`).FindAllStringSubmatch(o.page("/_jampay/mail/"), -1) {
		rows = append(rows, m[1]+" "+m[2])
	}
	return rows
}

// waitForMail polls the mail page until it lists n mails: jampay serve
// dispatches after the webhook has answered.
func waitForMail(t *testing.T, o owner, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows := mailRows(o)
		if len(rows) >= n || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A sandbox payment's receipt, then the owner's refund's mail, each shown
// once at /_jampay/mail/ with the order id; the mail's page frames its
// HTML sandboxed (its script never runs) and the order's page shows its
// outbox sent.
func TestMail_APaidOrdersReceiptAndItsRefundShowOnce(t *testing.T) {
	s, _ := start(t, nil)
	o := owner{t, s.URL}
	c := postJSON(t, s.URL+"/api/checkout", `{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}],"email":"ada@example.com"}`)
	id := c["orderId"].(string)
	resp, err := noRedirect.Post(s.URL+"/sandbox/stripe/"+session(t, s.URL, c)+"/pay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rows := waitForMail(t, o, 1); len(rows) != 1 || rows[0] != "receipt "+id {
		t.Fatalf("after paying, the mail list: %q", rows)
	}
	if code, _ := o.post("/_jampay/orders/"+id+"/refund", url.Values{"amount": {""}}, nil); code != http.StatusSeeOther {
		t.Fatalf("refund: %d", code)
	}
	rows := waitForMail(t, o, 2)
	// Anything sent twice would show by now (the dispatch after each move
	// is done once the next one's mail is there).
	time.Sleep(100 * time.Millisecond)
	if rows = mailRows(o); strings.Join(rows, ",") != "refund "+id+",receipt "+id {
		t.Fatalf("after the refund, the mail list (newest first): %q", rows)
	}
	list := o.page("/_jampay/mail/")
	for _, want := range []string{`data-event="order.paid" data-order="` + id + `"`, `data-event="order.refunded" data-order="` + id + `"`, "ada@example.com"} {
		if !strings.Contains(list, want) {
			t.Errorf("the mail page lacks %q", want)
		}
	}
	n := regexp.MustCompile(`<a href="/_jampay/mail/(\d+)">Your receipt`).FindStringSubmatch(list)
	if n == nil {
		t.Fatalf("no link to the receipt:\n%s", list)
	}
	mail := o.page("/_jampay/mail/" + n[1])
	for _, want := range []string{`<iframe class="mail" title="The mail as HTML" sandbox="" srcdoc="&lt;!DOCTYPE html&gt;`, "Order " + id, "Total"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the receipt's page lacks %q:\n%s", want, mail)
		}
	}
	detail := o.page("/_jampay/orders/" + id)
	for _, typ := range []string{"order.paid", "order.refunded"} {
		if !regexp.MustCompile(`<tr data-effect="` + regexp.QuoteMeta(typ) + `">(?s:.)*?data-state="sent"`).MatchString(detail) {
			t.Errorf("the order's outbox does not show %s sent:\n%s", typ, detail)
		}
	}
}
