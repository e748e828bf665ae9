package notify_test

import (
	"context"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
)

// countedShop is a table whose client counts its DynamoDB requests, and
// the handler on it. sending chooses in-process senders that accept
// everything; otherwise the senders are the notify function's with
// MAIL_FROM and EVENT_BUS_NAME unset, so effects are marked skipped.
type countedShop struct {
	counter *ddblocal.Counter
	svc     *shop.Service
	h       *notify.Handler
}

func newCountedShop(tb testing.TB, sending bool) countedShop {
	tb.Helper()
	counter := &ddblocal.Counter{}
	client := local.Client(tb, counter.Option())
	store := dynamostore.New(client, local.NewTable(tb, client), func() time.Time { return now })
	base := shop.Service{Store: store, Now: func() time.Time { return now }}
	if sending {
		out := &sink{}
		base.Renderer, base.Mailer, base.MailEnabled, base.Publisher = plainRenderer{}, out, true, out
	} else if err := senders.Set(context.Background(), &base, config.Config{}, "Coldstart Shop"); err != nil {
		tb.Fatal(err)
	}
	svc := shop.New(base)
	return countedShop{counter, svc, &notify.Handler{Dispatcher: svc, Now: func() time.Time { return now }, Log: quiet}}
}

// pay makes a paid order owing its receipt (and, refunded, a refund
// after it), through ApplyEvent as a webhook does.
func (c countedShop) pay(tb testing.TB, refunded bool) string {
	tb.Helper()
	ctx := context.Background()
	id := order.NewID()
	o := &order.Order{ID: id, Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		Email: "ada@example.com", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
		Deadline: now.Add(time.Hour), SessionRef: "cs_" + id}
	if err := c.svc.Store.CreateOrder(ctx, o); err != nil {
		tb.Fatal(err)
	}
	evs := []order.Event{{Gateway: "stripe", ID: "evt_paid_" + id, Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: id, Refs: []string{o.SessionRef}, SessionRef: o.SessionRef, PaymentRef: "pi_" + id, Amount: 4000, Currency: "usd"}}
	if refunded {
		evs = append(evs, order.Event{Gateway: "stripe", ID: "evt_refund_" + id, Type: "charge.refunded", Kind: order.KindRefunded,
			OrderID: id, PaymentRef: "pi_" + id, Amount: 4000, Currency: "usd", Refunded: 1000})
	}
	for _, e := range evs {
		if _, _, err := c.svc.ApplyEvent(ctx, e); err != nil {
			tb.Fatal(e.ID, err)
		}
	}
	return id
}

// owingRecord is the stream record of a write that owed order id's
// effects: the handler reads only its key and outboxes (the dispatch
// reads the order from the table), so the images hold just those.
func owingRecord(id string, seq string) events.DynamoDBEventRecord {
	key := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("order#" + id)}
	owed := events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
		"v": events.NewNumberAttribute("1"), "t": events.NewStringAttribute("order.paid"),
		"s": events.NewStringAttribute("owed"), "n": events.NewNumberAttribute("0"),
	})
	newImage := maps.Clone(key)
	newImage["outbox"] = events.NewListAttribute([]events.DynamoDBAttributeValue{owed})
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		Keys: key, OldImage: key, NewImage: newImage, SequenceNumber: seq, StreamViewType: "NEW_AND_OLD_IMAGES",
	}}
}

// TestDynamoDBRequestsPerEffect pins what notify costs in DynamoDB
// requests, counted on DynamoDB Local: per effect, the claim and the mark
// (two conditional PutItems) and the read before each; per dispatch, the
// read that finds nothing more to send. Whether the effect was sent or
// skipped changes nothing. A change here is a change of cost: update
// docs/PERFORMANCE.md with it.
func TestDynamoDBRequestsPerEffect(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		sending  bool
		refunded bool
		again    bool // the record handed over a second time
		effects  int
		want     map[string]int
	}{
		{"one effect sent", true, false, false, 1, map[string]int{"GetItem": 3, "PutItem": 2}},
		{"one effect skipped (no MAIL_FROM, no EVENT_BUS_NAME)", false, false, false, 1, map[string]int{"GetItem": 3, "PutItem": 2}},
		{"two effects in one dispatch", true, true, false, 2, map[string]int{"GetItem": 5, "PutItem": 4}},
		{"a redelivered record: nothing left to send", true, false, true, 0, map[string]int{"GetItem": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCountedShop(t, tc.sending)
			rec := owingRecord(c.pay(t, tc.refunded), "100")
			if tc.again {
				if _, err := c.h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil {
					t.Fatal(err)
				}
			}
			c.counter.Take()
			resp, err := c.h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("handle: %v, failures %v", err, resp.BatchItemFailures)
			}
			got := c.counter.Take()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DynamoDB requests %v, want %v", got, tc.want)
			}
			if tc.effects > 0 && got["PutItem"] > 2*tc.effects {
				t.Errorf("%d writes for %d effects: over the target of 2 per effect", got["PutItem"], tc.effects)
			}
		})
	}
}

// BenchmarkHandle times the handler on one record owing one effect (a
// paid order's receipt), on DynamoDB Local, with in-process senders
// ("sent") and with none, as the function runs without MAIL_FROM and
// EVENT_BUS_NAME ("skipped"). ns/op is per record; the requests per
// effect are reported beside it.
func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		sending bool
	}{{"sent", true}, {"skipped", false}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newCountedShop(b, bc.sending)
			recs := make([]events.DynamoDBEventRecord, b.N)
			for i := range recs {
				recs[i] = owingRecord(c.pay(b, false), "100")
			}
			c.counter.Take()
			b.ResetTimer()
			for i := range b.N {
				resp, err := c.h.Handle(ctx, events.DynamoDBEvent{Records: recs[i : i+1]})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("handle: %v, failures %v", err, resp.BatchItemFailures)
				}
			}
			b.StopTimer()
			got := c.counter.Take()
			n := float64(b.N)
			b.ReportMetric(float64(got["PutItem"])/n, "writes/effect")
			b.ReportMetric(float64(got["GetItem"])/n, "reads/effect")
			total := 0
			for _, v := range got {
				total += v
			}
			b.ReportMetric(float64(total)/n, "requests/effect")
		})
	}
}
