package mail

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

var owedAt = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func paidOrder() order.Order {
	return order.Order{
		ID: "ord_abc123", Gateway: "stripe", Status: order.Paid, Version: 3,
		Items: []order.LineItem{
			{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000},
			{SKU: "jam-jar", Name: "Strawberry <jam>", Quantity: 1, UnitAmount: 850},
		},
		Amount: 4850, Currency: "usd", Email: "a@example.com",
		TokenHash:  "d2f1c0ffee0000000000000000000000000000000000000000000000000000aa",
		PaymentRef: "pi_123",
		Evidence:   order.Evidence{Paid: true, PaidAmount: 4850, PaidCurrency: "usd", PaidRef: "pi_123"},
		CreatedAt:  owedAt.Add(-time.Hour),
	}
}

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer("Jam & Co.", "https://shop.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRender_ReceiptShowsShopItemsTotalsAndOrder(t *testing.T) {
	o := paidOrder()
	m, _, err := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt, OwedAt: owedAt})
	if err != nil || m == nil {
		t.Fatalf("Render = %v, %v", m, err)
	}
	if m.To != "a@example.com" {
		t.Errorf("To = %q", m.To)
	}
	if want := "Your receipt from Jam & Co. (order ord_abc123)"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	for _, want := range []string{"2 × T-shirt (M) at $20.00: $40.00", "1 × Strawberry <jam> at $8.50: $8.50", "Total: $48.50", "Order ord_abc123", "Jam & Co.", "https://shop.example.com\n"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{"Jam &amp; Co.", "Strawberry &lt;jam&gt;", "$48.50", "$20.00", "$40.00", "Order ord_abc123", `href="https://shop.example.com"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "<jam>") {
		t.Error("HTML does not escape the product name")
	}
	if m.Tags["order_id"] != "ord_abc123" || m.Tags["kind"] != "receipt" {
		t.Errorf("Tags = %v", m.Tags)
	}
}

func TestRender_MoneyIsFormattedPerCurrency(t *testing.T) {
	o := paidOrder()
	o.Currency, o.Items, o.Amount, o.Evidence.PaidAmount = "jpy", []order.LineItem{{SKU: "tea", Name: "Tea", Quantity: 3, UnitAmount: 1500}}, 4500, 4500
	m, _, err := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "3 × Tea at ¥1,500: ¥4,500") || !strings.Contains(m.HTML, "¥4,500") {
		t.Errorf("yen not formatted as the site does:\n%s", m.Text)
	}
}

func TestRender_RefundSaysHowMuchAndWhatIsLeft(t *testing.T) {
	r := newRenderer(t)
	o := paidOrder()
	o.Status, o.Evidence.Refunded = order.PartiallyRefunded, 850
	m, _, err := r.Render(o, order.Effect{OrderID: o.ID, Version: 4, Type: "order.partially_refunded", Mail: order.MailRefund})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "We have refunded $8.50 of your order of $48.50. The rest, $40.00, stays paid.") {
		t.Errorf("partial refund text:\n%s", m.Text)
	}
	if !strings.HasPrefix(m.Subject, "A partial refund from Jam & Co.") || m.Tags["kind"] != "refund" {
		t.Errorf("Subject = %q, Tags = %v", m.Subject, m.Tags)
	}
	o.Status, o.Evidence.Refunded = order.Refunded, 4850
	m, _, err = r.Render(o, order.Effect{OrderID: o.ID, Version: 5, Type: "order.refunded", Mail: order.MailRefund})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "refunded in full: $48.50") || !strings.Contains(m.HTML, "refunded in full: <strong>$48.50</strong>") {
		t.Errorf("full refund:\n%s\n%s", m.Text, m.HTML)
	}
}

func TestRender_LatePaymentSaysTheShopWillFulfilOrRefund(t *testing.T) {
	o := paidOrder()
	o.Evidence.Expired = true
	m, ev, err := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.late_payment", Mail: order.MailLatePayment})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Your payment of $48.50 arrived after your order had expired.", "will either fulfil your order or refund you"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, strings.ReplaceAll(want, "$48.50", "<strong>$48.50</strong>")) {
			t.Errorf("late payment mail lacks %q:\n%s\n%s", want, m.Text, m.HTML)
		}
	}
	if m.Tags["kind"] != "late_payment" || ev.DetailType != "order.late_payment" {
		t.Errorf("Tags = %v, DetailType = %q", m.Tags, ev.DetailType)
	}
	var d Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil || !d.PaidLate {
		t.Errorf("detail %s: %v", ev.Detail, err)
	}
}

func TestRender_NoMailWithoutAddressOrWhenNoneIsOwed(t *testing.T) {
	r := newRenderer(t)
	o := paidOrder()
	m, ev, err := r.Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.disputed"})
	if err != nil || m != nil || ev.DetailType != "order.disputed" {
		t.Errorf("no mail owed: mail %v, event %q, %v", m, ev.DetailType, err)
	}
	o.Email = "  "
	m, ev, err = r.Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt})
	if err != nil || m != nil || ev.DetailType != "order.paid" {
		t.Errorf("no address: mail %v, event %q, %v", m, ev.DetailType, err)
	}
}

func TestRender_UnknownMailIsAnError(t *testing.T) {
	o := paidOrder()
	if _, _, err := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: "postcard"}); err == nil {
		t.Error("a mail with no template rendered")
	}
}

func TestRender_EventDetailHasTheContractFieldsAndNoToken(t *testing.T) {
	o := paidOrder()
	o.Evidence.ExtraPayments = []string{"pi_456"}
	e := order.Effect{OrderID: o.ID, Version: 3, Type: "order.duplicate_payment", OwedAt: owedAt}
	r := newRenderer(t)
	_, ev, err := r.Render(o, e)
	if err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "order.duplicate_payment" {
		t.Errorf("DetailType = %q", ev.DetailType)
	}
	if strings.Contains(string(ev.Detail), o.TokenHash) || strings.Contains(strings.ToLower(string(ev.Detail)), "token") {
		t.Errorf("detail carries the token hash: %s", ev.Detail)
	}
	var got map[string]any
	if err := json.Unmarshal(ev.Detail, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "ord_abc123:3:order.duplicate_payment", "type": "order.duplicate_payment", "orderId": "ord_abc123",
		"version": 3.0, "status": "paid", "gateway": "stripe", "amount": 4850.0, "currency": "usd",
		"email": "a@example.com", "paidAmount": 4850.0, "refunded": 0.0, "paymentRef": "pi_123",
		"extraPayments": []any{"pi_456"}, "owedAt": "2025-03-04T05:06:07Z", "paidLate": false,
	}
	for k, v := range want {
		if gb, _ := json.Marshal(got[k]); string(gb) != func() string { b, _ := json.Marshal(v); return string(b) }() {
			t.Errorf("detail %s = %s, want %v", k, gb, v)
		}
	}
	items, _ := got["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["unitAmount"] != 2000.0 || items[0].(map[string]any)["quantity"] != 2.0 {
		t.Errorf("detail items = %v", got["items"])
	}
	// The id names the effect: the same however often it is rendered, and
	// different for another change of the same order.
	_, again, _ := r.Render(o, e)
	if string(again.Detail) != string(ev.Detail) {
		t.Error("rendering one effect twice gave two details")
	}
	e.Version = 4
	_, next, _ := r.Render(o, e)
	var n Detail
	_ = json.Unmarshal(next.Detail, &n)
	if n.ID == got["id"] {
		t.Error("two effects share an id")
	}
}

func TestTagValue_KeepsOnlySESCharacters(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	for in, want := range map[string]string{
		"ord_abc-123":  "ord_abc-123",
		"ord.abc:1":    "ord_abc_1",
		"late payment": "late_payment",
		"é":            "__",
		"":             "_",
	} {
		got := TagValue(in)
		if got != want || !valid.MatchString(got) {
			t.Errorf("TagValue(%q) = %q, want %q", in, got, want)
		}
	}
	if got := TagValue(strings.Repeat("a", 300)); len(got) != 256 {
		t.Errorf("long value kept %d characters", len(got))
	}
	o := paidOrder()
	o.ID = "ord.weird id"
	m, _, _ := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt})
	for k, v := range m.Tags {
		if !valid.MatchString(k) || !valid.MatchString(v) {
			t.Errorf("tag %q=%q is not SES's charset", k, v)
		}
	}
}

func TestNewRenderer_SubjectStaysOnOneLine(t *testing.T) {
	r, err := NewRenderer("Jam\r\nBcc: x@evil.example", "")
	if err != nil {
		t.Fatal(err)
	}
	o := paidOrder()
	m, _, _ := r.Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt})
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("Subject = %q", m.Subject)
	}
	if strings.Contains(m.HTML, "href=") {
		t.Error("a link with no SITE_URL")
	}
}
