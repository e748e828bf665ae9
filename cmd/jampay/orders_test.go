package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jampay/jampay/pkg/order"
)

// TestOrders_TableAndJSON: `jampay orders` shows the orders each filter
// chooses, newest first, in an aligned table with money as the site
// writes it, or as JSON lines.
func TestOrders_TableAndJSON(t *testing.T) {
	env, store := shopTable(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	oldest := paidOrder("stripe", day, 4000, "usd")
	rupees := paidOrder("razorpay", day.Add(24*time.Hour), 39800, "inr")
	rupees.Status, rupees.Evidence, rupees.History, rupees.Email = order.Pending, order.Evidence{}, nil, ""
	yen := paidOrder("stripe", day.Add(48*time.Hour), 1500, "jpy")
	yen.Status, yen.Evidence.Refunded = order.Refunded, 1500
	newest := paidOrder("stripe", day.Add(72*time.Hour), 123456, "usd")
	newest.Email = "big.spender@example.com"
	mustCreate(t, store, oldest, rupees, yen, newest)

	out, errOut, err := jampay(ctx, env, "orders")
	if err != nil {
		t.Fatal(err, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []struct{ id, status, amount, email string }{
		{newest.ID, "paid", "$1,234.56", "big.spender@example.com"},
		{yen.ID, "refunded", "¥1,500", "a@example.com"},
		{rupees.ID, "pending", "₹398.00", "-"},
		{oldest.ID, "paid", "$40.00", "a@example.com"},
	}
	if len(lines) != 1+len(want) || !strings.HasPrefix(lines[0], "ORDER") {
		t.Fatalf("table:\n%s", out)
	}
	// The amounts end in one column: aligned right.
	amountEnd := -1
	for i, w := range want {
		l := lines[i+1]
		f := strings.Fields(l)
		if f[0] != w.id || f[3] != w.status || !strings.Contains(l, w.amount) || f[len(f)-1] != w.email {
			t.Errorf("line %d: %q, want %+v", i+1, l, w)
		}
		end := utf8.RuneCountInString(l[:strings.Index(l, w.amount)+len(w.amount)])
		if amountEnd != -1 && end != amountEnd {
			t.Errorf("amounts not aligned right:\n%s", out)
		}
		amountEnd = end
	}
	if !strings.Contains(lines[1], "2026-11-06 09:00") {
		t.Errorf("created time: %q", lines[1])
	}
	if errOut != "4 orders.\n" {
		t.Errorf("stderr %q", errOut)
	}

	for _, c := range []struct {
		args []string
		want []string
		note string
	}{
		{[]string{"-status", "paid"}, []string{newest.ID, oldest.ID}, ""},
		{[]string{"-gateway", "razorpay"}, []string{rupees.ID}, ""},
		{[]string{"-status", "paid", "-gateway", "stripe", "-since", "2026-11-04"}, []string{newest.ID}, ""},
		// A date as -until includes its day.
		{[]string{"-since", "2026-11-04", "-until", "2026-11-05"}, []string{yen.ID, rupees.ID}, ""},
		{[]string{"-until", "2026-11-04T09:00:00Z"}, []string{oldest.ID}, ""},
		{[]string{"-limit", "2"}, []string{newest.ID, yen.ID}, "The newest 2 of 4 orders that match (-limit 2).\n"},
		{[]string{"-status", "failed"}, nil, "No orders match.\n"},
	} {
		out, errOut, err := jampay(ctx, env, append([]string{"orders", "-json"}, c.args...)...)
		if err != nil {
			t.Fatalf("%v: %v %s", c.args, err, errOut)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%v: line %q: %v", c.args, l, err)
			}
			if _, ok := m["tokenHash"]; ok || strings.Contains(l, newest.TokenHash) {
				t.Fatalf("the token's hash is listed: %s", l)
			}
			got = append(got, m["orderId"].(string))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("orders %v: listed %v, want %v", c.args, got, c.want)
		}
		if c.note != "" && errOut != c.note {
			t.Errorf("orders %v: stderr %q, want %q", c.args, errOut, c.note)
		}
	}

	// One line of -json, whole.
	out, _, _ = jampay(ctx, env, "orders", "-json", "-gateway", "razorpay")
	var line struct {
		OrderID, Status, Gateway, Currency string
		Amount                             int64
		Items                              []order.LineItem
		CreatedAt                          time.Time
	}
	if err := json.Unmarshal([]byte(out), &line); err != nil || line.OrderID != rupees.ID || line.Status != "pending" ||
		line.Amount != 39800 || line.Currency != "inr" || len(line.Items) != 1 || !line.CreatedAt.Equal(rupees.CreatedAt) {
		t.Fatalf("-json line %s (%v)", out, err)
	}
}

// TestOrders_ClearErrors: what the owner typed wrong, or has not set, is
// named.
func TestOrders_ClearErrors(t *testing.T) {
	env, _ := shopTable(t)
	ctx := context.Background()
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"orders", "-status", "shipped"}, `-status "shipped" is not a status`},
		{env, []string{"orders", "-gateway", "paypal"}, "want stripe or razorpay"},
		{env, []string{"orders", "-since", "yesterday"}, "-since \"yesterday\": want a date"},
		{env, []string{"orders", "-since", "2026-11-05", "-until", "2026-11-01"}, "is not before -until"},
		{env, []string{"orders", "-limit", "0"}, "-limit must be at least 1"},
		{env, []string{"orders", "paid"}, "orders takes no arguments"},
		{with(env, "TABLE_NAME", ""), []string{"orders"}, "missing setting: TABLE_NAME"},
		{with(env, "TABLE_NAME", "jampay-nosuchtable"), []string{"orders"}, "there is no table jampay-nosuchtable at " + env["DYNAMODB_ENDPOINT"]},
		// No DynamoDB Local and no AWS credentials: where to get them.
		{with(env, "DYNAMODB_ENDPOINT", ""), []string{"orders"}, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"},
		{with(env, "DYNAMODB_ENDPOINT", "", "AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY", "s"), []string{"orders"}, "missing setting: AWS_REGION"},
		{with(env, "AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"), []string{"orders"}, "missing setting: AWS_SECRET_ACCESS_KEY"},
		{env, []string{"order"}, "order takes 1 argument, got 0"},
		{env, []string{"order", "ord_nope"}, `unknown order "ord_nope"`},
		{env, []string{"order", order.NewID()}, "unknown order ord_"},
	} {
		_, _, err := jampay(ctx, c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// TestOrder_EverythingWithHistory: `jampay order ID` shows the items, the
// money, the evidence, the references, the refunds asked and every change
// of the history with who made it; -json holds the same.
func TestOrder_EverythingWithHistory(t *testing.T) {
	env, store := shopTable(t)
	ctx := context.Background()
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	o := paidOrder("stripe", created, 4000, "usd")
	o.Status, o.Version = order.PartiallyRefunded, 3
	o.Evidence.Refunded = 1000
	o.FailureReason = "card_declined"
	o.Refunds = []order.Refund{{Seq: 1, Amount: 1000, At: created.Add(time.Hour), Actor: "arn:aws:iam::123456789012:user/owner", RefundID: "re_1"},
		{Seq: 2, Amount: 500, At: created.Add(2 * time.Hour), Actor: "local", RefundedBefore: 1000}}
	o.History = append([]order.Change{{At: created.Add(30 * time.Second), EventID: "evt_declined", EventType: "payment_intent.payment_failed",
		Source: order.SourceWebhook, From: order.Pending, To: order.Pending}}, o.History...)
	o.History = append(o.History,
		order.Change{At: created.Add(time.Hour), EventID: "refund_1", EventType: order.EventRefundRequested, Source: order.SourceOwner,
			Actor: "arn:aws:iam::123456789012:user/owner", From: order.Paid, To: order.Paid},
		order.Change{At: created.Add(90 * time.Minute), EventID: "evt_refunded", EventType: "charge.refunded", Source: order.SourceReconcile,
			Actor: "local", From: order.Paid, To: order.PartiallyRefunded})
	mustCreate(t, store, o)

	out, _, err := jampay(ctx, env, "order", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Order", o.ID, "partially_refunded", "$40.00 (usd)", "a@example.com", "2026-11-22 10:00:00 UTC", "version 3",
		"card_declined", o.SessionRef, o.PaymentRef,
		"Paid", "$40.00 usd (" + o.PaymentRef + ")", "Refunded", "$10.00", "Refundable", "$25.00",
		"paid=true", "paidAmount=4000", "refunded=1000",
		"2 ×", "T-shirt (M)", "tee-m", "@ $20.00",
		"#1", "re_1, confirmed", "#2", "$5.00", "no answer from the gateway yet",
		"2026-11-22 10:00:30 UTC", "payment_intent.payment_failed", "evt_declined", "pending (no change of status)",
		"checkout.session.completed", "webhook", "pending → paid",
		"jampay.refund_requested", "owner", "arn:aws:iam::123456789012:user/owner",
		"charge.refunded", "reconcile", "local", "paid → partially_refunded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("jampay order lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "evt_declined") > strings.Index(out, "evt_refunded") {
		t.Errorf("history not oldest first:\n%s", out)
	}

	out, _, err = jampay(ctx, env, "order", "-json", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		OrderID, Status string
		Version         int64
		Evidence        map[string]any
		Refundable      int64
		Refunds         []struct {
			Seq            int
			Amount         int64
			Actor          string
			RefundID       string
			RefundedBefore int64
		}
		History []struct {
			At                                time.Time
			EventID, EventType, Source, Actor string
			From, To                          string
		}
		TokenHash string
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err, out)
	}
	if v.OrderID != o.ID || v.Status != "partially_refunded" || v.Version != 3 || v.Evidence["paid"] != true ||
		v.Evidence["refunded"] != float64(1000) || v.Refundable != 2500 || v.TokenHash != "" {
		t.Errorf("order -json: %s", out)
	}
	if len(v.Refunds) != 2 || v.Refunds[0].RefundID != "re_1" || v.Refunds[1].RefundedBefore != 1000 || v.Refunds[1].Actor != "local" {
		t.Errorf("refunds: %+v", v.Refunds)
	}
	if len(v.History) != 4 || v.History[3].Source != "reconcile" || v.History[3].Actor != "local" || v.History[3].From != "paid" ||
		v.History[3].To != "partially_refunded" || v.History[2].EventType != order.EventRefundRequested || !v.History[0].At.Equal(created.Add(30*time.Second)) {
		t.Errorf("history: %+v", v.History)
	}
}
