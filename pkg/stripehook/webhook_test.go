package stripehook_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/stripeverify"
)

const secret, secret2 = "whsec_test_current", "whsec_test_next"

func signed(t *testing.T, payload []byte, secret string, at time.Time) http.Header {
	t.Helper()
	return http.Header{"Stripe-Signature": {payloads.StripeSignature(payload, secret, at)}}
}

func payload(t *testing.T, e payloads.Stripe) []byte {
	t.Helper()
	b, err := e.Payload()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhook_Signatures(t *testing.T) {
	v := &stripeverify.Verifier{Secrets: []string{secret, secret2}}
	body := payload(t, payloads.Stripe{Type: "checkout.session.completed", OrderID: "ord_x", Amount: 4000})
	now := time.Now()
	altered := append([]byte(nil), body...)
	altered[len(altered)-3] = 'X'
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		ok     bool
	}{
		{"current secret", signed(t, body, secret, now), body, true},
		{"next secret during rotation", signed(t, body, secret2, now), body, true},
		{"wrong secret", signed(t, body, "whsec_attacker", now), body, false},
		{"stale by an hour", signed(t, body, secret, now.Add(-time.Hour)), body, false},
		{"missing header", http.Header{}, body, false},
		{"garbage header", http.Header{"Stripe-Signature": {"t=abc,v1=zz"}}, body, false},
		{"altered body", signed(t, body, secret, now), altered, false},
		{"forged v0 only", http.Header{"Stripe-Signature": {"t=1,v0=deadbeef"}}, body, false},
	}
	for _, tc := range cases {
		e, err := v.ParseWebhook(context.Background(), tc.header, tc.body)
		if tc.ok && (err != nil || e.ID == "") {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && order.ErrorCode(err) != order.CodeInvalidSignature {
			t.Errorf("%s: %v, want invalid_signature", tc.name, err)
		}
	}
}

func TestParseWebhook_SignedButNotJSONIsInvalidPayload(t *testing.T) {
	v := &stripeverify.Verifier{Secrets: []string{secret}}
	for _, body := range []string{"not json", `{"id":"evt_1"}`, `{"id":"evt_1","type":"charge.refunded","data":{"object":"x"}}`} {
		_, err := v.ParseWebhook(context.Background(), signed(t, []byte(body), secret, time.Now()), []byte(body))
		if order.ErrorCode(err) != order.CodeInvalidPayload {
			t.Errorf("%q: %v, want invalid_payload", body, err)
		}
	}
}

func TestDecode_EveryHandledType(t *testing.T) {
	cases := []struct {
		e    payloads.Stripe
		want order.Event
	}{
		{payloads.Stripe{Type: "checkout.session.completed", OrderID: "ord_a", Amount: 4000},
			order.Event{Kind: order.KindPaid, OrderID: "ord_a", Amount: 4000, Currency: "usd", SessionRef: "cs_test_a", PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "checkout.session.completed", OrderID: "ord_a", Amount: 4000, PaymentStatus: "unpaid"},
			order.Event{Kind: order.KindProcessing, OrderID: "ord_a", Amount: 4000, Currency: "usd", SessionRef: "cs_test_a", PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "checkout.session.async_payment_succeeded", OrderID: "ord_a", Amount: 4000},
			order.Event{Kind: order.KindPaid, OrderID: "ord_a", Amount: 4000, Currency: "usd", SessionRef: "cs_test_a", PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "checkout.session.async_payment_failed", OrderID: "ord_a", Amount: 4000},
			order.Event{Kind: order.KindFailed, OrderID: "ord_a", Amount: 4000, SessionRef: "cs_test_a", PaymentRef: "pi_a", Reason: "The payment did not go through."}},
		{payloads.Stripe{Type: "checkout.session.expired", OrderID: "ord_a", Amount: 4000},
			order.Event{Kind: order.KindExpired, OrderID: "ord_a", Amount: 4000, SessionRef: "cs_test_a"}},
		{payloads.Stripe{Type: "payment_intent.payment_failed", OrderID: "ord_a", Amount: 4000, Reason: "Your card has insufficient funds."},
			order.Event{Kind: order.KindDeclined, OrderID: "ord_a", PaymentRef: "pi_a", Reason: "Your card has insufficient funds."}},
		{payloads.Stripe{Type: "charge.refunded", OrderID: "ord_a", Amount: 4000, Refunded: 1000},
			order.Event{Kind: order.KindRefunded, OrderID: "ord_a", Amount: 4000, Currency: "usd", Refunded: 1000, PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "charge.dispute.created", OrderID: "ord_a", Amount: 4000},
			order.Event{Kind: order.KindDisputeOpened, Dispute: "dp_a", PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "charge.dispute.closed", OrderID: "ord_a", Amount: 4000, DisputeStatus: "lost"},
			order.Event{Kind: order.KindDisputeLost, Dispute: "dp_a", PaymentRef: "pi_a"}},
		{payloads.Stripe{Type: "charge.dispute.closed", OrderID: "ord_a", Amount: 4000, DisputeStatus: "won"},
			order.Event{Kind: order.KindDisputeWon, Dispute: "dp_a", PaymentRef: "pi_a"}},
	}
	// The cases are the table's: a row nobody wrote the decoding of, or a
	// case for a type the table has not got, fails here.
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.e.Type] = true
	}
	for _, tc := range subscriptionCases { // subscription_test.go
		covered[tc.want.Type] = true
	}
	for _, et := range stripehook.Events {
		if !covered[et.Type] {
			t.Errorf("%s is in stripehook.Events but has no case here", et.Type)
		}
		delete(covered, et.Type)
	}
	for typ := range covered {
		t.Errorf("%s has a case here but is not in stripehook.Events", typ)
	}
	for _, tc := range cases {
		if tc.want.Sub != nil {
			t.Fatalf("%s: an order's case", tc.e.Type)
		}
		got, err := stripehook.Decode(payload(t, tc.e))
		if err != nil {
			t.Fatalf("%s: %v", tc.e.Type, err)
		}
		if got.Kind != tc.want.Kind || got.OrderID != tc.want.OrderID || got.Amount != tc.want.Amount ||
			got.Currency != tc.want.Currency || got.SessionRef != tc.want.SessionRef || got.PaymentRef != tc.want.PaymentRef ||
			got.Refunded != tc.want.Refunded || got.Reason != tc.want.Reason || got.Dispute != tc.want.Dispute || got.Type != tc.e.Type ||
			got.Sub != nil {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.e.Type, got, tc.want)
		}
	}
	got, err := stripehook.Decode([]byte(`{"id":"evt_1","type":"customer.created","data":{"object":{"id":"cus_1"}}}`))
	if err != nil || got.Kind != order.KindIgnored {
		t.Errorf("unknown type: %+v %v, want ignored", got, err)
	}
	if !errors.Is(err, nil) {
		t.Fatal(err)
	}
}

// The envelope and the object are decoded in one pass, so an object of a
// type jampay does not handle is decoded too: fields that share a name with
// ours but not its type must not turn an event Stripe will keep retrying
// into a 400. In a handled type they are a bad payload.
func TestDecode_ForeignFieldTypes(t *testing.T) {
	// Stripe sends "type" after "data".
	foreign := `{"id":"evt_2","created":1,"data":{"object":{"id":"mtr_1","status":{"state":"active"},"amount":"12.5","metadata":{"n":1},"payment_intent":7,"charge":[1],"last_payment_error":"none"}},"type":"billing.meter.created"}`
	got, err := stripehook.Decode([]byte(foreign))
	if err != nil || got.Kind != order.KindIgnored || got.ID != "evt_2" {
		t.Errorf("unhandled type with foreign field types: %+v %v, want ignored", got, err)
	}
	handled := `{"id":"evt_3","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","client_reference_id":"ord_a","amount_total":"4000","currency":"usd","payment_status":"paid"}}}`
	if _, err := stripehook.Decode([]byte(handled)); order.ErrorCode(err) != order.CodeInvalidPayload {
		t.Errorf("handled type with a quoted amount: %v, want invalid_payload", err)
	}
}
