package shop_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/mailcount"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

var (
	local     *ddblocal.Server
	localOnce sync.Once
	localErr  error
)

// TestMain stops the DynamoDB Local the tests may have started, and fails
// the package if any change was mailed twice (mailcount).
func TestMain(m *testing.M) {
	code := mailcount.Run(m)
	if local != nil {
		local.Stop()
	}
	os.Exit(code)
}

// dynamo returns a store on a fresh DynamoDB Local table, with a request
// counter.
func dynamo(t *testing.T, now func() time.Time) (*dynamostore.Store, *ddblocal.Counter) {
	t.Helper()
	localOnce.Do(func() { local, localErr = ddblocal.Start() })
	if localErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(localErr)
		}
		t.Skip("DynamoDB Local:", localErr)
	}
	var counter ddblocal.Counter
	client := local.Client(t, counter.Option())
	return dynamostore.New(client, local.NewTable(t, client), now), &counter
}

// subQueries is what the subscriptions add to every run with none: the
// walk of the open subscriptions (their effects, their gateways' answers,
// trials ending), then the effects of the final ones, whose listing
// (SubscriptionEffectsDue) reads the final subscriptions' effects queue and
// the open subscriptions' once more. A store with
// FinalSubscriptionEffectsDue saves that last one.
const subQueries = 3

// TestReconcile_DynamoDBRequestsPerOpenOrder pins what reconciling costs
// on DynamoDB: the open orders come from one Query per page of the index
// (never a Scan), and each order the gateway says moved costs one read and
// one conditional write (the move with its event record).
func TestReconcile_DynamoDBRequestsPerOpenOrder(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st, counter := dynamo(t, func() time.Time { return now })
	says := map[string][]order.Event{}
	const open, closed = 10, 30
	for i := range open + closed {
		o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
			CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour), Deadline: now.Add(-time.Hour), SessionRef: fmt.Sprintf("cs_%d", i)}
		if i >= open {
			o.Status = order.Paid
		}
		if err := st.CreateOrder(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if i < open {
			says[o.ID] = []order.Event{paidOf(o, "recon_"+o.SessionRef+"_complete_paid")}
		}
	}
	q := &inquirer{says: says}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": q}})
	counter.Take()
	rep, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "test", Page: open, Stop: time.Now().Add(time.Minute)})
	if err != nil || rep.Open != open || rep.Moved != open || len(rep.Errors) != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	got := counter.Take()
	// Per open order: the read of the order and its event record, and the
	// move. Around them: the lease (take, release), the backfill's cursor,
	// the queries (effects owed too long — none: the receipts these moves
	// owe are not due yet —, one page of open orders, then parked), the
	// sweep's cursor, and the first run's one-off backfill Scan of the
	// table.
	want := map[string]int{
		"BatchGetItem": open, "TransactWriteItems": open, "UpdateItem": open, // ClearReplay of the PaymentIntent each move indexes
		"Query": 3 + subQueries, "PutItem": 2, "DeleteItem": 1, "GetItem": 2 + open, "Scan": 1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DynamoDB requests %v, want %v", got, want)
	}
	// The second run reads nothing per order: nothing is open any more,
	// and the backfill is done.
	if _, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := counter.Take(); got["Scan"] != 0 || got["BatchGetItem"] != 0 || got["Query"] != 3+subQueries {
		t.Errorf("a run with nothing open: %v", got)
	}
}

// TestReconcile_TwoRunsAtOnceMoveEachOrderOnce starts two runs together on
// DynamoDB Local: the lease lets one through (the other says it is busy),
// and every order moves once, with one effect each.
func TestReconcile_TwoRunsAtOnceMoveEachOrderOnce(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st, _ := dynamo(t, func() time.Time { return now })
	says := map[string][]order.Event{}
	for i := range 8 {
		o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
			CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour), Deadline: now.Add(-time.Hour), SessionRef: fmt.Sprintf("cs_two%d", i)}
		if err := st.CreateOrder(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		says[o.ID] = []order.Event{paidOf(o, "recon_"+o.SessionRef+"_complete_paid")}
	}
	var mu sync.Mutex
	effects := map[string]int{}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": &inquirer{says: says}},
		Effects: func(_ context.Context, _, after order.Order) { mu.Lock(); effects[after.ID]++; mu.Unlock() }})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: fmt.Sprint("run", i), Stop: time.Now().Add(time.Minute)})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && err != shop.ErrBusy {
			t.Fatal(err)
		}
	}
	if len(effects) != 8 {
		t.Fatalf("%d orders moved, want 8", len(effects))
	}
	for id, n := range effects {
		if n != 1 {
			t.Errorf("%s moved %d times", id, n)
		}
	}
}

// TestReconcile_AStoppedRunIsTakenUpByTheNext: a run that reaches its stop
// time leaves the rest of the open orders to the next run.
func TestReconcile_AStoppedRunIsTakenUpByTheNext(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st, _ := dynamo(t, func() time.Time { return now })
	says := map[string][]order.Event{}
	var ids []string
	for i := range 6 {
		o := &order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Pending, Amount: 4000, Currency: "usd",
			CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour), Deadline: now.Add(-time.Hour), SessionRef: fmt.Sprintf("cs_stop%d", i)}
		if err := st.CreateOrder(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		says[o.ID], ids = []order.Event{paidOf(o, "recon_"+o.SessionRef+"_complete_paid")}, append(ids, o.ID)
	}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return now }, Inquirers: map[string]shop.Inquirer{"stripe": &inquirer{says: says}}})
	rep, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "first", Stop: time.Now().Add(-time.Second)})
	if err != nil || !rep.Stopped || rep.Moved != 0 {
		t.Fatalf("a run past its stop: %+v %v", rep, err)
	}
	if _, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "second", Page: 2, Stop: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if o, _ := st.GetOrder(context.Background(), id); o.Status != order.Paid {
			t.Errorf("%s: %s after the next run", id, o.Status)
		}
	}
}

// TestReconcile_DynamoDBRequestsPerEffectDue pins what sending effects
// owed too long costs: one Query per page of the effects queue, and per
// effect Dispatch's claim and mark (a read and a conditional write each),
// plus the read that finds nothing more to send.
func TestReconcile_DynamoDBRequestsPerEffectDue(t *testing.T) {
	c := newClock(dispatchNow)
	st, counter := dynamo(t, c.Now)
	b := &outbox{}
	svc := c.service(st, b)
	svc.Inquirers = map[string]shop.Inquirer{"stripe": &inquirer{}}
	const owing = 10
	for i := range owing {
		paidBy(t, svc, customerOrder(t, st, fmt.Sprintf("due%d", i), "ann@example.com"))
	}
	// The first run's backfill is done, and the receipts not yet due.
	if _, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	c.Advance(shop.EffectsAfter + time.Second)
	counter.Take()
	rep, err := svc.Reconcile(context.Background(), shop.ReconcileOptions{Holder: "test", Page: owing, Stop: time.Now().Add(time.Minute)})
	if err != nil || rep.EffectsDue != owing || rep.EffectsSent != owing || len(rep.Errors) != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	// The claim and the mark are conditional PutItems of the order (no
	// event record rides with them). Around them: the lease (take,
	// release), the backfill's and the sweep's cursors, and the queries
	// (effects, open, parked, and the subscriptions' two). The effects
	// page of 10 ends the queue (it asks for one more), so no second page
	// is read.
	want := map[string]int{"GetItem": 3*owing + 2, "PutItem": 2*owing + 1, "DeleteItem": 1, "Query": 3 + subQueries}
	if got := counter.Take(); !reflect.DeepEqual(got, want) {
		t.Errorf("DynamoDB requests %v, want %v", got, want)
	}
	if mails, _ := b.sent(); len(mails) != owing {
		t.Fatalf("%d mails, want %d", len(mails), owing)
	}
}
