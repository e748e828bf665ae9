package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// startedSub stores a trial subscription with the customer's address and
// completes its checkout, then cancels it, through Apply as a webhook
// does: two changes, each owing its mail.
func startedSub(t *testing.T, svc *shop.Service, name string) *subscription.Subscription {
	t.Helper()
	ctx := context.Background()
	s := &subscription.Subscription{ID: subscription.NewID(), Gateway: "stripe", Status: subscription.Pending,
		SKU: "club", Name: "Jam club", Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd", Interval: "month",
		IntervalCount: 1, TrialDays: 7, Email: name + "@example.com", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
		Deadline: now.Add(time.Hour), SessionRef: "cs_" + name}
	if err := svc.Subs.CreateSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	ref := "sub_" + name
	for _, e := range []order.Event{
		{ID: "evt_done_" + name, Type: "checkout.session.completed", Kind: order.KindPaid, SessionRef: s.SessionRef,
			Refs: []string{s.SessionRef, ref}, Sub: &order.SubFacts{Ref: ref}},
		{ID: "evt_deleted_" + name, Type: "customer.subscription.deleted", Kind: order.KindSubscription,
			Refs: []string{ref}, Sub: &order.SubFacts{Ref: ref, Status: "canceled"}},
	} {
		e.Gateway, e.OrderID, e.Created = "stripe", s.ID, now
		if a, err := svc.Apply(ctx, e); err != nil || a.Outcome != shop.Moved {
			t.Fatalf("%s: %+v %v", e.ID, a, err)
		}
	}
	return s
}

func TestHandle_RealStreamRecordsOfASubscriptionSendEachMailOnce(t *testing.T) {
	tbl := newStreamTable(t)
	out := &sink{}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now },
		Renderer: plainRenderer{}, Mailer: out, MailEnabled: true, Publisher: out})
	h := &notify.Handler{Dispatcher: svc, Now: func() time.Time { return now }, Log: quiet}
	s := startedSub(t, svc, "cleo")
	ctx := context.Background()

	batch := events.DynamoDBEvent{Records: tbl.records(t)}
	owing := 0
	for _, r := range batch.Records {
		if id, ok := notify.OwesNew(r, now); ok {
			if id != s.ID {
				t.Errorf("a record owes to %q, not the subscription", id)
			}
			owing++
		}
	}
	if owing != 2 {
		t.Fatalf("%d records owe something new, want the two changes", owing)
	}
	resp, err := h.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle: %v, failures %v", err, resp.BatchItemFailures)
	}
	want := []string{fmt.Sprintf("%s %s v1", subscription.MailStarted, s.ID), fmt.Sprintf("%s %s v2", subscription.MailCanceled, s.ID)}
	if !slices.Equal(out.mails, want) {
		t.Fatalf("mails %q, want %q (each once, in version order)", out.mails, want)
	}
	if len(out.events) != 2 {
		t.Errorf("owner events %q, want trialing and canceled", out.events)
	}
	// Redelivered, and with the dispatch's own writes: nothing more.
	again := events.DynamoDBEvent{Records: tbl.records(t)}
	if len(again.Records) <= len(batch.Records) {
		t.Fatal("the dispatch's own writes are not on the stream: the test proves less than it says")
	}
	for _, r := range again.Records[len(batch.Records):] {
		if _, ok := notify.OwesNew(r, now); ok {
			t.Errorf("a dispatch's own write of %s owes something new", r.Change.Keys["pk"].String())
		}
	}
	for _, b := range []events.DynamoDBEvent{batch, again} {
		if _, err := h.Handle(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.mails) != 2 || len(out.events) != 2 {
		t.Errorf("after redelivery: mails %q, events %q; want nothing more sent", out.mails, out.events)
	}
	got, err := tbl.store.GetSubscription(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range got.Outbox {
		if w.State != order.EffectSent {
			t.Errorf("v%d %s is %s, want sent", w.Version, w.Type, w.State)
		}
	}
}

// TestTemplateFilter_PassesSubscriptionRecords: the template's stream
// filter lets through the writes of subscriptions, as of orders, so no
// subscription effect is filtered away (nor is a plan item passed).
func TestTemplateFilter_PassesSubscriptionRecords(t *testing.T) {
	patterns := templatePatterns(t)
	tbl := newStreamTable(t)
	out := &sink{}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now },
		Renderer: plainRenderer{}, Mailer: out, MailEnabled: true, Publisher: out})
	startedSub(t, svc, "dan")
	if _, err := tbl.store.PutPlan(context.Background(), "razorpay", "club", "plan_1"); err != nil {
		t.Fatal(err)
	}
	raw, recs := tbl.recordsJSON(t), tbl.records(t)
	seen := 0
	for i, r := range raw {
		var ev map[string]any
		b, _ := json.Marshal(r)
		_ = json.Unmarshal(b, &ev)
		passes := false
		for _, p := range patterns {
			passes = passes || matches(t, p, ev)
		}
		pk := recs[i].Change.Keys["pk"].String()
		want := strings.HasPrefix(pk, "subscription#")
		if want {
			seen++
		}
		if passes != want {
			t.Errorf("%s record of %s: passes %v, want %v (template.yaml's NotifyFunction filter must name the prefix \"subscription#\" beside \"order#\")",
				recs[i].EventName, pk, passes, want)
		}
	}
	if seen < 3 {
		t.Errorf("%d subscription records on the stream: the test proves less than it says", seen)
	}
}
