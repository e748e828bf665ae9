package payloads_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripehook"
)

// TestStripe_EveryHandledTypeHasItsObject: each type in stripehook.Events is
// written, in the envelope Stripe sends, around the object the table says
// it carries; other types are refused, not guessed.
func TestStripe_EveryHandledTypeHasItsObject(t *testing.T) {
	for _, et := range stripehook.Events {
		b, err := payloads.Stripe{Type: et.Type, OrderID: "ord_a", Amount: 4000}.Payload()
		var ev struct {
			Object, Type string
			Data         struct {
				Object struct{ Object string }
			}
		}
		if err != nil || json.Unmarshal(b, &ev) != nil {
			t.Fatalf("%s: %v %s", et.Type, err, b)
		}
		if ev.Object != "event" || ev.Type != et.Type || ev.Data.Object.Object != et.Object {
			t.Errorf("%s: an %s carrying a %s, want an event carrying a %s", et.Type, ev.Object, ev.Data.Object.Object, et.Object)
		}
	}
	if _, err := (payloads.Stripe{Type: "customer.created", OrderID: "ord_a"}).Payload(); err == nil || !strings.Contains(err.Error(), "customer.created") {
		t.Errorf("an unhandled type: %v, want an error naming it", err)
	}
}

// TestRazorpay_EveryHandledTypeHasItsEntities: each type in
// razorpayhook.Events is written with the entities the table says it
// contains, listed in "contains" and present under payload, and no others.
func TestRazorpay_EveryHandledTypeHasItsEntities(t *testing.T) {
	for _, et := range razorpayhook.Events {
		b, _, err := payloads.Razorpay{Type: et.Type, OrderID: "ord_a", Amount: 39800}.Payload()
		var ev struct {
			Event    string
			Contains []string
			Payload  map[string]struct {
				Entity struct{ Entity string }
			}
		}
		if err != nil || json.Unmarshal(b, &ev) != nil {
			t.Fatalf("%s: %v %s", et.Type, err, b)
		}
		var under []string
		for name, p := range ev.Payload {
			if p.Entity.Entity != name {
				t.Errorf("%s: payload.%s holds a %q entity", et.Type, name, p.Entity.Entity)
			}
			under = append(under, name)
		}
		slices.Sort(under)
		want := slices.Sorted(slices.Values(et.Contains))
		if ev.Event != et.Type || !slices.Equal(ev.Contains, et.Contains) || !slices.Equal(under, want) {
			t.Errorf("%s: contains %v, payload holds %v; want %v", ev.Event, ev.Contains, under, et.Contains)
		}
	}
	if _, _, err := (payloads.Razorpay{Type: "virtual_account.created", OrderID: "ord_a"}).Payload(); err == nil {
		t.Error("an unhandled type was written")
	}
}

// TestSubscription_PayloadsReadAsTheirFacts: what the sandbox sends for a
// subscription reads, through the webhooks' own decoders, as the facts it
// was written with.
func TestSubscription_PayloadsReadAsTheirFacts(t *testing.T) {
	const sbn = "sbn_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	end := at.AddDate(0, 1, 0)
	b, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: sbn, Created: at,
		Subscription: payloads.Subscription{SubscriptionRef: "sub_x"}}.Payload()
	e, err := stripehook.Decode(b)
	if err != nil || e.OrderID != sbn || e.Sub == nil || e.Sub.Ref != "sub_x" || e.Kind != order.KindPaid {
		t.Errorf("a completed subscription session: %+v %v", e, err)
	}
	b, _ = payloads.Stripe{Type: "invoice.paid", OrderID: sbn, Amount: 900, Created: at,
		Subscription: payloads.Subscription{SubscriptionRef: "sub_x", InvoiceID: "in_1", BillingReason: "subscription_create"}}.Payload()
	e, err = stripehook.Decode(b)
	if err != nil || e.OrderID != sbn || e.Amount != 900 || e.Sub.Renewal != "in_1" || !e.Sub.FirstInvoice || !e.Sub.PeriodEnd.Equal(end) {
		t.Errorf("invoice.paid: %+v %+v %v", e, e.Sub, err)
	}
	b, _ = payloads.Stripe{Type: "customer.subscription.updated", OrderID: sbn, Created: at,
		Subscription: payloads.Subscription{SubscriptionRef: "sub_x", Status: "past_due", CancelAtPeriodEnd: true}}.Payload()
	e, err = stripehook.Decode(b)
	if err != nil || e.Sub.Status != "past_due" || !e.Sub.CancelAtPeriodEnd || !e.Sub.PeriodEnd.Equal(end) {
		t.Errorf("customer.subscription.updated: %+v %v", e.Sub, err)
	}
	b, _, _ = payloads.Razorpay{Type: "subscription.charged", OrderID: sbn, PaymentID: "pay_1", Amount: 49900, Created: at,
		RazorpaySubscription: payloads.RazorpaySubscription{RazorpaySubscriptionID: "sub_r"}}.Payload()
	e, err = razorpayhook.Decode(b)
	if err != nil || e.SessionRef != "sub_r" || e.Kind != order.KindRenewalPaid || e.Amount != 49900 || e.Currency != "inr" ||
		e.Sub.Renewal != "pay_1" || !e.Sub.FirstInvoice || e.Sub.Status != "active" || !e.Sub.PeriodEnd.Equal(end) {
		t.Errorf("subscription.charged: %+v %+v %v", e, e.Sub, err)
	}
	b, _, _ = payloads.Razorpay{Type: "subscription.authenticated", OrderID: sbn, Created: at,
		RazorpaySubscription: payloads.RazorpaySubscription{RazorpaySubscriptionID: "sub_r", StartAt: at.AddDate(0, 0, 7)}}.Payload()
	e, err = razorpayhook.Decode(b)
	if err != nil || e.Sub.Status != "trialing" || !e.Sub.TrialEnd.Equal(at.AddDate(0, 0, 7)) {
		t.Errorf("subscription.authenticated with a trial: %+v %v", e.Sub, err)
	}
}
