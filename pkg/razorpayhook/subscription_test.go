package razorpayhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// fixtureSub is the Razorpay subscription of testdata/subscription.*.json.
const fixtureSub = "sub_NwXJwq0VAy1AAe"

func subscriptionFixture(t testing.TB, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// rzpSign is Razorpay's webhook signature as its "Validate Webhooks" page
// describes it — hex HMAC-SHA256 of the raw body under the webhook secret —
// written here rather than taken from the code under test.
func rzpSign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// edit decodes a fixture, lets change alter it, and writes it again.
func edit(t testing.TB, typ string, change func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(subscriptionFixture(t, typ), &ev); err != nil {
		t.Fatal(err)
	}
	change(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entityOf returns payload.<name>.entity of a decoded event.
func entityOf(ev map[string]any, name string) map[string]any {
	return ev["payload"].(map[string]any)[name].(map[string]any)["entity"].(map[string]any)
}

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// TestSubscriptionFixtures_OnePerRow: testdata holds one payload for each
// subscription row of the table and none for a type the table lacks, and
// each says what its row says it contains.
func TestSubscriptionFixtures_OnePerRow(t *testing.T) {
	names, _ := filepath.Glob("testdata/subscription.*.json")
	var files, rows []string
	for _, n := range names {
		files = append(files, strings.TrimSuffix(filepath.Base(n), ".json"))
	}
	for _, et := range razorpayhook.Events {
		if !et.Carries("subscription") {
			continue
		}
		rows = append(rows, et.Type)
		var ev struct {
			Event    string
			Contains []string
			Payload  map[string]json.RawMessage
		}
		if err := json.Unmarshal(subscriptionFixture(t, et.Type), &ev); err != nil {
			t.Fatal(err)
		}
		var under []string
		for k := range ev.Payload {
			under = append(under, k)
		}
		if ev.Event != et.Type || !slices.Equal(ev.Contains, et.Contains) ||
			!slices.Equal(slices.Sorted(slices.Values(under)), slices.Sorted(slices.Values(et.Contains))) {
			t.Errorf("%s: event %q contains %v, payload %v; the table says %v", et.Type, ev.Event, ev.Contains, under, et.Contains)
		}
	}
	slices.Sort(rows)
	if !slices.Equal(files, rows) {
		t.Errorf("testdata has %v, the table's subscription rows are %v", files, rows)
	}
}

// TestDecodeSubscription_EveryField: each subscription event, as Razorpay
// sends it, decodes to exactly this — every field of order.Event.
func TestDecodeSubscription_EveryField(t *testing.T) {
	const ps, pe = 1795946400, 1798538400
	snap := func(status string) *order.SubFacts {
		return &order.SubFacts{Ref: fixtureSub, Status: status, PeriodStart: at(ps), PeriodEnd: at(pe)}
	}
	sub := func(typ string, kind order.Kind, created int64, f *order.SubFacts) order.Event {
		return order.Event{Type: typ, Kind: kind, Created: at(created), SessionRef: fixtureSub, Refs: []string{fixtureSub}, Sub: f}
	}
	want := map[string]order.Event{
		// Authenticated to start billing in seven days: the trial.
		"subscription.authenticated": sub("subscription.authenticated", order.KindSubscription, 1795341720,
			&order.SubFacts{Ref: fixtureSub, Status: "trialing", TrialEnd: at(1795946400)}),
		"subscription.activated": sub("subscription.activated", order.KindSubscription, 1795946405, snap("active")),
		"subscription.charged": {Type: "subscription.charged", Kind: order.KindRenewalPaid, Created: at(1795946410),
			SessionRef: fixtureSub, PaymentRef: "pay_NwY8q3Hk2GZbQd", Amount: 90000, Currency: "inr",
			Refs: []string{fixtureSub, "pay_NwY8q3Hk2GZbQd", "order_NwY8pZr1Rt4mVx"},
			Sub: &order.SubFacts{Ref: fixtureSub, Status: "active", PeriodStart: at(ps), PeriodEnd: at(pe),
				Renewal: "pay_NwY8q3Hk2GZbQd", FirstInvoice: true}},
		"subscription.pending": withReason(sub("subscription.pending", order.KindSubscription, 1798538700, snap("past_due")),
			"A renewal payment failed; Razorpay will retry it."),
		"subscription.halted": withReason(sub("subscription.halted", order.KindSubscription, 1798797900, snap("halted")),
			"A renewal payment failed and Razorpay has stopped retrying it."),
		"subscription.paused":    sub("subscription.paused", order.KindSubscription, 1797000000, snap("paused")),
		"subscription.resumed":   sub("subscription.resumed", order.KindSubscription, 1797100000, snap("active")),
		"subscription.updated":   sub("subscription.updated", order.KindSubscription, 1797200000, snap("active")),
		"subscription.cancelled": sub("subscription.cancelled", order.KindSubscription, 1798538400, snap("canceled")),
		// The payment it carries is the last cycle's, already reported by
		// its subscription.charged: no renewal, no money here.
		"subscription.completed": sub("subscription.completed", order.KindSubscription, 1824890410,
			&order.SubFacts{Ref: fixtureSub, Status: "completed", PeriodStart: at(1824890400), PeriodEnd: at(1827482400)}),
	}
	for _, et := range razorpayhook.Events {
		if et.Carries("subscription") && want[et.Type].Type == "" {
			t.Errorf("%s has no case here", et.Type)
		}
	}
	v := &razorpayhook.Verifier{Secrets: []string{secret}}
	for typ, w := range want {
		body := subscriptionFixture(t, typ)
		e, err := v.ParseWebhook(context.Background(),
			http.Header{"X-Razorpay-Signature": {rzpSign(body, secret)}, "X-Razorpay-Event-Id": {"evt_" + typ}}, body)
		w.ID = "evt_" + typ
		if err != nil || !reflect.DeepEqual(e, w) {
			t.Errorf("%s:\n got %+v %+v %v\nwant %+v %+v", typ, e, e.Sub, err, w, w.Sub)
		}
	}
}

func withReason(e order.Event, reason string) order.Event {
	e.Reason = reason
	return e
}

// TestDecodeSubscription_Status: Razorpay's statuses in the contract's
// words; authenticated is the trial only while billing has not started.
func TestDecodeSubscription_Status(t *testing.T) {
	const created = 1795341720
	for _, tc := range []struct {
		status   string
		startAt  any
		want     string
		trialEnd time.Time
	}{
		{"created", nil, "pending", time.Time{}},
		{"authenticated", created + 1, "trialing", at(created + 1)},
		{"authenticated", created, "active", time.Time{}},
		{"authenticated", created - 60, "active", time.Time{}},
		{"authenticated", nil, "active", time.Time{}},
		{"active", nil, "active", time.Time{}},
		{"pending", nil, "past_due", time.Time{}},
		{"halted", nil, "halted", time.Time{}},
		{"paused", nil, "paused", time.Time{}},
		{"cancelled", nil, "canceled", time.Time{}},
		{"completed", nil, "completed", time.Time{}},
		{"expired", nil, "expired", time.Time{}},
		// Not a status Razorpay documents: the event is the subscription's,
		// with no snapshot to rank.
		{"on_hold", nil, "", time.Time{}},
	} {
		body := edit(t, "subscription.updated", func(ev map[string]any) {
			ev["created_at"] = created
			s := entityOf(ev, "subscription")
			s["status"], s["start_at"] = tc.status, tc.startAt
		})
		e, err := razorpayhook.Decode(body)
		if err != nil || e.Sub.Status != tc.want || !e.Sub.TrialEnd.Equal(tc.trialEnd) || e.Sub.CancelAtPeriodEnd {
			t.Errorf("%s start_at %v: %+v %v, want %q trial end %v", tc.status, tc.startAt, e.Sub, err, tc.want, tc.trialEnd)
		}
	}
}

// TestDecodeSubscription_ScheduledChangesAreNotACancel: Razorpay's
// has_scheduled_changes and change_scheduled_at describe an update
// scheduled for the cycle's end (Update a Subscription with
// schedule_change_at), not a cancellation: a customer must not read
// "ends with this period" because the owner changed the quantity.
func TestDecodeSubscription_ScheduledChangesAreNotACancel(t *testing.T) {
	body := edit(t, "subscription.updated", func(ev map[string]any) {
		s := entityOf(ev, "subscription")
		s["has_scheduled_changes"], s["change_scheduled_at"] = true, s["current_end"]
	})
	e, err := razorpayhook.Decode(body)
	if err != nil || e.Sub.CancelAtPeriodEnd || e.Sub.Status != "active" {
		t.Fatalf("%+v %v", e.Sub, err)
	}
}

// TestDecodeSubscription_FailedRenewalReason: a failed renewal's reason is
// the failed payment's when the payload carries one.
func TestDecodeSubscription_FailedRenewalReason(t *testing.T) {
	for _, typ := range []string{"subscription.pending", "subscription.halted"} {
		body := edit(t, typ, func(ev map[string]any) {
			ev["contains"] = []string{"subscription", "payment"}
			ev["payload"].(map[string]any)["payment"] = map[string]any{"entity": map[string]any{
				"id": "pay_NzFa1lEd0Ret4q", "entity": "payment", "amount": 90000, "currency": "INR", "status": "failed",
				"order_id": "order_NzFa0kDc9Qds3p", "invoice_id": "inv_NzFa0jCb8Pcr2o", "captured": false,
				"description": "Recurring Payment via Subscription", "notes": []any{},
				"error_code": "BAD_REQUEST_ERROR", "error_description": "Your card has insufficient funds.",
				"error_source": "customer", "error_step": "payment_authorization", "error_reason": "insufficient_funds",
				"created_at": 1798538650}}
		})
		e, err := razorpayhook.Decode(body)
		if err != nil || e.Kind != order.KindSubscription || e.Reason != "Your card has insufficient funds." ||
			e.PaymentRef != "" || e.Amount != 0 || e.Currency != "" || e.Sub.Renewal != "" {
			t.Errorf("%s: %+v %v", typ, e, err)
		}
	}
	// Other snapshots carry no reason, whatever payment rides along.
	for _, typ := range []string{"subscription.activated", "subscription.charged", "subscription.completed"} {
		if e, _ := razorpayhook.Decode(subscriptionFixture(t, typ)); e.Reason != "" {
			t.Errorf("%s: reason %q", typ, e.Reason)
		}
	}
}

// TestDecodeSubscription_ActivatedWithPaymentIsNoRenewal: Razorpay sends
// subscription.activated with the payment when one was made before it;
// the money is subscription.charged's to report, once.
func TestDecodeSubscription_ActivatedWithPaymentIsNoRenewal(t *testing.T) {
	charged := map[string]any{}
	_ = json.Unmarshal(subscriptionFixture(t, "subscription.charged"), &charged)
	body := edit(t, "subscription.activated", func(ev map[string]any) {
		ev["contains"] = []string{"subscription", "payment"}
		ev["payload"].(map[string]any)["payment"] = charged["payload"].(map[string]any)["payment"]
	})
	e, err := razorpayhook.Decode(body)
	if err != nil || e.Kind != order.KindSubscription || e.PaymentRef != "" || e.Amount != 0 || e.Sub.Renewal != "" ||
		!slices.Equal(e.Refs, []string{fixtureSub}) {
		t.Fatalf("%+v %+v %v", e, e.Sub, err)
	}
}

// TestDecodeSubscription_FirstInvoice: only the charge that makes
// paid_count 1 is the first invoice.
func TestDecodeSubscription_FirstInvoice(t *testing.T) {
	for paid, first := range map[int]bool{1: true, 2: false, 12: false, 0: false} {
		body := edit(t, "subscription.charged", func(ev map[string]any) { entityOf(ev, "subscription")["paid_count"] = paid })
		if e, err := razorpayhook.Decode(body); err != nil || e.Sub.FirstInvoice != first {
			t.Errorf("paid_count %d: %+v %v", paid, e.Sub, err)
		}
	}
}

// TestDecodeSubscription_Hostile: payloads that are not what Razorpay
// sends are refused as invalid, and fields a customer can set route
// nothing.
func TestDecodeSubscription_Hostile(t *testing.T) {
	refused := map[string][]byte{
		"charged without its payment": edit(t, "subscription.charged", func(ev map[string]any) {
			delete(ev["payload"].(map[string]any), "payment")
		}),
		"no subscription": edit(t, "subscription.activated", func(ev map[string]any) {
			ev["payload"] = map[string]any{}
		}),
		"a subscription id that is not one": edit(t, "subscription.activated", func(ev map[string]any) {
			entityOf(ev, "subscription")["id"] = "order_NwY8pZr1Rt4mVx"
		}),
		"an empty subscription id": edit(t, "subscription.cancelled", func(ev map[string]any) {
			entityOf(ev, "subscription")["id"] = ""
		}),
		"a time that is not a number": edit(t, "subscription.activated", func(ev map[string]any) {
			entityOf(ev, "subscription")["current_end"] = "soon"
		}),
		// The payment of an order event, under a subscription type.
		"a payment where the subscription should be": edit(t, "subscription.cancelled", func(ev map[string]any) {
			p := ev["payload"].(map[string]any)
			p["payment"] = p["subscription"]
			delete(p, "subscription")
		}),
	}
	for name, body := range refused {
		if _, err := razorpayhook.Decode(body); order.ErrorCode(err) != order.CodeInvalidPayload {
			t.Errorf("%s: %v, want invalid_payload", name, err)
		}
	}

	// A payment.captured for a subscription's charge: Razorpay's own order
	// and invoice, no subscription id, and notes a browser could have set
	// naming someone else's subscription and order. It is decoded as any
	// payment is, and nothing it names in its notes is read.
	e, err := razorpayhook.Decode(subscriptionFixture(t, "charge-payment.captured"))
	if err != nil || e.Kind != order.KindPaid || e.Sub != nil || e.OrderID != "" ||
		e.SessionRef != "order_NwY8pZr1Rt4mVx" || !slices.Equal(e.Refs, []string{"order_NwY8pZr1Rt4mVx", "pay_NwY8q3Hk2GZbQd"}) {
		t.Errorf("payment.captured with hostile notes: %+v %+v %v", e, e.Sub, err)
	}

	// The renewal's payment notes name another subscription: still ours.
	body := edit(t, "subscription.charged", func(ev map[string]any) {
		entityOf(ev, "payment")["notes"] = map[string]any{"subscription_id": "sbn_someoneelsesxxxxxxxxxxxxx", "order_id": "ord_someoneelsesxxxxxxxxxxxxx"}
	})
	if e, err := razorpayhook.Decode(body); err != nil || e.SessionRef != fixtureSub || e.Sub.Ref != fixtureSub || e.OrderID != "" {
		t.Errorf("charged with hostile payment notes: %+v %v", e, err)
	}

	// Notes on the subscription as Razorpay writes none: [].
	body = edit(t, "subscription.activated", func(ev map[string]any) { entityOf(ev, "subscription")["notes"] = []any{} })
	if e, err := razorpayhook.Decode(body); err != nil || e.Sub.Ref != fixtureSub || e.OrderID != "" {
		t.Errorf("empty notes: %+v %v", e, err)
	}
}

// TestDecode_PaymentNamingASubscription: when Razorpay itself names the
// subscription on a payment entity (a field of the entity, not its
// notes), the event goes to that subscription, as its session — and to no
// order, whatever receipt the order Razorpay made for the invoice has.
func TestDecode_PaymentNamingASubscription(t *testing.T) {
	var ev map[string]any
	_ = json.Unmarshal(subscriptionFixture(t, "charge-payment.captured"), &ev)
	entityOf(ev, "payment")["subscription_id"] = fixtureSub
	body, _ := json.Marshal(ev)
	e, err := razorpayhook.Decode(body)
	if err != nil || e.Kind != order.KindPaid || e.Sub == nil || e.Sub.Ref != fixtureSub || e.Sub.Status != "" ||
		e.SessionRef != fixtureSub || e.OrderID != "" || e.Amount != 90000 || e.Currency != "inr" ||
		!slices.Equal(e.Refs, []string{fixtureSub, "order_NwY8pZr1Rt4mVx", "pay_NwY8q3Hk2GZbQd"}) {
		t.Errorf("payment.captured naming its subscription: %+v %+v %v", e, e.Sub, err)
	}

	ev["event"], ev["contains"] = "order.paid", []string{"payment", "order"}
	ev["payload"].(map[string]any)["order"] = map[string]any{"entity": map[string]any{
		"id": "order_NwY8pZr1Rt4mVx", "entity": "order", "amount": 90000, "amount_paid": 90000, "amount_due": 0,
		"currency": "INR", "receipt": "ord_someoneelsesxxxxxxxxxxxxx", "status": "paid", "attempts": 1,
		"notes": []any{}, "created_at": 1795946400}}
	body, _ = json.Marshal(ev)
	if e, err := razorpayhook.Decode(body); err != nil || e.Sub == nil || e.SessionRef != fixtureSub || e.OrderID != "" {
		t.Errorf("order.paid naming its subscription: %+v %v", e, err)
	}

	// Not a subscription id: ignored, the payment decodes as an order's.
	entityOf(ev, "payment")["subscription_id"] = "sbn_k7q2mx4hd5rtwz3npa6e2bvc4y"
	body, _ = json.Marshal(ev)
	if e, err := razorpayhook.Decode(body); err != nil || e.Sub != nil || e.SessionRef != "order_NwY8pZr1Rt4mVx" {
		t.Errorf("a subscription_id that is not Razorpay's: %+v %v", e, err)
	}
}

// FuzzDecode: whatever a verified body holds, Decode never panics and
// refuses only as invalid_payload; what it sends to a subscription names
// that subscription as its session and no order, and a renewal names its
// payment.
func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.json")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event":"subscription.charged","payload":{"subscription":{"entity":{"id":"sub_1","status":"active","paid_count":1}},"payment":{"entity":{"id":"pay_1","amount":1,"currency":"INR","notes":{"order_id":"ord_x"}}}}}`))
	f.Add([]byte(`{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","order_id":"order_1","subscription_id":"sub_1","notes":{"subscription_id":"sbn_x"}}}}}`))
	f.Add([]byte(`{"event":"subscription.halted","payload":{"subscription":{"entity":{"id":"sub_1","status":"halted","notes":[]}}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := razorpayhook.Decode(body)
		if err != nil {
			if order.ErrorCode(err) != order.CodeInvalidPayload {
				t.Fatalf("error %v is not invalid_payload", err)
			}
			return
		}
		switch e.Kind {
		case order.KindSubscription, order.KindRenewalPaid:
			if e.Sub == nil || !strings.HasPrefix(e.SessionRef, "sub_") || e.Sub.Ref != e.SessionRef || e.OrderID != "" {
				t.Fatalf("subscription event %+v %+v", e, e.Sub)
			}
			if e.Kind == order.KindRenewalPaid && (e.PaymentRef == "" || e.Sub.Renewal != e.PaymentRef) {
				t.Fatalf("renewal %+v %+v", e, e.Sub)
			}
		}
		if e.Sub != nil && (e.SessionRef != e.Sub.Ref || e.OrderID != "") {
			t.Fatalf("sent to subscription %q, session %q, order %q", e.Sub.Ref, e.SessionRef, e.OrderID)
		}
	})
}
