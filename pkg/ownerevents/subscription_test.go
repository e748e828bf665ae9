package ownerevents

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/mail"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// TestPublish_ASubscriptionEventPassesEventBridgesChecks puts the events
// the mail renderer makes of a subscription's effects through the test
// EventBridge, which checks each request as AWS documents PutEvents.
func TestPublish_ASubscriptionEventPassesEventBridgesChecks(t *testing.T) {
	p, fake := newPublisher(t, testdata(t, "put_events_ok.json"))
	r, err := mail.NewRenderer("Jam & Co.", "https://shop.example.com")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := subscription.Subscription{ID: "sbn_abc123", Gateway: "razorpay", Status: subscription.Active, Version: 4,
		SKU: "club-in", Name: "Jam club", Quantity: 1, UnitAmount: 49900, Amount: 49900, Currency: "inr",
		Interval: "month", IntervalCount: 1, Email: "a@example.com", TokenHash: "secret-hash",
		Evidence: subscription.Evidence{PeriodEnd: at.AddDate(0, 1, 0).Unix(), Mismatched: []string{"pay_2"},
			Renewals: []subscription.Renewal{{Ref: "pay_2", Amount: 59900, Currency: "inr", PeriodStart: at.Unix(), PeriodEnd: at.AddDate(0, 1, 0).Unix(), At: at.Unix()}}}}
	types := []string{"subscription.renewed", "subscription.amount_mismatch", "subscription.active"}
	for _, typ := range types {
		_, ev, err := r.RenderSubscription(s, order.Effect{OrderID: s.ID, Version: 4, Type: typ, OwedAt: at.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(context.Background(), ev); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	if len(fake.bodies) != len(types) {
		t.Fatalf("%d requests, want %d", len(fake.bodies), len(types))
	}
	for i, body := range fake.bodies {
		entry := body["Entries"].([]any)[0].(map[string]any)
		if entry["Source"] != Source || entry["DetailType"] != types[i] || entry["EventBusName"] != "jampay-test" {
			t.Errorf("entry %v", entry)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(entry["Detail"].(string)), &d); err != nil {
			t.Fatalf("Detail is not a JSON string: %v", err)
		}
		if d["subscriptionId"] != "sbn_abc123" || d["id"] != "sbn_abc123:4:"+types[i] {
			t.Errorf("detail %v", d)
		}
		rn, hasRenewal := d["renewal"].(map[string]any)
		if wantRenewal := types[i] != "subscription.active"; hasRenewal != wantRenewal || (hasRenewal && (rn["ref"] != "pay_2" || rn["amount"] != 59900.0)) {
			t.Errorf("%s: renewal %v", types[i], d["renewal"])
		}
		if _, ok := d["tokenHash"]; ok {
			t.Errorf("the detail carries the token's hash: %v", d)
		}
	}
}
