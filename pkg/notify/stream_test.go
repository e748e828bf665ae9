package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/mailcount"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var local *ddblocal.Server

func TestMain(m *testing.M) {
	var err error
	if local, err = ddblocal.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := mailcount.Run(m) // fails the package if any change was mailed twice
	local.Stop()
	os.Exit(code)
}

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.DiscardHandler)

// plainRenderer stands in for the mail templates: each mail's subject
// names the order, version and kind, so sends can be counted.
type plainRenderer struct{}

func (plainRenderer) Render(o order.Order, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	ev := shop.OwnerEvent{DetailType: e.Type, Detail: fmt.Appendf(nil, `{"id":"%s/%d/%s"}`, e.OrderID, e.Version, e.Type)}
	if e.Mail == "" {
		return nil, ev, nil
	}
	return &shop.Mail{To: o.Email, Subject: fmt.Sprintf("%s %s v%d", e.Mail, e.OrderID, e.Version),
		Tags: map[string]string{"order": e.OrderID, "version": strconv.FormatInt(e.Version, 10), "effect": e.Type}}, ev, nil
}

// RenderSubscription renders a subscription's effect as Render does an
// order's.
func (r plainRenderer) RenderSubscription(s subscription.Subscription, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	return r.Render(order.Order{ID: s.ID, Email: s.Email}, e)
}

// sink records what was sent; failMail makes every mail fail.
type sink struct {
	mu       sync.Mutex
	mails    []string
	events   []string
	failMail bool
}

func (s *sink) Send(_ context.Context, m shop.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failMail {
		return errors.New("ses: throttled")
	}
	s.mails = append(s.mails, m.Subject)
	version, _ := strconv.ParseInt(m.Tags["version"], 10, 64)
	mailcount.Sent(mailcount.Key{OrderID: m.Tags["order"], Version: version, Effect: m.Tags["effect"]})
	return nil
}

func (s *sink) Publish(_ context.Context, e shop.OwnerEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, string(e.Detail))
	return nil
}

// streamTable is a fresh table with its stream, the store on it, and a
// client for its stream.
type streamTable struct {
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	name    string
	store   *dynamostore.Store
}

func newStreamTable(t *testing.T) streamTable {
	t.Helper()
	client := local.Client(t)
	name := local.NewTable(t, client, dynamostore.WithStream())
	streams := dynamodbstreams.New(dynamodbstreams.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(local.Endpoint),
	})
	return streamTable{client, streams, name, dynamostore.New(client, name, func() time.Time { return now })}
}

// records reads every record of the table's stream from its start, as
// Lambda hands them to the function: the stream API's records, turned
// into aws-lambda-go's event by way of the JSON Lambda sends.
func (s streamTable) records(t *testing.T) []events.DynamoDBEventRecord {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": s.recordsJSON(t)})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("aws-lambda-go cannot read the records: %v\n%s", err, b)
	}
	return ev.Records
}

// recordsJSON reads the stream's records as the JSON Lambda sends (and
// its event filters match): the shape of AWS's sample DynamoDB stream
// event.
func (s streamTable) recordsJSON(t *testing.T) []map[string]any {
	t.Helper()
	ctx := context.Background()
	desc, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.name})
	if err != nil {
		t.Fatal(err)
	}
	arn := desc.Table.LatestStreamArn
	if arn == nil {
		t.Fatal("the table has no stream")
	}
	stream, err := s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	var raw []st.Record
	for _, sh := range stream.StreamDescription.Shards {
		it, err := s.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: st.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, out.Records...)
			// An open shard always answers a next iterator; an empty
			// page means we are at its end.
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	slices.SortFunc(raw, func(a, b st.Record) int {
		return strings.Compare(fmt.Sprintf("%040s", *a.Dynamodb.SequenceNumber), fmt.Sprintf("%040s", *b.Dynamodb.SequenceNumber))
	})
	return lambdaJSON(*arn, raw)
}

func lambdaJSON(arn string, raw []st.Record) []map[string]any {
	var recs []map[string]any
	for _, r := range raw {
		d := r.Dynamodb
		change := map[string]any{
			"ApproximateCreationDateTime": d.ApproximateCreationDateTime.Unix(),
			"Keys":                        lambdaImage(d.Keys),
			"SequenceNumber":              *d.SequenceNumber,
			"SizeBytes":                   *d.SizeBytes,
			"StreamViewType":              string(d.StreamViewType),
		}
		if d.NewImage != nil {
			change["NewImage"] = lambdaImage(d.NewImage)
		}
		if d.OldImage != nil {
			change["OldImage"] = lambdaImage(d.OldImage)
		}
		recs = append(recs, map[string]any{
			"eventID": *r.EventID, "eventName": string(r.EventName), "eventVersion": *r.EventVersion,
			"eventSource": "aws:dynamodb", "awsRegion": *r.AwsRegion, "dynamodb": change, "eventSourceARN": arn,
		})
	}
	return recs
}

func lambdaImage(m map[string]st.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v st.AttributeValue) map[string]any {
	switch v := v.(type) {
	case *st.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *st.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *st.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}
	case *st.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *st.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *st.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *st.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *st.AttributeValueMemberBS:
		bs := make([]string, len(v.Value))
		for i, b := range v.Value {
			bs[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": bs}
	case *st.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = lambdaValue(e)
		}
		return map[string]any{"L": l}
	case *st.AttributeValueMemberM:
		return map[string]any{"M": lambdaImage(v.Value)}
	}
	panic(fmt.Sprintf("attribute value %T", v))
}

// paidOrder creates an order with the customer's address and pays it
// through ApplyEvent, as a webhook does; refunded adds a partial refund.
func paidOrder(t *testing.T, svc *shop.Service, name string, refunded bool) *order.Order {
	t.Helper()
	ctx := context.Background()
	o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		Email: name + "@example.com", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
		Deadline: now.Add(time.Hour), SessionRef: "cs_" + name}
	if err := svc.Store.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	evs := []order.Event{{Gateway: "stripe", ID: "evt_paid_" + name, Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: o.ID, Refs: []string{o.SessionRef}, SessionRef: o.SessionRef, PaymentRef: "pi_" + name, Amount: 4000, Currency: "usd"}}
	if refunded {
		evs = append(evs, order.Event{Gateway: "stripe", ID: "evt_refund_" + name, Type: "charge.refunded", Kind: order.KindRefunded,
			OrderID: o.ID, PaymentRef: "pi_" + name, Amount: 4000, Currency: "usd", Refunded: 1000})
	}
	for _, e := range evs {
		if _, _, err := svc.ApplyEvent(ctx, e); err != nil {
			t.Fatal(e.ID, err)
		}
	}
	return o
}

func TestHandle_RealStreamRecordsSendEachOwedMailOnce(t *testing.T) {
	tbl := newStreamTable(t)
	out := &sink{}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now },
		Renderer: plainRenderer{}, Mailer: out, MailEnabled: true, Publisher: out})
	h := &notify.Handler{Dispatcher: svc, Now: func() time.Time { return now }, Log: quiet}
	o := paidOrder(t, svc, "ada", true)
	ctx := context.Background()

	batch := events.DynamoDBEvent{Records: tbl.records(t)}
	if len(batch.Records) < 3 {
		t.Fatalf("read %d stream records; the order alone makes 3", len(batch.Records))
	}
	resp, err := h.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle: %v, failures %v", err, resp.BatchItemFailures)
	}
	want := []string{fmt.Sprintf("receipt %s v1", o.ID), fmt.Sprintf("refund %s v2", o.ID)}
	if !slices.Equal(out.mails, want) {
		t.Fatalf("mails %q, want %q (each once, in version order)", out.mails, want)
	}
	if len(out.events) != 2 {
		t.Errorf("owner events %q, want paid and partially refunded", out.events)
	}

	// Lambda delivers a batch again after a timeout or a failure later in
	// it; and the claim and mark writes the first delivery made are on the
	// stream too. Neither sends anything more.
	if _, err := h.Handle(ctx, batch); err != nil {
		t.Fatal(err)
	}
	again := events.DynamoDBEvent{Records: tbl.records(t)}
	if len(again.Records) <= len(batch.Records) {
		t.Fatal("the dispatch's own writes are not on the stream: the test proves less than it says")
	}
	if _, err := h.Handle(ctx, again); err != nil {
		t.Fatal(err)
	}
	if len(out.mails) != 2 || len(out.events) != 2 {
		t.Errorf("after redelivery: mails %q, events %q; want nothing more sent", out.mails, out.events)
	}
	got, err := tbl.store.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range got.Outbox {
		if w.State != order.EffectSent {
			t.Errorf("v%d %s is %s, want sent", w.Version, w.Type, w.State)
		}
	}
}

func TestHandle_AFailingMailerReportsTheRecordThatOwedIt(t *testing.T) {
	tbl := newStreamTable(t)
	out := &sink{failMail: true}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now },
		Renderer: plainRenderer{}, Mailer: out, MailEnabled: true, Publisher: out})
	h := &notify.Handler{Dispatcher: svc, Now: func() time.Time { return now }, Log: quiet}
	o := paidOrder(t, svc, "bob", false)

	recs := tbl.records(t)
	// The record of the write that paid the order: its new image owes the
	// receipt, its old image owed nothing.
	var owing string
	for _, r := range recs {
		if id, ok := notify.ItemID(r); ok && id == o.ID && r.EventName == "MODIFY" && len(notify.Outbox(r.Change.NewImage)) > 0 && len(notify.Outbox(r.Change.OldImage)) == 0 {
			owing = r.Change.SequenceNumber
		}
	}
	if owing == "" {
		t.Fatal("no stream record of the write that paid the order")
	}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{owing}) {
		t.Errorf("batch item failures %v, want exactly the paying write's record %s", failed, owing)
	}
	if len(out.mails) != 0 {
		t.Errorf("sent %q with a failing mailer", out.mails)
	}

	// SES recovers: Lambda retries from the failed record, and the
	// receipt goes once.
	out.mu.Lock()
	out.failMail = false
	out.mu.Unlock()
	resp, err = h.Handle(context.Background(), events.DynamoDBEvent{Records: tbl.records(t)})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %v, failures %v", err, resp.BatchItemFailures)
	}
	if want := []string{fmt.Sprintf("receipt %s v1", o.ID)}; !slices.Equal(out.mails, want) {
		t.Errorf("mails %q, want %q", out.mails, want)
	}
}
