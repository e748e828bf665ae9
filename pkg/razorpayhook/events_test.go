package razorpayhook_test

import (
	"bytes"
	"testing"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// TestEvents_EveryRowDecodesAsItSays: each row of the table, written as
// Razorpay sends it, decodes to the kind the row names, with the references
// provenance needs: for an order event the payment, and the Razorpay order
// it was made on as the session — never an order named by the payment's
// notes; for a subscription event the subscription jampay created as the
// session (its payload is testdata/<type>.json).
func TestEvents_EveryRowDecodesAsItSays(t *testing.T) {
	seen := map[string]bool{}
	for _, et := range razorpayhook.Events {
		if seen[et.Type] {
			t.Errorf("%s is in the table twice", et.Type)
		}
		seen[et.Type] = true
		if et.Kind == "" || et.Kind == order.KindIgnored {
			t.Errorf("%s means %q: a handled type must mean something", et.Type, et.Kind)
		}
		if et.Carries("subscription") {
			e, err := razorpayhook.Decode(subscriptionFixture(t, et.Type))
			if err != nil || e.Kind != et.Kind || e.Type != et.Type || e.SessionRef != fixtureSub || e.Sub == nil ||
				e.Sub.Ref != fixtureSub || e.OrderID != "" || e.Refs[0] != fixtureSub {
				t.Errorf("%s: %+v %v", et.Type, e, err)
			}
			continue
		}
		if !et.Carries("payment") {
			t.Errorf("%s carries %v: every order event carries the payment", et.Type, et.Contains)
		}
		body, _, err := payloads.Razorpay{Type: et.Type, OrderID: "ord_abcdefghijklmnopqrstuvwxyz", Amount: 39800,
			PaymentNotes: map[string]string{"order_id": "ord_someone_elses"}}.Payload()
		if err != nil {
			t.Fatal(err)
		}
		e, err := razorpayhook.Decode(body)
		if err != nil || e.Kind != et.Kind || e.Type != et.Type || e.SessionRef != "order_abcdefghijklmn" ||
			e.PaymentRef != "pay_abcdefghijklmn" || len(e.Refs) != 2 || e.OrderID == "ord_someone_elses" || e.Sub != nil {
			t.Errorf("%s: %+v %v", et.Type, e, err)
		}
	}
}

// TestEvents_OtherTypesAreIgnored: a type outside the table is ignored,
// even when its payload is that of one of the table's types, in full.
func TestEvents_OtherTypesAreIgnored(t *testing.T) {
	for _, et := range razorpayhook.Events {
		var body []byte
		if et.Carries("subscription") {
			body = compact(t, subscriptionFixture(t, et.Type))
		} else {
			body, _, _ = payloads.Razorpay{Type: et.Type, OrderID: "ord_a", Amount: 39800}.Payload()
		}
		for _, other := range []string{et.Type + ".v2", "x." + et.Type, "payment.pending"} {
			if _, handled := razorpayhook.Lookup(other); handled {
				continue
			}
			forged := bytes.Replace(body, []byte(`"event":"`+et.Type+`"`), []byte(`"event":"`+other+`"`), 1)
			if bytes.Equal(forged, body) {
				t.Fatalf("%s: no event field in %s", et.Type, body)
			}
			e, err := razorpayhook.Decode(forged)
			if err != nil || e.Kind != order.KindIgnored || e.Type != other {
				t.Errorf("%s: %+v %v, want ignored", other, e, err)
			}
		}
	}
}
