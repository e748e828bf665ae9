package shop_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// inquirer is a gateway's API as reconcile sees it: what it says of each
// order's checkout, and a list of events after a cursor.
type inquirer struct {
	mu       sync.Mutex
	says     map[string][]order.Event // by order id
	fails    map[string]bool          // order ids whose inquiry fails
	missed   []order.Event            // in order; the cursor is an index
	failFrom int                      // Missed fails for a page that would go past this many events (0: never)
	asked    []string
}

func (q *inquirer) Inquire(_ context.Context, o order.Order, _ time.Time) ([]order.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked = append(q.asked, o.ID)
	if q.fails[o.ID] {
		return nil, errors.New("gateway: 500 internal error")
	}
	return q.says[o.ID], nil
}

func (q *inquirer) Missed(_ context.Context, cursor string, _ time.Time, limit int) ([]order.Event, string, error) {
	start := 0
	if cursor != "" {
		for i, e := range q.missed {
			if e.ID == cursor {
				start = i + 1
			}
		}
	}
	end := min(start+limit, len(q.missed))
	if q.failFrom > 0 && end > q.failFrom {
		return nil, "", errors.New("gateway: 503")
	}
	if start == end {
		return nil, cursor, nil
	}
	return q.missed[start:end], q.missed[end-1].ID, nil
}

// open makes an order of 4000 usd whose checkout (session cs_<name>) ended
// at deadline.
func open(t *testing.T, st *memstore.Store, name string, deadline time.Time) *order.Order {
	t.Helper()
	o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
		CreatedAt: deadline.Add(-time.Hour), UpdatedAt: deadline.Add(-time.Hour), Deadline: deadline, SessionRef: "cs_" + name}
	if err := st.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o
}

func paidOf(o *order.Order, id string) order.Event {
	return order.Event{Gateway: "stripe", ID: id, Type: "checkout.session.completed", Kind: order.KindPaid, OrderID: o.ID,
		Refs: []string{o.SessionRef}, SessionRef: o.SessionRef, PaymentRef: "pi_" + o.SessionRef[3:], Amount: 4000, Currency: "usd"}
}

func TestReconcile_AnOrderPaidWithoutItsWebhookIsFound(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	lost := open(t, st, "lost", now.Add(-time.Minute))
	abandoned := open(t, st, "abandoned", now.Add(-time.Minute))
	notYet := open(t, st, "notyet", now.Add(time.Hour))
	broken := open(t, st, "broken", now.Add(-time.Minute))
	q := &inquirer{
		says: map[string][]order.Event{
			lost.ID:      {paidOf(lost, "recon_cs_lost_complete")},
			abandoned.ID: {{Gateway: "stripe", ID: "recon_cs_abandoned_expired", Type: "checkout.session.expired", Kind: order.KindExpired, OrderID: abandoned.ID, SessionRef: abandoned.SessionRef}},
		},
		fails: map[string]bool{broken.ID: true},
	}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": q}})
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Actor: "local", Stop: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]order.Status{lost.ID: order.Paid, abandoned.ID: order.Expired, notYet.ID: order.Pending, broken.ID: order.Pending} {
		if got, _ := st.GetOrder(ctx, id); got.Status != want {
			t.Errorf("%s: %s, want %s", id, got.Status, want)
		}
	}
	got, _ := st.GetOrder(ctx, lost.ID)
	if h := got.History; len(h) != 1 || h[0].Source != order.SourceReconcile || h[0].Actor != "local" {
		t.Fatalf("history %+v", h)
	}
	if rep.Open != 3 || rep.Moved != 2 || len(rep.Errors) != 1 {
		t.Fatalf("report %+v", rep)
	}
	// A later webhook of the same fact changes nothing.
	out, _, err := svc.ApplyEvent(ctx, paidOf(lost, "evt_late_webhook"))
	if err != nil || out != shop.Unchanged {
		t.Fatalf("the late webhook: %s %v", out, err)
	}
	// Asking again asks only about what is still open: the failed one.
	q.asked = nil
	if _, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if len(q.asked) != 1 || q.asked[0] != broken.ID {
		t.Fatalf("second run asked about %v", q.asked)
	}
}

func TestReconcile_TheSweepAdvancesOnlyPastWhatWasApplied(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	paid := open(t, st, "paid", now.Add(time.Hour))
	if _, _, err := shop.New(shop.Service{Store: st}).ApplyEvent(ctx, paidOf(paid, "evt_paid")); err != nil {
		t.Fatal(err)
	}
	refund := func(id string, cum int64) order.Event {
		return order.Event{Gateway: "stripe", ID: id, Type: "charge.refunded", Kind: order.KindRefunded, OrderID: paid.ID,
			Refs: []string{"pi_paid"}, PaymentRef: "pi_paid", Amount: 4000, Currency: "usd", Refunded: cum}
	}
	q := &inquirer{missed: []order.Event{refund("evt_r1", 1000), refund("evt_r2", 2000), refund("evt_r3", 4000)}, failFrom: 2}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": q}})
	run := func() shop.ReconcileReport {
		rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Page: 2, Stop: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := run(); len(rep.Errors) != 1 {
		t.Fatalf("first run: %+v", rep)
	}
	if got, _ := st.GetOrder(ctx, paid.ID); got.Status != order.PartiallyRefunded || got.Evidence.Refunded != 2000 {
		t.Fatalf("after the first page: %s %d", got.Status, got.Evidence.Refunded)
	}
	if c, _ := st.Cursor(ctx, "missed#stripe"); c != "evt_r2" {
		t.Fatalf("cursor %q, want past the applied page only", c)
	}
	q.failFrom = 0
	run()
	if got, _ := st.GetOrder(ctx, paid.ID); got.Status != order.Refunded {
		t.Fatalf("after the gateway came back: %s", got.Status)
	}
	if c, _ := st.Cursor(ctx, "missed#stripe"); c != "evt_r3" {
		t.Fatalf("cursor %q", c)
	}
}

func TestReconcile_OneRunAtATime(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": &inquirer{}}})
	if ok, err := st.TakeLease(ctx, shop.ReconcileLease, "another run", now.Add(time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "this run", Stop: time.Now().Add(time.Minute)}); !errors.Is(err, shop.ErrBusy) {
		t.Fatalf("while another run holds the lease: %v", err)
	}
}

func TestReconcile_DryRunAsksAndAppliesNothing(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	lost := open(t, st, "lost", now.Add(-time.Minute))
	q := &inquirer{says: map[string][]order.Event{lost.ID: {paidOf(lost, "recon_cs_lost_complete")}}}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": q}})
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", DryRun: true, Stop: time.Now().Add(time.Minute)})
	if err != nil || len(rep.WouldApply) != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if got, _ := st.GetOrder(ctx, lost.ID); got.Status != order.Pending {
		t.Fatalf("a dry run moved the order: %s", got.Status)
	}
}

// TestReconcile_ALatePaymentIsReported: an order that ended expired and
// that the gateway then says is paid (a late authorisation) moves to paid,
// and the run names it for the owner.
func TestReconcile_ALatePaymentIsReported(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	late := open(t, st, "late", now.Add(-time.Hour))
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }})
	if _, _, err := svc.ApplyEvent(ctx, order.Event{Gateway: "stripe", ID: "evt_exp", Type: "checkout.session.expired", Kind: order.KindExpired, OrderID: late.ID, SessionRef: late.SessionRef}); err != nil {
		t.Fatal(err)
	}
	// Expired orders are not open: a later sweep hears of the payment.
	svc.Inquirers = map[string]shop.Inquirer{"stripe": &inquirer{missed: []order.Event{paidOf(late, "evt_late_paid")}}}
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
	if err != nil || len(rep.PaidLate) != 1 || rep.PaidLate[0] != late.ID {
		t.Fatalf("%+v %v", rep, err)
	}
	got, _ := st.GetOrder(ctx, late.ID)
	if got.Status != order.Paid || !got.PaidLate() {
		t.Fatalf("%s, late %v", got.Status, got.PaidLate())
	}
}

// TestReconcile_AGapInTheGatewaysEventsIsReported: an event the inquirer
// marks ignored (Stripe's retention passed the cursor) moves nothing and
// is told in the report.
func TestReconcile_AGapInTheGatewaysEventsIsReported(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := memstore.New(func() time.Time { return now })
	gap := order.Event{Gateway: "stripe", ID: "recon_gap_evt_1", Type: "jampay.events_gap", Kind: order.KindIgnored,
		Ignore: "events before 2026-10-23 are past Stripe's retention"}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": &inquirer{missed: []order.Event{gap}}}})
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
	if err != nil || len(rep.Notes) != 1 || rep.Moved != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// refusing is a store that refuses, as the move table would, the move of
// one event.
type refusing struct {
	*memstore.Store
	id string
}

func (r refusing) Move(ctx context.Context, m order.Move) error {
	if m.Event != nil && m.Event.ID == r.id {
		return order.ErrForbiddenMove
	}
	return r.Store.Move(ctx, m)
}

// TestReconcile_AnEventThatCanNeverApplyIsSteppedOver: the sweep reports
// it and goes on, so the events after it are not held back for ever.
func TestReconcile_AnEventThatCanNeverApplyIsSteppedOver(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mem := memstore.New(func() time.Time { return now })
	paid := open(t, mem, "stuck", now.Add(time.Hour))
	st := refusing{mem, "evt_refused"}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }})
	if _, _, err := svc.ApplyEvent(ctx, paidOf(paid, "evt_paid")); err != nil {
		t.Fatal(err)
	}
	refund := func(id string, cum int64) order.Event {
		return order.Event{Gateway: "stripe", ID: id, Type: "charge.refunded", Kind: order.KindRefunded, OrderID: paid.ID,
			Refs: []string{"pi_stuck"}, PaymentRef: "pi_stuck", Amount: 4000, Currency: "usd", Refunded: cum}
	}
	svc.Inquirers = map[string]shop.Inquirer{"stripe": &inquirer{missed: []order.Event{refund("evt_refused", 1000), refund("evt_after", 4000)}}}
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)})
	if err != nil || len(rep.Errors) != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if got, _ := mem.GetOrder(ctx, paid.ID); got.Status != order.Refunded {
		t.Fatalf("the event after the refused one: %s", got.Status)
	}
	if c, _ := mem.Cursor(ctx, "missed#stripe"); c != "evt_after" {
		t.Fatalf("cursor %q", c)
	}
}
