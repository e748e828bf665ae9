package stripehook_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
)

// TestEvents_EveryRowDecodesAsItSays: each row of the table, written as
// Stripe sends it, decodes to the kind the row names — and to each kind its
// Unless names, when the object's field says so — with the references
// provenance needs: a session event names its session, an order's other
// events the PaymentIntent, a subscription's events the subscription.
func TestEvents_EveryRowDecodesAsItSays(t *testing.T) {
	// How a test payload sets each field a row may read.
	setField := map[string]func(*payloads.Stripe, string){
		"payment_status": func(p *payloads.Stripe, v string) { p.PaymentStatus = v },
		"status":         func(p *payloads.Stripe, v string) { p.DisputeStatus = v },
	}
	seen := map[string]bool{}
	for _, et := range stripehook.Events {
		if seen[et.Type] {
			t.Errorf("%s is in the table twice", et.Type)
		}
		seen[et.Type] = true
		if et.Kind == "" || et.Kind == order.KindIgnored {
			t.Errorf("%s means %q: a handled type must mean something", et.Type, et.Kind)
		}
		switch et.Object {
		case "subscription", "invoice":
			// Held to its fixture in testdata (see subscription_test.go).
			e, err := stripehook.Decode(sample(t, et))
			if err != nil || e.Kind != et.Kind || e.Type != et.Type || e.Sub == nil || e.Sub.Ref == "" ||
				len(e.Refs) != 1 || e.Refs[0] != e.Sub.Ref || e.SessionRef != "" || et.Object == "subscription" && e.PaymentRef != "" {
				// An invoice also names its PaymentIntent, as the payment
				// (indexed with the renewal), never as a way to find it.
				t.Errorf("%s: %+v %v, want kind %s naming the subscription alone", et.Type, e, err, et.Kind)
			}
			if len(et.Unless) > 0 {
				t.Errorf("%s depends on %q, which this test cannot set", et.Type, et.Field)
			}
			continue
		}
		want := map[string]order.Kind{"": et.Kind}
		if len(et.Unless) > 0 {
			if setField[et.Field] == nil {
				t.Errorf("%s depends on %q, which this test cannot set", et.Type, et.Field)
				continue
			}
			for v, k := range et.Unless {
				want[v] = k
			}
		}
		for value, kind := range want {
			p := payloads.Stripe{Type: et.Type, OrderID: "ord_a", Amount: 4000}
			if value != "" {
				setField[et.Field](&p, value)
			}
			e, err := stripehook.Decode(payload(t, p))
			name := fmt.Sprintf("%s (%s %q)", et.Type, et.Field, value)
			if err != nil || e.Kind != kind || e.Type != et.Type || e.Sub != nil {
				t.Errorf("%s: %+v %v, want kind %s", name, e, err, kind)
				continue
			}
			if et.Object == "checkout.session" {
				if e.SessionRef != "cs_test_a" || len(e.Refs) != 1 || e.Refs[0] != "cs_test_a" {
					t.Errorf("%s: a session event must name its session: %+v", name, e)
				}
			} else if e.SessionRef != "" || e.PaymentRef != "pi_a" || len(e.Refs) != 1 || e.Refs[0] != "pi_a" {
				t.Errorf("%s: must name the PaymentIntent and no session: %+v", name, e)
			}
		}
	}
}

// TestEvents_OtherTypesAreIgnored: a type outside the table is ignored,
// even when it carries an object the table's types carry, in full.
func TestEvents_OtherTypesAreIgnored(t *testing.T) {
	for _, et := range stripehook.Events {
		body := sample(t, et)
		for _, other := range []string{et.Object + ".updated", et.Type + ".v2", "x." + et.Type} {
			if _, handled := stripehook.Lookup(other); handled {
				continue
			}
			// Compact (payloads) or pretty-printed (the fixtures).
			forged := bytes.Replace(body, []byte(`"type":"`+et.Type+`"`), []byte(`"type":"`+other+`"`), 1)
			forged = bytes.Replace(forged, []byte(`"type": "`+et.Type+`"`), []byte(`"type": "`+other+`"`), 1)
			if bytes.Equal(forged, body) {
				t.Fatalf("%s: no type field in %s", et.Type, body)
			}
			e, err := stripehook.Decode(forged)
			if err != nil || e.Kind != order.KindIgnored || e.Type != other || e.Sub != nil || e.OrderID != "" {
				t.Errorf("%s: %+v %v, want ignored", other, e, err)
			}
		}
	}
}
