package payloads_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/jampay/jampay/internal/payloads"
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
