package mail

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

var (
	periodStart = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	periodEnd   = time.Date(2026, 12, 23, 10, 0, 0, 0, time.UTC)
)

// activeSub is a monthly subscription of 900 usd, with a hostile plan
// name, renewed once (in_2) after its first payment (in_1).
func activeSub() subscription.Subscription {
	return subscription.Subscription{
		ID: "sbn_abc123", Gateway: "stripe", Status: subscription.Active, Version: 5,
		SKU: "club-monthly", Name: "Jam <club> & co", Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd",
		Interval: "month", IntervalCount: 1, Email: "a@example.com",
		TokenHash:         "d2f1c0ffee0000000000000000000000000000000000000000000000000000aa",
		AccessTokenHashes: []string{"acce55c0ffee000000000000000000000000000000000000000000000000bb"},
		SubscriptionRef:   "sub_123", CreatedAt: periodStart.AddDate(0, -1, 0),
		Evidence: subscription.Evidence{
			Completed: true, PeriodEnd: periodEnd.Unix(),
			Snapshot: subscription.Snapshot{At: periodStart.Unix(), Status: subscription.Active},
			Renewals: []subscription.Renewal{
				{Ref: "in_1", Amount: 900, Currency: "usd", PeriodStart: periodStart.AddDate(0, -1, 0).Unix(), PeriodEnd: periodStart.Unix(), At: periodStart.AddDate(0, -1, 0).Unix(), First: true},
				{Ref: "in_2", Amount: 900, Currency: "usd", PeriodStart: periodStart.Unix(), PeriodEnd: periodEnd.Unix(), At: periodStart.Unix()},
			},
		},
	}
}

func subEffect(s subscription.Subscription, typ, mail string) order.Effect {
	return order.Effect{OrderID: s.ID, Version: s.Version, Type: typ, Mail: mail, OwedAt: periodStart.Add(time.Minute)}
}

// renderSub renders e for s, failing the test unless a mail comes out.
func renderSub(t *testing.T, s subscription.Subscription, e order.Effect) (text, html string) {
	t.Helper()
	m, ev, err := newRenderer(t).RenderSubscription(s, e)
	if err != nil || m == nil {
		t.Fatalf("RenderSubscription(%s) = %v, %v", e.Mail, m, err)
	}
	if m.To != "a@example.com" || m.Tags["subscription_id"] != s.ID || m.Tags["kind"] != e.Mail {
		t.Errorf("%s: To %q, Tags %v", e.Mail, m.To, m.Tags)
	}
	if ev.DetailType != e.Type {
		t.Errorf("%s: event %q, want %q", e.Mail, ev.DetailType, e.Type)
	}
	if strings.Contains(m.Subject, "\n") {
		t.Errorf("%s: subject on two lines: %q", e.Mail, m.Subject)
	}
	for _, part := range []string{m.Subject, m.Text, m.HTML} {
		// Never a token, nor its hash.
		if strings.Contains(part, "token") || strings.Contains(part, s.TokenHash) || strings.Contains(part, "acce55c0ffee") {
			t.Errorf("%s carries a token: %s", e.Mail, part)
		}
	}
	// The hostile plan name is escaped in HTML, and kept in the text.
	if strings.Contains(m.HTML, "<club>") || !strings.Contains(m.HTML, "Jam &lt;club&gt; &amp; co") {
		t.Errorf("%s: the plan name is not escaped:\n%s", e.Mail, m.HTML)
	}
	if !strings.Contains(m.Text, "Jam <club> & co") {
		t.Errorf("%s: the text lacks the plan name:\n%s", e.Mail, m.Text)
	}
	for _, want := range []string{"Subscription sbn_abc123", "Jam &amp; Co."} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("%s: HTML lacks %q:\n%s", e.Mail, want, m.HTML)
		}
	}
	if !strings.Contains(m.Text, "Subscription sbn_abc123\n") {
		t.Errorf("%s: the text's footer lacks the subscription:\n%s", e.Mail, m.Text)
	}
	return m.Text, m.HTML
}

func wantIn(t *testing.T, what, in string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(in, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, in)
		}
	}
}

func TestRenderSubscription_StartedShowsPlanAmountAndNextRenewal(t *testing.T) {
	s := activeSub()
	text, html := renderSub(t, s, subEffect(s, "subscription.active", subscription.MailStarted))
	wantIn(t, "text", text, "Jam <club> & co: $9.00 every month", "renews on 23 December 2026, for $9.00",
		"Your account page: https://shop.example.com/account.html")
	wantIn(t, "HTML", html, "<strong>$9.00</strong> every month", `href="https://shop.example.com/account.html"`)
	if strings.Contains(text, "trial") {
		t.Errorf("a subscription without a trial speaks of one:\n%s", text)
	}
}

func TestRenderSubscription_StartedInTrialSaysWhenTheFirstPaymentIsTaken(t *testing.T) {
	s := activeSub()
	s.Status, s.TrialDays, s.IntervalCount = subscription.Trialing, 7, 3
	s.Evidence.Snapshot = subscription.Snapshot{At: periodStart.Unix(), Status: subscription.Trialing, TrialEnd: periodEnd.Unix()}
	text, html := renderSub(t, s, subEffect(s, "subscription.trialing", subscription.MailStarted))
	wantIn(t, "text", text, "every 3 months", "free trial runs until 23 December 2026. The first payment, $9.00, is taken then")
	wantIn(t, "HTML", html, "<strong>23 December 2026</strong>")
}

func TestRenderSubscription_RenewalReceiptShowsAmountAndPeriodPaid(t *testing.T) {
	s := activeSub()
	text, html := renderSub(t, s, subEffect(s, "subscription.renewed", subscription.MailRenewalReceipt))
	wantIn(t, "text", text, "payment of $9.00 for Jam <club> & co, for 23 November 2026 to 23 December 2026")
	wantIn(t, "HTML", html, "<strong>$9.00</strong>", "<strong>23 November 2026</strong> to <strong>23 December 2026</strong>")
}

func TestRenderSubscription_RenewalFailedSaysWhyAndHowToFixIt(t *testing.T) {
	s := activeSub()
	s.Status, s.Evidence.FailureReason = subscription.PastDue, "Your card was declined <insufficient_funds>."
	text, html := renderSub(t, s, subEffect(s, "subscription.past_due", subscription.MailRenewalFailed))
	wantIn(t, "stripe text", text, "could not take the payment of $9.00", "Your card was declined <insufficient_funds>.",
		"update your card from your account page (https://shop.example.com/account.html)")
	wantIn(t, "stripe HTML", html, "Your card was declined &lt;insufficient_funds&gt;.", `<a href="https://shop.example.com/account.html">`)

	s.Gateway, s.Currency, s.Amount = "razorpay", "inr", 49900
	text, _ = renderSub(t, s, subEffect(s, "subscription.past_due", subscription.MailRenewalFailed))
	wantIn(t, "razorpay text", text, "₹499.00", "Razorpay retries the payment", "Your account page: https://shop.example.com/account.html")
	if strings.Contains(text, "update your card") {
		t.Errorf("Razorpay's mail sends the subscriber to a card update it has not:\n%s", text)
	}
	// With Razorpay's page for the subscription (its short_url): the
	// payment link, since jampay asks Razorpay to send no mail of its own.
	s.PaymentLink = "https://rzp.io/i/k3bXq0pZ"
	text, html = renderSub(t, s, subEffect(s, "subscription.past_due", subscription.MailRenewalFailed))
	wantIn(t, "razorpay text with its link", text, "at Razorpay's page for your subscription: https://rzp.io/i/k3bXq0pZ (Razorpay also retries the payment)")
	wantIn(t, "razorpay HTML with its link", html, `<a href="https://rzp.io/i/k3bXq0pZ">`)

	s.Status = subscription.Halted
	text, _ = renderSub(t, s, subEffect(s, "subscription.halted", subscription.MailRenewalFailed))
	wantIn(t, "halted text", text, "the retries are over", "https://rzp.io/i/k3bXq0pZ")
}

func TestRenderSubscription_TrialEndingSaysWhenWhatAndHowToCancel(t *testing.T) {
	s := activeSub()
	s.Status, s.TrialDays, s.Currency, s.Amount = subscription.Trialing, 14, "jpy", 1500
	s.Evidence.TrialEnding = periodEnd.Unix()
	text, html := renderSub(t, s, subEffect(s, "subscription.trial_will_end", subscription.MailTrialEnding))
	wantIn(t, "text", text, "ends on 23 December 2026. Then ¥1,500 is charged", "To cancel before you are charged, go to your account page",
		"https://shop.example.com/account.html")
	wantIn(t, "HTML", html, "<strong>¥1,500</strong>")
}

func TestRenderSubscription_CanceledSaysUntilWhenAccessLasts(t *testing.T) {
	s := activeSub()
	s.Status = subscription.Canceled
	s.Evidence.Canceled = true
	s.Evidence.Snapshot = subscription.Snapshot{At: periodStart.Unix(), Status: subscription.Canceled, CancelAtPeriodEnd: true}
	text, _ := renderSub(t, s, subEffect(s, "subscription.canceled", subscription.MailCanceled))
	wantIn(t, "at period end", text, "You keep access until 23 December 2026")

	s.Evidence.Snapshot.CancelAtPeriodEnd = false
	text, _ = renderSub(t, s, subEffect(s, "subscription.canceled", subscription.MailCanceled))
	wantIn(t, "now", text, "It has ended now")
	if strings.Contains(text, "keep access") {
		t.Errorf("an immediate cancellation promises access:\n%s", text)
	}
}

func TestRenderSubscription_AmountsPerCurrency(t *testing.T) {
	for _, tc := range []struct {
		currency string
		amount   int64
		want     string
	}{
		{"usd", 900, "$9.00"},
		{"inr", 49900, "₹499.00"},
		{"jpy", 1500, "¥1,500"},
	} {
		s := activeSub()
		s.Currency, s.Amount, s.UnitAmount = tc.currency, tc.amount, tc.amount
		for i := range s.Evidence.Renewals {
			s.Evidence.Renewals[i].Amount, s.Evidence.Renewals[i].Currency = tc.amount, tc.currency
		}
		for _, mail := range subscriptionKinds {
			text, html := renderSub(t, s, subEffect(s, "subscription.renewed", mail))
			if !strings.Contains(text, tc.want) || !strings.Contains(html, tc.want) {
				t.Errorf("%s in %s: no %q:\n%s", mail, tc.currency, tc.want, text)
			}
		}
	}
}

func TestRenderSubscription_NoMailWithoutAddressOrWhenNoneIsOwed(t *testing.T) {
	s := activeSub()
	r := newRenderer(t)
	if m, ev, err := r.RenderSubscription(s, subEffect(s, "subscription.amount_mismatch", "")); err != nil || m != nil || ev.DetailType == "" {
		t.Errorf("no mail owed: %v, %v, %v", m, ev, err)
	}
	s.Email = " "
	if m, _, err := r.RenderSubscription(s, subEffect(s, "subscription.active", subscription.MailStarted)); err != nil || m != nil {
		t.Errorf("no address: %v, %v", m, err)
	}
	s.Email = "a@example.com"
	for _, mail := range []string{"postcard", order.MailReceipt} {
		if _, _, err := r.RenderSubscription(s, subEffect(s, "subscription.active", mail)); err == nil {
			t.Errorf("a subscription rendered the mail %q", mail)
		}
	}
}

func TestRenderSubscription_EventDetailHasTheRenewalAndNoToken(t *testing.T) {
	s := activeSub()
	s.Evidence.Mismatched = []string{"in_3"}
	s.Evidence.Renewals = append(s.Evidence.Renewals, subscription.Renewal{Ref: "in_3", Amount: 1200, Currency: "usd",
		PeriodStart: periodEnd.Unix(), PeriodEnd: periodEnd.AddDate(0, 1, 0).Unix(), At: periodEnd.Unix()})
	r := newRenderer(t)
	for _, tc := range []struct {
		typ, ref string
		amount   int64
		owedAt   time.Time
	}{
		// Rendered after the next renewal was recorded: still its own.
		{"subscription.renewed", "in_2", 900, periodStart.Add(time.Minute)},
		{"subscription.renewed", "in_3", 1200, periodEnd.Add(time.Minute)},
		{"subscription.amount_mismatch", "in_3", 1200, periodEnd.Add(time.Minute)},
	} {
		e := order.Effect{OrderID: s.ID, Version: 7, Type: tc.typ, OwedAt: tc.owedAt}
		_, ev, err := r.RenderSubscription(s, e)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType != tc.typ {
			t.Errorf("DetailType = %q", ev.DetailType)
		}
		raw := string(ev.Detail)
		for _, bad := range []string{s.TokenHash, "acce55c0ffee", "token", "Token"} {
			if strings.Contains(raw, bad) {
				t.Errorf("the event carries %q: %s", bad, raw)
			}
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{
			"id": "sbn_abc123:7:" + tc.typ, "type": tc.typ, "subscriptionId": "sbn_abc123", "sku": "club-monthly",
			"name": "Jam <club> & co", "amount": 900.0, "currency": "usd", "interval": "month", "intervalCount": 1.0,
			"status": "active", "currentPeriodEnd": "2026-12-23T10:00:00Z", "email": "a@example.com", "version": 7.0,
			"trialEnd": nil,
		} {
			if got, ok := d[k]; !ok || got != want {
				t.Errorf("%s: detail %s = %v, want %v", tc.typ, k, got, want)
			}
		}
		rn, _ := d["renewal"].(map[string]any)
		if rn["ref"] != tc.ref || rn["amount"] != float64(tc.amount) || rn["currency"] != "usd" || rn["periodEnd"] == nil {
			t.Errorf("%s owed at %s: renewal %v, want %s", tc.typ, tc.owedAt, rn, tc.ref)
		}
	}
	// A status change names no renewal.
	_, ev, _ := r.RenderSubscription(s, subEffect(s, "subscription.past_due", ""))
	if strings.Contains(string(ev.Detail), `"renewal"`) {
		t.Errorf("a status event carries a renewal: %s", ev.Detail)
	}
}

func TestAccessLinkMail_ListsEachLinkEscaped(t *testing.T) {
	r := newRenderer(t)
	links := []AccessLink{
		{Name: "Jam <club>", URL: "https://shop.example.com/account.html#subscription=sbn_a&token=tok_a"},
		{Name: "Tea club", URL: "https://shop.example.com/account.html#subscription=sbn_b&token=tok_b"},
	}
	m, err := r.AccessLinkMail(" a@example.com ", links)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "a@example.com" || m.Subject != "Your subscription link for Jam & Co." || m.Tags["kind"] != "access_link" {
		t.Errorf("To %q, Subject %q, Tags %v", m.To, m.Subject, m.Tags)
	}
	wantIn(t, "text", m.Text, "each of your subscriptions", "Jam <club>:\nhttps://shop.example.com/account.html#subscription=sbn_a&token=tok_a",
		"Tea club:\nhttps://shop.example.com/account.html#subscription=sbn_b&token=tok_b", "If you did not ask for it")
	wantIn(t, "HTML", m.HTML, `href="https://shop.example.com/account.html#subscription=sbn_a&amp;token=tok_a"`, "Jam &lt;club&gt;")
	if strings.Contains(m.HTML, "<club>") || strings.Contains(m.Text, "Order ") || strings.Contains(m.HTML, "Subscription ") {
		t.Errorf("HTML not escaped, or a footer naming what it is not about:\n%s\n%s", m.HTML, m.Text)
	}
	one, err := r.AccessLinkMail("a@example.com", links[1:])
	if err != nil || !strings.Contains(one.Text, "link to your subscription at") {
		t.Errorf("one link: %v\n%v", err, one)
	}
	// Only links to the site: a script URL never becomes a link.
	evil, err := r.AccessLinkMail("a@example.com", []AccessLink{{Name: "x", URL: "javascript:alert(1)"}})
	if err != nil || strings.Contains(evil.HTML, "javascript:") {
		t.Errorf("a javascript: URL in the HTML: %v\n%s", err, evil.HTML)
	}
	if _, err := r.AccessLinkMail("", links); err == nil {
		t.Error("an access link without an address rendered")
	}
	if _, err := r.AccessLinkMail("a@example.com", nil); err == nil {
		t.Error("an access-link mail without a link rendered")
	}
}

func TestRender_OrderFooterIsUnchanged(t *testing.T) {
	o := paidOrder()
	m, _, err := newRenderer(t).Render(o, order.Effect{OrderID: o.ID, Version: 3, Type: "order.paid", Mail: order.MailReceipt})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.Text, "\n-- \nJam & Co.\nhttps://shop.example.com\nOrder ord_abc123\n") {
		t.Errorf("the order's footer changed:\n%q", m.Text)
	}
	if !strings.Contains(m.HTML, `Order ord_abc123 · <a href="https://shop.example.com"`) {
		t.Errorf("the order's HTML footer changed:\n%s", m.HTML)
	}
}
