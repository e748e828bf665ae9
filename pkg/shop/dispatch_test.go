package shop_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/mailcount"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// plainRenderer is a stand-in for the mail templates: what an effect owes,
// named so the tests can count each one. The subject and tags carry the
// order, version and effect, which a real mail need not.
type plainRenderer struct{}

func (plainRenderer) Render(o order.Order, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	ev := shop.OwnerEvent{DetailType: e.Type, Detail: fmt.Appendf(nil, `{"id":"%s/%d/%s"}`, e.OrderID, e.Version, e.Type)}
	if e.Mail == "" {
		return nil, ev, nil
	}
	return &shop.Mail{To: o.Email, Subject: fmt.Sprintf("%s %s v%d", e.Mail, e.OrderID, e.Version), Text: e.Mail,
		Tags: map[string]string{"order": o.ID, "kind": e.Mail, "version": strconv.FormatInt(e.Version, 10), "effect": e.Type}}, ev, nil
}

// RenderSubscription renders a subscription's effect as Render does an
// order's.
func (r plainRenderer) RenderSubscription(s subscription.Subscription, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	return r.Render(order.Order{ID: s.ID, Email: s.Email}, e)
}

// outbox records what was sent, counting each mail and event: a second
// send of one is a duplicate. failMail makes the next sends fail.
type outbox struct {
	mu       sync.Mutex
	mails    []string // subjects, in the order sent
	events   []string // detail ids, in the order published
	failMail int      // how many sends still fail; -1: all
	// during, when set, runs once inside the next send, before it ends:
	// what happens elsewhere while a slow send is under way.
	during func()
}

func (b *outbox) Send(_ context.Context, m shop.Mail) error {
	if f := b.during; f != nil {
		b.during = nil
		f()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failMail != 0 {
		b.failMail--
		return errors.New("ses: throttled")
	}
	b.mails = append(b.mails, m.Subject)
	version, _ := strconv.ParseInt(m.Tags["version"], 10, 64)
	mailcount.Sent(mailcount.Key{OrderID: m.Tags["order"], Version: version, Effect: m.Tags["effect"]})
	return nil
}

func (b *outbox) Publish(_ context.Context, e shop.OwnerEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, string(e.Detail))
	return nil
}

func (b *outbox) sent() (mails, events []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.mails), slices.Clone(b.events)
}

// duplicates lists what was sent more than once.
func duplicates(sent []string) []string {
	seen, dup := map[string]bool{}, []string(nil)
	for _, s := range sent {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock(t time.Time) *clock        { return &clock{t: t} }
func (c *clock) service(st order.Store, b *outbox) *shop.Service {
	return shop.New(shop.Service{Store: st, Now: c.Now, Renderer: plainRenderer{}, Mailer: b, MailEnabled: true, Publisher: b})
}

var dispatchNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// customerOrder is an order of 4000 usd with the customer's email, its
// checkout session cs_<name>.
func customerOrder(t *testing.T, st order.Store, name, email string) *order.Order {
	t.Helper()
	o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd", Email: email,
		CreatedAt: dispatchNow.Add(-time.Hour), UpdatedAt: dispatchNow.Add(-time.Hour), Deadline: dispatchNow.Add(time.Hour), SessionRef: "cs_" + name}
	if err := st.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o
}

func refundOf(o *order.Order, id string) order.Event {
	return order.Event{Gateway: "stripe", ID: id, Type: "charge.refunded", Kind: order.KindRefunded, OrderID: o.ID,
		PaymentRef: "pi_" + o.SessionRef[3:], Amount: 4000, Currency: "usd", Refunded: 1000}
}

func apply(t *testing.T, svc *shop.Service, evs ...order.Event) {
	t.Helper()
	for _, e := range evs {
		if _, _, err := svc.ApplyEvent(ctx, e); err != nil {
			t.Fatal(e.ID, err)
		}
	}
}

func states(t *testing.T, st order.Store, id string) []string {
	t.Helper()
	var out []string
	for _, w := range mustGetOrder(t, st, id).Outbox {
		out = append(out, w.Type+":"+w.State)
	}
	return out
}

func TestDispatch_EachOwedEffectIsSentOnceAndMarkedInVersionOrder(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "a", "ada@example.com")
	apply(t, svc, paidOf(o, "evt_paid"), refundOf(o, "evt_refund"))
	for range 2 {
		if _, err := svc.Dispatch(ctx, o.ID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	mails, events := b.sent()
	got := mustGetOrder(t, st, o.ID)
	paidV, refundV := got.Outbox[0].Version, got.Outbox[1].Version
	want := []string{fmt.Sprintf("receipt %s v%d", o.ID, paidV), fmt.Sprintf("refund %s v%d", o.ID, refundV)}
	if !slices.Equal(mails, want) || len(events) != 2 || !strings.Contains(events[0], "order.paid") {
		t.Fatalf("mails %q events %q, want %q once each in version order", mails, events, want)
	}
	if s := states(t, st, o.ID); !slices.Equal(s, []string{"order.paid:sent", "order.partially_refunded:sent"}) {
		t.Fatalf("outbox %v", s)
	}
	for _, w := range got.Outbox {
		if w.Attempts != 1 || !w.ClaimedUntil.IsZero() || !strings.HasPrefix(w.Holder, "test/") {
			t.Fatalf("%+v", w)
		}
	}
}

func TestDispatch_ADeclineOwesNothing(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "d", "ada@example.com")
	apply(t, svc, order.Event{Gateway: "stripe", ID: "evt_decl", Type: "payment_intent.payment_failed", Kind: order.KindDeclined, OrderID: o.ID, Reason: "card_declined"})
	rep, err := svc.Dispatch(ctx, o.ID, "test")
	mails, events := b.sent()
	if err != nil || rep != (shop.DispatchReport{}) || len(mails)+len(events) != 0 {
		t.Fatalf("%+v %v: sent %q %q", rep, err, mails, events)
	}
}

// TestDispatch_ACrashAfterTheClaimIsRetriedOnceTheClaimPasses: a sender
// that claimed the receipt and died never marks it. Until the claim passes
// nobody sends it, nor the refund after it (version order); then the next
// dispatcher sends both, once.
func TestDispatch_ACrashAfterTheClaimIsRetriedOnceTheClaimPasses(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "c", "ada@example.com")
	apply(t, svc, paidOf(o, "evt_paid"), refundOf(o, "evt_refund"))
	// The crashed sender's claim, written as Dispatch writes one.
	cur := mustGetOrder(t, st, o.ID)
	next := cur.Clone()
	next.Version++
	next.Outbox[0].State, next.Outbox[0].Holder, next.Outbox[0].ClaimedUntil, next.Outbox[0].Attempts =
		order.EffectClaimed, "crashed/0", c.Now().Add(shop.ClaimFor), 1
	if err := st.Move(ctx, order.Move{Next: next, From: cur.Status, FromVersion: cur.Version}); err != nil {
		t.Fatal(err)
	}

	c.Advance(shop.ClaimFor - time.Second)
	rep, err := svc.Dispatch(ctx, o.ID, "second")
	if mails, _ := b.sent(); err != nil || !rep.Held || len(mails) != 0 {
		t.Fatalf("within the claim: %+v %v, sent %q", rep, err, mails)
	}
	c.Advance(time.Second)
	rep, err = svc.Dispatch(ctx, o.ID, "second")
	mails, _ := b.sent()
	if err != nil || rep.Sent != 2 || len(mails) != 2 || !strings.HasPrefix(mails[0], "receipt") || !strings.HasPrefix(mails[1], "refund") {
		t.Fatalf("after the claim: %+v %v, sent %q", rep, err, mails)
	}
	if w := mustGetOrder(t, st, o.ID).Outbox[0]; w.Attempts != 2 || w.State != order.EffectSent {
		t.Fatalf("%+v, want sent on its second attempt", w)
	}
}

func TestDispatch_AMailerFailingNTimesSendsOnceLater(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{failMail: 2}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "f", "ada@example.com")
	apply(t, svc, paidOf(o, "evt_paid"))
	for i := range 2 {
		rep, err := svc.Dispatch(ctx, o.ID, "test")
		w := mustGetOrder(t, st, o.ID).Outbox[0]
		if err == nil || rep.Retry != 1 || w.State != order.EffectOwed || w.Attempts != i+1 || w.LastError != "ses: throttled" {
			t.Fatalf("failure %d: %+v %v; %+v", i+1, rep, err, w)
		}
	}
	rep, err := svc.Dispatch(ctx, o.ID, "test")
	mails, _ := b.sent()
	w := mustGetOrder(t, st, o.ID).Outbox[0]
	if err != nil || rep.Sent != 1 || len(mails) != 1 || w.State != order.EffectSent || w.Attempts != 3 || w.LastError != "" {
		t.Fatalf("%+v %v, sent %q; %+v", rep, err, mails, w)
	}
}

// TestDispatch_FailingPastTheCapParksTheEffect: parked as failed with its
// last error, not tried again, and not holding up the refund after it.
func TestDispatch_FailingPastTheCapParksTheEffect(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{failMail: shop.DispatchAttempts}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "x", "ada@example.com")
	apply(t, svc, paidOf(o, "evt_paid"))
	for range shop.DispatchAttempts - 1 {
		if _, err := svc.Dispatch(ctx, o.ID, "test"); err == nil {
			t.Fatal("a failed send reported no error")
		}
	}
	rep, err := svc.Dispatch(ctx, o.ID, "test")
	w := mustGetOrder(t, st, o.ID).Outbox[0]
	if err != nil || rep.Failed != 1 || w.State != order.EffectFailed || w.Attempts != shop.DispatchAttempts || w.LastError != "ses: throttled" {
		t.Fatalf("%+v %v; %+v", rep, err, w)
	}
	apply(t, svc, refundOf(o, "evt_refund"))
	rep, err = svc.Dispatch(ctx, o.ID, "test")
	mails, _ := b.sent()
	if err != nil || rep.Sent != 1 || len(mails) != 1 || !strings.HasPrefix(mails[0], "refund") {
		t.Fatalf("%+v %v, sent %q", rep, err, mails)
	}
	if w := mustGetOrder(t, st, o.ID).Outbox[0]; w.State != order.EffectFailed || w.Attempts != shop.DispatchAttempts {
		t.Fatalf("the parked effect was tried again: %+v", w)
	}
}

func TestDispatch_NoAddressOrNoMailFromIsSkippedNotFailed(t *testing.T) {
	for _, tc := range []struct {
		name, email string
		mailOn      bool
		bus         bool
		want        string
	}{
		{"no address", "", true, false, order.EffectSkipped},
		{"no MAIL_FROM", "ada@example.com", false, false, order.EffectSkipped},
		{"no address, a bus", "", true, true, order.EffectSent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{failMail: -1} // a send would fail
			st := memstore.New(c.Now)
			svc := shop.New(shop.Service{Store: st, Now: c.Now, Renderer: plainRenderer{}, Mailer: b, MailEnabled: tc.mailOn})
			if tc.bus {
				svc.Publisher = b
			}
			o := customerOrder(t, st, "s", tc.email)
			apply(t, svc, paidOf(o, "evt_paid"))
			if _, err := svc.Dispatch(ctx, o.ID, "test"); err != nil {
				t.Fatal(err)
			}
			if w := mustGetOrder(t, st, o.ID).Outbox[0]; w.State != tc.want || w.LastError != "" {
				t.Fatalf("%+v, want %s", w, tc.want)
			}
		})
	}
}

// stormEvents is the API storm's shape: 10 orders, two events each (paid
// then a partial refund; or a decline then the session's expiry).
func stormEvents(t *testing.T, st order.Store) ([]*order.Order, [][]order.Event) {
	var orders []*order.Order
	var evs [][]order.Event
	for i := range 10 {
		o := customerOrder(t, st, fmt.Sprintf("storm%d", i), "ada@example.com")
		e := []order.Event{paidOf(o, "evt_paid_"+o.ID), refundOf(o, "evt_refund_"+o.ID)}
		if i%2 == 1 {
			e = []order.Event{
				{Gateway: "stripe", ID: "evt_decl_" + o.ID, Type: "payment_intent.payment_failed", Kind: order.KindDeclined, OrderID: o.ID, Reason: "card_declined"},
				{Gateway: "stripe", ID: "evt_exp_" + o.ID, Type: "checkout.session.expired", Kind: order.KindExpired, OrderID: o.ID, Refs: []string{o.SessionRef}, SessionRef: o.SessionRef},
			}
		}
		orders, evs = append(orders, o), append(evs, e)
	}
	return orders, evs
}

// storm delivers every event 10 times and dispatches after each delivery,
// all at once (200 deliveries, 200 dispatches), then dispatches each order
// once more as the reconcile sweep would; every change's mail and event
// must have gone exactly once.
func storm(t *testing.T, st order.Store) {
	c, b := newClock(dispatchNow), &outbox{}
	svc := c.service(st, b)
	orders, evs := stormEvents(t, st)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 400)
	for n := range 200 {
		o, ev := orders[n%10], evs[n%10][(n/10)%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// A delivery that kept losing its write is redelivered, as
			// the gateway would.
			for {
				_, _, err := svc.ApplyEvent(ctx, ev)
				var se *order.StoreError
				if !errors.As(err, &se) {
					if err != nil {
						errs <- err
					}
					break
				}
			}
			if _, err := svc.Dispatch(ctx, o.ID, fmt.Sprint("storm", n)); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	owedMail := 0
	for _, o := range orders {
		if _, err := svc.Dispatch(ctx, o.ID, "sweep"); err != nil {
			t.Fatal(err)
		}
		for _, w := range mustGetOrder(t, st, o.ID).Outbox {
			if w.State != order.EffectSent || w.Attempts != 1 {
				t.Errorf("%s v%d %s: %s after %d attempts", o.ID, w.Version, w.Type, w.State, w.Attempts)
			}
			if w.Mail != "" {
				owedMail++
			}
		}
	}
	mails, events := b.sent()
	if d := duplicates(mails); len(d) != 0 || len(mails) != owedMail {
		t.Errorf("%d mails for %d owed; duplicates %q", len(mails), owedMail, d)
	}
	if d := duplicates(events); len(d) != 0 {
		t.Errorf("duplicate events %q", d)
	}
	if owedMail < 5 {
		t.Errorf("only %d mails owed: the storm paid too little to test", owedMail)
	}
}

func TestDispatch_AStormSendsEachChangeOnce(t *testing.T) {
	storm(t, memstore.New(func() time.Time { return dispatchNow }))
}

func TestDispatch_AStormSendsEachChangeOnce_DynamoDB(t *testing.T) {
	st, _ := dynamo(t, func() time.Time { return dispatchNow })
	storm(t, st)
}

// TestDispatch_ASendSlowerThanItsClaimDoesNotMarkAnothersClaim: the claim
// passes during a slow send and another dispatcher claims the effect; the
// slow one's mark then leaves that claim alone (the other dispatcher
// marks it), rather than write over it.
func TestDispatch_ASendSlowerThanItsClaimDoesNotMarkAnothersClaim(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	st := memstore.New(c.Now)
	svc := c.service(st, b)
	o := customerOrder(t, st, "s", "ada@example.com")
	apply(t, svc, paidOf(o, "evt_paid"))
	b.during = func() {
		c.Advance(shop.ClaimFor + time.Second)
		cur := mustGetOrder(t, st, o.ID)
		next := cur.Clone()
		next.Version++
		next.Outbox[0].Holder, next.Outbox[0].ClaimedUntil = "second/1", c.Now().Add(shop.ClaimFor)
		if err := st.Move(ctx, order.Move{Next: next, From: cur.Status, FromVersion: cur.Version}); err != nil {
			t.Error(err)
		}
	}
	if _, err := svc.Dispatch(ctx, o.ID, "slow"); err != nil {
		t.Fatal(err)
	}
	if w := mustGetOrder(t, st, o.ID).Outbox[0]; w.State != order.EffectClaimed || w.Holder != "second/1" {
		t.Fatalf("%+v: the slow sender marked a claim that is another's", w)
	}
}
