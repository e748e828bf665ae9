package razorpayinquiry

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// TestReadingOf_EveryStateOfEveryEntity: the one table of what Razorpay's
// states mean — the webhook each amounts to, the state its reconcile id
// names, and whether it is still watched.
func TestReadingOf_EveryStateOfEveryEntity(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	young, old := now.Add(-time.Hour).Unix(), now.Add(-lateAuthWindow-time.Hour).Unix()
	cases := []struct {
		entity, status string
		captured       bool
		created        int64
		want           reading
	}{
		{"payment", "created", false, young, reading{"", "created", false}},
		{"payment", "authorized", false, young, reading{"payment.authorized", "authorized", false}},
		{"payment", "captured", true, young, reading{"payment.captured", "captured", true}},
		{"payment", "refunded", true, young, reading{"payment.captured", "captured", true}},
		{"payment", "refunded", false, young, reading{"payment.failed", "released", true}},
		// A failed payment may still be authorised late by the bank for
		// Razorpay's 5 days; after, it is final.
		{"payment", "failed", false, young, reading{"payment.failed", "failed", false}},
		{"payment", "failed", false, old, reading{"payment.failed", "failed", true}},
		{"refund", "pending", false, young, reading{"", "pending", false}},
		{"refund", "processed", false, young, reading{"refund.processed", "processed", true}},
		{"refund", "failed", false, young, reading{"", "failed", true}},
		{"dispute", "open", false, young, reading{"payment.dispute.created", "open", false}},
		{"dispute", "under_review", false, young, reading{"payment.dispute.created", "open", false}},
		{"dispute", "won", false, young, reading{"payment.dispute.won", "won", true}},
		{"dispute", "lost", false, young, reading{"payment.dispute.lost", "lost", true}},
		{"dispute", "closed", false, young, reading{"payment.dispute.closed", "closed", true}},
		{"payment", "something_new", false, young, reading{"", "something_new", true}},
	}
	for _, tc := range cases {
		got := readingOf(entity{Entity: tc.entity, Status: tc.status, Captured: tc.captured, CreatedAt: tc.created}, now)
		if got != tc.want {
			t.Errorf("%s %s (captured %v): %+v, want %+v", tc.entity, tc.status, tc.captured, got, tc.want)
		}
	}
}

// TestEventOf_IsWhatTheWebhookDecodesTo: for each webhook jampay handles
// that reconcile can hear of, the entity in Razorpay's own payload (its
// state as Razorpay shows it for that event) reads as that event type, and
// eventOf decodes it — through razorpayhook.Decode, no second decoder — to
// what the webhook decodes to, under its reconcile id.
func TestEventOf_IsWhatTheWebhookDecodesTo(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, et := range razorpayhook.Events {
		if et.Carries("order") {
			continue // order.paid: reconcile reports the captured payment instead
		}
		if et.Carries("subscription") {
			// subscription.*: reconcile does not ask Razorpay about
			// subscriptions yet, so no entity state maps to these types.
			continue
		}
		t.Run(et.Type, func(t *testing.T) {
			body, _, err := payloads.Razorpay{Type: et.Type, OrderID: order.NewID(), Amount: 39800, Refunded: 39800, Created: now}.Payload()
			if err != nil {
				t.Fatal(err)
			}
			var w struct {
				Payload map[string]struct{ Entity json.RawMessage }
			}
			if err := json.Unmarshal(body, &w); err != nil {
				t.Fatal(err)
			}
			subject := "payment"
			for _, k := range []string{"refund", "dispute"} {
				if et.Carries(k) {
					subject = k
				}
			}
			e, err := parseEntity(w.Payload[subject].Entity)
			if err != nil {
				t.Fatal(err)
			}
			r := readingOf(e, now)
			if r.typ != et.Type {
				t.Fatalf("a %s %s reads as %q, want %s", e.Entity, e.Status, r.typ, et.Type)
			}
			got, err := eventOf(e, r, w.Payload["payment"].Entity, now.Unix())
			if err != nil || got == nil {
				t.Fatalf("%+v %v", got, err)
			}
			want, err := razorpayhook.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			want.ID, want.Gateway, want.Source = "recon_"+e.ID+"_"+r.state, "razorpay", order.SourceReconcile
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestEventOf_AReleasedAuthorisationSaysWhy: an authorisation nobody
// captured, refunded by Razorpay, is a failure for good that says why (a
// decline would leave the order processing for ever).
func TestEventOf_AReleasedAuthorisationSaysWhy(t *testing.T) {
	e, _ := parseEntity(json.RawMessage(`{"id":"pay_R","entity":"payment","amount":39800,"currency":"INR","status":"refunded",` +
		`"order_id":"order_R","captured":false,"amount_refunded":39800,"created_at":1700000000}`))
	got, err := eventOf(e, readingOf(e, time.Unix(1700000000, 0)), nil, 1700000000)
	if err != nil || got.Kind != order.KindFailed || got.Reason != releasedReason || got.ID != "recon_pay_R_released" ||
		got.SessionRef != "order_R" || got.Currency != "" {
		t.Fatalf("%+v %v", got, err)
	}
}

// TestEvictFailed_AFloodOfDeclinesDoesNotFillTheWatch: with the watch
// full, the oldest failed payment makes room; authorisations, refunds and
// disputes are never dropped.
func TestEvictFailed_AFloodOfDeclinesDoesNotFillTheWatch(t *testing.T) {
	s := &sweep{}
	for i := range maxWatch {
		state := "failed"
		if i%2 == 0 {
			state = "authorized"
		}
		s.c.Watch = append(s.c.Watch, watched{ID: fmt.Sprint("pay_", i), State: state, Created: int64(1000 + i)})
	}
	s.evictFailed()
	if len(s.c.Watch) != maxWatch-1 || slices.ContainsFunc(s.c.Watch, func(w watched) bool { return w.ID == "pay_1" }) {
		t.Fatalf("the oldest failed payment (pay_1) was not the one dropped: %d left", len(s.c.Watch))
	}
	only := &sweep{c: sweepCursor{Watch: []watched{{ID: "pay_A", State: "authorized"}, {ID: "rfnd_B", State: "pending"}}}}
	only.evictFailed()
	if len(only.c.Watch) != 2 {
		t.Fatal("an authorisation or a pending refund was dropped")
	}
}
