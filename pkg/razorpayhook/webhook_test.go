package razorpayhook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

const secret = "rzp_webhook_secret"

func TestParseWebhook_Signatures(t *testing.T) {
	v := &razorpayhook.Verifier{Secrets: []string{secret, "rzp_next_secret"}}
	body, id, _ := payloads.Razorpay{Type: "payment.captured", OrderID: "ord_x", Amount: 39800}.Payload()
	ok := func(sig string) http.Header {
		return http.Header{"X-Razorpay-Signature": {sig}, "X-Razorpay-Event-Id": {id}}
	}
	if e, err := v.ParseWebhook(context.Background(), ok(razorpayhook.Sign(body, secret)), body); err != nil || e.ID != id || e.Kind != order.KindPaid {
		t.Fatalf("valid: %+v %v", e, err)
	}
	if _, err := v.ParseWebhook(context.Background(), ok(razorpayhook.Sign(body, "rzp_next_secret")), body); err != nil {
		t.Fatalf("second secret: %v", err)
	}
	altered := []byte(strings.Replace(string(body), "39800", "39801", 1))
	for name, tc := range map[string]struct {
		h http.Header
		b []byte
	}{
		"wrong secret": {ok(razorpayhook.Sign(body, "other")), body},
		"missing":      {http.Header{}, body},
		"not hex":      {ok("zz" + razorpayhook.Sign(body, secret)[2:]), body},
		"altered":      {ok(razorpayhook.Sign(body, secret)), altered},
		"truncated":    {ok(razorpayhook.Sign(body, secret)[:32]), body},
	} {
		if _, err := v.ParseWebhook(context.Background(), tc.h, tc.b); order.ErrorCode(err) != order.CodeInvalidSignature {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecode_EveryHandledType(t *testing.T) {
	want := map[string]order.Kind{
		"payment.authorized": order.KindProcessing, "payment.captured": order.KindPaid, "order.paid": order.KindPaid,
		"payment.failed": order.KindDeclined, "refund.processed": order.KindRefunded, "payment.dispute.created": order.KindDisputeOpened,
		"payment.dispute.won": order.KindDisputeWon, "payment.dispute.lost": order.KindDisputeLost,
		"subscription.authenticated": order.KindSubscription, "subscription.activated": order.KindSubscription,
		"subscription.charged": order.KindRenewalPaid, "subscription.pending": order.KindSubscription,
		"subscription.halted": order.KindSubscription, "subscription.cancelled": order.KindSubscription,
		"subscription.completed": order.KindSubscription, "subscription.paused": order.KindSubscription,
		"subscription.resumed": order.KindSubscription, "subscription.updated": order.KindSubscription,
	}
	// The cases are the table's: a row nobody wrote the meaning of, or a
	// meaning for a type the table has not got, fails here.
	for _, et := range razorpayhook.Events {
		if _, ok := want[et.Type]; !ok {
			t.Errorf("%s is in razorpayhook.Events but has no case here", et.Type)
		}
	}
	for typ := range want {
		if _, ok := razorpayhook.Lookup(typ); !ok {
			t.Errorf("%s has a case here but is not in razorpayhook.Events", typ)
		}
	}
	for _, et := range razorpayhook.Events {
		typ := et.Type
		if et.Carries("subscription") {
			// Every field of these is TestDecodeSubscription_EveryField's.
			if e, err := razorpayhook.Decode(subscriptionFixture(t, typ)); err != nil || e.Kind != want[typ] {
				t.Errorf("%s: %+v %v", typ, e, err)
			}
			continue
		}
		body, _, _ := payloads.Razorpay{Type: typ, OrderID: "ord_abcdefghijklmnopqrstuvwxyz", Amount: 39800, Refunded: 10000}.Payload()
		e, err := razorpayhook.Decode(body)
		// Only order.paid names our order, by the receipt jampay set; a
		// payment is ours through its Razorpay order alone.
		wantOrder := ""
		if typ == "order.paid" {
			wantOrder = "ord_abcdefghijklmnopqrstuvwxyz"
		}
		if err != nil || e.Kind != want[typ] || e.OrderID != wantOrder || e.Refs[0] != "order_abcdefghijklmn" || e.SessionRef != "order_abcdefghijklmn" {
			t.Errorf("%s: %+v %v", typ, e, err)
		}
		switch typ {
		case "payment.captured", "order.paid", "payment.authorized":
			if e.Amount != 39800 || e.Currency != "inr" {
				t.Errorf("%s: amount %d %s", typ, e.Amount, e.Currency)
			}
		case "refund.processed":
			if e.Refunded != 10000 || e.Amount != 39800 {
				t.Errorf("refund: %+v", e)
			}
		case "payment.failed":
			if e.Reason == "" {
				t.Errorf("failed without a reason")
			}
		}
	}
	// notes as Razorpay sends them when empty: [].
	e, err := razorpayhook.Decode([]byte(`{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","amount":100,"currency":"INR","order_id":"order_1","notes":[]}}}}`))
	if err != nil || e.OrderID != "" || e.Refs[0] != "order_1" {
		t.Fatalf("empty notes: %+v %v", e, err)
	}
	if e, err := razorpayhook.Decode([]byte(`{"event":"virtual_account.created","payload":{}}`)); err != nil || e.Kind != order.KindIgnored {
		t.Fatalf("unknown: %+v %v", e, err)
	}
	if _, err := razorpayhook.Decode([]byte(`{"event":"payment.captured","payload":{}}`)); order.ErrorCode(err) != order.CodeInvalidPayload {
		t.Fatalf("no payment: %v", err)
	}
}
