package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/mail"
	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/shop"
)

// linkSink keeps the access-link mails whole.
type linkSink struct {
	mu    sync.Mutex
	links []shop.Mail
}

func (s *linkSink) Send(_ context.Context, m shop.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Tags["kind"] == "access_link" {
		s.links = append(s.links, m)
	}
	return nil
}

// TestHandle_AnAccessLinkRequestsRecordOwesAndSendsTheLink: a request for
// access links is one item on the table; its real stream record passes the
// template's filter, owes the subscriber a link, and the subscription's
// own record then sends it, with a fresh token, once.
func TestHandle_AnAccessLinkRequestsRecordOwesAndSendsTheLink(t *testing.T) {
	patterns := templatePatterns(t)
	tbl := newStreamTable(t)
	ctx := context.Background()
	renderer, err := mail.NewRenderer("Jam & Co.", "https://shop.example.com")
	if err != nil {
		t.Fatal(err)
	}
	out := &linkSink{}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now }, Renderer: renderer, Mailer: out,
		MailEnabled: true, AccountURL: "https://shop.example.com/account.html"})
	s := startedSub(t, svc, "eve")
	if err := svc.RequestAccessLinks(ctx, "Eve@Example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	h := &notify.Handler{Dispatcher: svc, Access: svc, Now: func() time.Time { return now }, Log: quiet}
	raw, recs := tbl.recordsJSON(t), tbl.records(t)
	requests := 0
	for i, r := range raw {
		if !strings.HasPrefix(recs[i].Change.Keys["pk"].String(), "accessreq#") {
			continue
		}
		requests++
		var ev map[string]any
		b, _ := json.Marshal(r)
		_ = json.Unmarshal(b, &ev)
		passes := false
		for _, p := range patterns {
			passes = passes || matches(t, p, ev)
		}
		if !passes {
			t.Fatalf("the template's filter drops the request's record %s", b)
		}
	}
	if requests != 1 {
		t.Fatalf("%d request records on the stream", requests)
	}
	// The request's batch owes the link; the next batch, with the
	// subscription's record of it, sends it. Both twice: redeliveries.
	for range 2 {
		for range 2 {
			resp, err := h.Handle(ctx, events.DynamoDBEvent{Records: tbl.records(t)})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("%+v %v", resp, err)
			}
		}
	}
	if len(out.links) != 1 || out.links[0].To != "eve@example.com" || !strings.Contains(out.links[0].Text, "/account.html#subscription="+s.ID+"&token=") {
		t.Fatalf("access-link mails %+v", out.links)
	}
}
