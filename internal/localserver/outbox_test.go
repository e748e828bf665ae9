package localserver_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/mailcount"
)

// outboxRow is one row of an order's outbox on its page: type, mail, version.
var outboxRow = regexp.MustCompile(`<tr data-effect="([^"]+)">\s*<td[^>]*>[^<]*</td>\s*<td><code>[^<]*</code></td>\s*<td>([^<]*)</td>\s*<td class="n">(\d+)</td>`)

// countMail adds every mail a test's server kept to the package's count
// (mailcount), each named by the change it tells of: the page lists a
// mail's order and kind, so the n-th mail of a kind is the order's n-th
// effect owing it (by version), and any mail beyond those repeats the last.
func countMail(t *testing.T, base string) {
	o := owner{t, base}
	sent := map[string]int{} // "kind order" → mails
	for _, row := range mailRows(o) {
		sent[row]++
	}
	for row, n := range sent {
		kind, id, _ := strings.Cut(row, " ")
		var owed []mailcount.Key
		for _, m := range outboxRow.FindAllStringSubmatch(o.page("/_jampay/orders/"+id), -1) {
			if m[2] == kind {
				v, _ := strconv.ParseInt(m[3], 10, 64)
				owed = append(owed, mailcount.Key{OrderID: id, Version: v, Effect: m[1]})
			}
		}
		slices.SortFunc(owed, func(a, b mailcount.Key) int { return int(a.Version - b.Version) })
		for i := range n {
			k := mailcount.Key{OrderID: id, Effect: "(none owes a " + kind + " mail)"}
			if len(owed) > 0 {
				k = owed[min(i, len(owed)-1)]
			}
			mailcount.Sent(k)
		}
	}
}

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
