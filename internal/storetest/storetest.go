// Package storetest is the one conformance suite every order.Store passes:
// the DynamoDB store on DynamoDB Local and the in-memory store run the same
// cases, so `jampay serve` behaves as production does.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Clock is a settable clock for the suite; stores are built with its Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// NewStore builds a fresh, empty store on clock for one test.
type NewStore func(t *testing.T, clock *Clock) order.Store

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		fn   func(*testing.T, order.Store, *Clock)
	}{
		{"CreateTwiceConflicts", testCreateTwice},
		{"RoundTripKeepsEveryField", testRoundTrip},
		{"GetUnknownIsNotFound", testGetUnknown},
		{"EveryPairOfTheMoveTable", testEveryPair},
		{"StaleVersionOrStatusLoses", testStale},
		{"FiftyRacersOneWinner", testRace},
		{"FiftyRacersSameEventOneWinner", testRaceSameEvent},
		{"EventRecordedTwiceIsDuplicate", testEventTwice},
		{"MoveWithRecordedEventIsDuplicateAndWritesNothing", testMoveDuplicateEvent},
		{"ExpiredEventRecordCanBeRecordedAgain", testEventExpiry},
		{"IdempotencyKeyClaimedOnce", testIdempotency},
		{"FindByRef", testFindByRef},
		{"RefBelongsToOneOrder", testRefOwnership},
		{"StatusTokenStoredOnlyAsHash", testToken},
		{"StoreFailureIsStoreError", testStoreError},
		{"RoundTripKeepsEveryEvidenceField", testEvidenceEveryField}, // everyfield.go
		{"ParkedEventsComeBack", testParked},
		{"ParkedEventKeepsEveryField", testParkedEveryField}, // everyfield.go
		{"UnparkRemovesOnlyWhatWasApplied", testUnpark},
		{"ClearReplayTakesOffOnlyItsRefs", testClearReplay},
		{"GetForEventInOneRead", testGetForEvent},
		{"RateLimiter", testRateLimiter}, // ratelimit.go
		// reconcile.go: what reconciling needs (shop.ReconcileStore).
		{"OpenPastDeadlineEarliestFirstInPages", testOpenPastDeadline},
		{"OpenPagesSurviveMoves", testOpenPagesSurviveMoves},
		{"OpenQueueFollowsStatus", testOpenQueueFollowsStatus},
		{"HistoryKeptWithTheOrder", testHistoryKeptWithTheOrder},
		{"HistoryKeepsEveryField", testHistoryEveryField}, // everyfield.go
		{"EffectsQueuesFollowTheOutbox", testEffectsQueues},
		{"ParkedRefsAppearAndGo", testParkedRefs},
		{"LeaseOneHolderAtATime", testLease},
		{"CursorsByName", testCursors},
		{"ListOrdersChoosesAndPages", testListOrders}, // list.go: the owner's listing (shop.OrderLister)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock()
			c.fn(t, newStore(t, clock), clock)
		})
	}
}

var ctx = context.Background()

// NewOrder returns a valid pending order for tests.
func NewOrder(clock *Clock) *order.Order {
	_, hash := order.NewToken()
	now := clock.Now()
	return &order.Order{
		ID: order.NewID(), Gateway: "stripe", Status: order.Pending,
		Items:  []order.LineItem{{SKU: "tee-m", Name: "T-shirt (M)", Quantity: 2, UnitAmount: 2000}},
		Amount: 4000, Currency: "usd", Email: "a@example.com", TokenHash: hash,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(30 * time.Minute),
	}
}

func mustCreate(t *testing.T, s order.Store, o *order.Order) {
	t.Helper()
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
}

func mustGet(t *testing.T, s order.Store, id string) *order.Order {
	t.Helper()
	o, err := s.GetOrder(ctx, id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

func moveTo(o order.Order, to order.Status) order.Move {
	next := o.Clone()
	next.Status, next.Version = to, o.Version+1
	return order.Move{Next: next, From: o.Status, FromVersion: o.Version}
}

func event(clock *Clock, id string) *order.EventRecord {
	now := clock.Now()
	return &order.EventRecord{Gateway: "stripe", ID: id, Type: "checkout.session.completed", PayloadHash: "ab12",
		ReceivedAt: now, ProcessedAt: now, ExpiresAt: now.Add(order.EventRetention)}
}

func testCreateTwice(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	again := *o
	again.Amount = 1
	if err := s.CreateOrder(ctx, &again); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("second CreateOrder = %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, o.ID); got.Amount != 4000 {
		t.Fatalf("second create overwrote the order: amount %d", got.Amount)
	}
}

func testRoundTrip(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	o.Items = append(o.Items, order.LineItem{SKU: "mug", Name: "Mug", Quantity: 1, UnitAmount: 1250})
	o.SessionRef, o.PaymentRef, o.Checkout = "cs_test_1", "pi_1", `{"url":"https://checkout.stripe.com/c/pay/cs_test_1"}`
	o.GatewayError, o.FailureReason = "timeout", "card_declined"
	o.Evidence = order.Evidence{Processing: true, Paid: true, PaidAmount: 5250, PaidCurrency: "usd", Mismatch: true,
		Declined: true, FailedFinal: true, Expired: true, Refunded: 100, Disputes: map[string]string{"dp_1": order.DisputeWon},
		PaidRef: "pi_1", ExtraPayments: []string{"pi_2", "pi_3"}, ExtraRefunded: []string{"pi_2"}}
	o.PendingReplay = []string{"cs_test_1", "pi_1"}
	o.History = history(clock)
	// Every field of an owed effect, in two states.
	o.Outbox = []order.Owed{
		{Effect: order.Effect{OrderID: o.ID, Version: 1, Type: "order.paid", Mail: order.MailReceipt, OwedAt: clock.Now()}, State: order.EffectSent, Attempts: 1},
		{Effect: order.Effect{OrderID: o.ID, Version: 2, Type: "order.refunded", OwedAt: clock.Now().Add(time.Second)}, State: order.EffectClaimed,
			Attempts: 2, ClaimedUntil: clock.Now().Add(time.Minute), Holder: "notify:req-1", LastError: "SES: throttled"}}
	// Every field of a refund request, in both states a request ends in.
	o.Refunds = []order.Refund{
		{Seq: 1, Amount: 1000, At: clock.Now().Add(-time.Minute), Actor: "local", RefundedBefore: 100, RefundID: "re_1"},
		{Seq: 2, Amount: 250, At: clock.Now().Add(123456789), Actor: "arn:aws:iam::123456789012:user/owner", RefundedBefore: 1100,
			Refused: "charge_already_refunded"},
	}
	mustCreate(t, s, o)
	got := mustGet(t, s, o.ID)
	want := o.Clone()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.Deadline.Equal(want.Deadline) {
		t.Fatalf("times changed: %v %v", got.CreatedAt, got.Deadline)
	}
	got.CreatedAt, got.UpdatedAt, got.Deadline = want.CreatedAt, want.UpdatedAt, want.Deadline
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", *got, want)
	}
}

func testGetUnknown(t *testing.T, s order.Store, clock *Clock) {
	if _, err := s.GetOrder(ctx, order.NewID()); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("GetOrder(unknown) = %v, want ErrNotFound", err)
	}
}

// testEveryPair walks every (from, to) pair of statuses: the table's moves
// are stored, every other change is refused before anything is written.
func testEveryPair(t *testing.T, s order.Store, clock *Clock) {
	for _, from := range order.Statuses {
		for _, to := range order.Statuses {
			o := NewOrder(clock)
			o.Status = from
			mustCreate(t, s, o)
			err := s.Move(ctx, moveTo(*o, to))
			allowed := from == to || order.CanMove(from, to)
			got := mustGet(t, s, o.ID)
			switch {
			case allowed && err != nil:
				t.Errorf("%s → %s: %v, want it stored", from, to, err)
			case allowed && (got.Status != to || got.Version != 1):
				t.Errorf("%s → %s: stored %s v%d", from, to, got.Status, got.Version)
			case !allowed && !errors.Is(err, order.ErrForbiddenMove):
				t.Errorf("%s → %s: %v, want ErrForbiddenMove", from, to, err)
			case !allowed && (got.Status != from || got.Version != 0):
				t.Errorf("%s → %s refused but stored %s v%d", from, to, got.Status, got.Version)
			}
		}
	}
}

func testStale(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	if err := s.Move(ctx, moveTo(*o, order.Processing)); err != nil {
		t.Fatal(err)
	}
	// o is now stale: version 0 and pending were true a moment ago.
	if err := s.Move(ctx, moveTo(*o, order.Paid)); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move from stale version = %v, want ErrConflict", err)
	}
	cur := mustGet(t, s, o.ID)
	wrongFrom := moveTo(*cur, order.Paid)
	wrongFrom.From = order.Pending
	if err := s.Move(ctx, wrongFrom); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move from wrong status = %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, o.ID); got.Status != order.Processing || got.Version != 1 {
		t.Fatalf("stored %s v%d, want processing v1", got.Status, got.Version)
	}
	missing := moveTo(*NewOrder(clock), order.Paid)
	if err := s.Move(ctx, missing); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move of a missing order = %v, want ErrConflict", err)
	}
}

// race runs n moves at once (racers) and returns how many won; a loser
// may lose only to the winner's version or its event.
func race(t *testing.T, s order.Store, n int, move func(i int) order.Move) (won int64) {
	wins, lost := racers(n, func(i int) error { return s.Move(ctx, move(i)) })
	for _, err := range lost {
		if !errors.Is(err, order.ErrConflict) && !errors.Is(err, order.ErrDuplicateEvent) {
			t.Errorf("racer: unexpected error %v", err)
		}
	}
	return int64(wins)
}

func testRace(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	won := race(t, s, 50, func(i int) order.Move {
		m := moveTo(*o, order.Paid)
		m.Event = event(clock, fmt.Sprintf("evt_racer_%d", i))
		return m
	})
	if won != 1 {
		t.Fatalf("%d winners, want exactly 1", won)
	}
	if got := mustGet(t, s, o.ID); got.Status != order.Paid || got.Version != 1 {
		t.Fatalf("stored %s v%d, want paid v1", got.Status, got.Version)
	}
}

func testRaceSameEvent(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	won := race(t, s, 50, func(int) order.Move {
		m := moveTo(*o, order.Paid)
		m.Event = event(clock, "evt_same")
		return m
	})
	if won != 1 {
		t.Fatalf("%d winners, want exactly 1", won)
	}
	if err := s.RecordEvent(ctx, *event(clock, "evt_same")); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("event of the winning move not recorded: %v", err)
	}
}

func testEventTwice(t *testing.T, s order.Store, clock *Clock) {
	if err := s.RecordEvent(ctx, *event(clock, "evt_1")); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvent(ctx, *event(clock, "evt_1")); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("second RecordEvent = %v, want ErrDuplicateEvent", err)
	}
	other := event(clock, "evt_1")
	other.Gateway = "razorpay"
	if err := s.RecordEvent(ctx, *other); err != nil {
		t.Fatalf("same id from another gateway: %v, want recorded", err)
	}
}

func testMoveDuplicateEvent(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	if err := s.RecordEvent(ctx, *event(clock, "evt_seen")); err != nil {
		t.Fatal(err)
	}
	m := moveTo(*o, order.Paid)
	m.Event = event(clock, "evt_seen")
	m.Refs = []string{"pi_dup"}
	if err := s.Move(ctx, m); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("Move with a recorded event = %v, want ErrDuplicateEvent", err)
	}
	if got := mustGet(t, s, o.ID); got.Status != order.Pending || got.Version != 0 {
		t.Fatalf("duplicate event moved the order to %s v%d", got.Status, got.Version)
	}
	if _, err := s.FindByRef(ctx, "stripe", "pi_dup"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("duplicate event's move indexed a ref: %v", err)
	}
}

func testEventExpiry(t *testing.T, s order.Store, clock *Clock) {
	if err := s.RecordEvent(ctx, *event(clock, "evt_old")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(order.EventRetention + time.Hour)
	if err := s.RecordEvent(ctx, *event(clock, "evt_old")); err != nil {
		t.Fatalf("record after expiry = %v, want recorded", err)
	}
}

func testIdempotency(t *testing.T, s order.Store, clock *Clock) {
	now := clock.Now()
	r := order.IdempotencyRecord{KeyHash: "k1", RequestHash: "body-a", OrderID: order.NewID(), CreatedAt: now, ExpiresAt: now.Add(order.IdempotencyRetention)}
	if old, err := s.ClaimIdempotencyKey(ctx, r); err != nil || old != nil {
		t.Fatalf("first claim = %v, %v", old, err)
	}
	for _, body := range []string{"body-a", "body-b"} {
		again := r
		again.RequestHash, again.OrderID = body, order.NewID()
		old, err := s.ClaimIdempotencyKey(ctx, again)
		if !errors.Is(err, order.ErrIdempotencyKeyExists) {
			t.Fatalf("claim again (%s) = %v, want ErrIdempotencyKeyExists", body, err)
		}
		if old == nil || old.OrderID != r.OrderID || old.RequestHash != "body-a" {
			t.Fatalf("claim again (%s) returned %+v, want the first record", body, old)
		}
	}
	clock.Advance(order.IdempotencyRetention + time.Minute)
	late := r
	late.OrderID = order.NewID()
	late.ExpiresAt = clock.Now().Add(order.IdempotencyRetention)
	if old, err := s.ClaimIdempotencyKey(ctx, late); err != nil || old != nil {
		t.Fatalf("claim after expiry = %v, %v; want a fresh claim", old, err)
	}
}

func testFindByRef(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	m := moveTo(*o, order.Pending)
	m.Next.SessionRef = "cs_test_find"
	m.Refs = []string{"cs_test_find"}
	if err := s.Move(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindByRef(ctx, "stripe", "cs_test_find")
	if err != nil || got.ID != o.ID || got.SessionRef != "cs_test_find" {
		t.Fatalf("FindByRef = %+v, %v", got, err)
	}
	if _, err := s.FindByRef(ctx, "razorpay", "cs_test_find"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("ref under another gateway = %v, want ErrNotFound", err)
	}
	if _, err := s.FindByRef(ctx, "stripe", "cs_unknown"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown ref = %v, want ErrNotFound", err)
	}
}

func testRefOwnership(t *testing.T, s order.Store, clock *Clock) {
	a, b := NewOrder(clock), NewOrder(clock)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	ma := moveTo(*a, order.Pending)
	ma.Refs = []string{"pi_owned"}
	if err := s.Move(ctx, ma); err != nil {
		t.Fatal(err)
	}
	mb := moveTo(*b, order.Paid)
	mb.Refs = []string{"pi_owned"}
	if err := s.Move(ctx, mb); !errors.Is(err, order.ErrRefTaken) {
		t.Fatalf("indexing another order's ref = %v, want ErrRefTaken", err)
	}
	if got := mustGet(t, s, b.ID); got.Status != order.Pending {
		t.Fatalf("refused move still stored %s", got.Status)
	}
	if got, _ := s.FindByRef(ctx, "stripe", "pi_owned"); got == nil || got.ID != a.ID {
		t.Fatalf("ref moved to another order: %+v", got)
	}
}

func testToken(t *testing.T, s order.Store, clock *Clock) {
	token, hash := order.NewToken()
	o := NewOrder(clock)
	o.TokenHash = hash
	mustCreate(t, s, o)
	got := mustGet(t, s, o.ID)
	if got.TokenHash == token || got.TokenHash != order.HashToken(token) {
		t.Fatalf("stored token hash %q", got.TokenHash)
	}
	if !order.TokenMatches(got, token) {
		t.Fatal("right token refused")
	}
	for _, wrong := range []string{"", token + "x", token[:len(token)-1], hash} {
		if order.TokenMatches(got, wrong) {
			t.Fatalf("wrong token %q accepted", wrong)
		}
	}
}

func testStoreError(t *testing.T, s order.Store, clock *Clock) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	o := NewOrder(clock)
	for name, err := range map[string]error{
		"CreateOrder": s.CreateOrder(canceled, o),
		"GetOrder":    func() error { _, err := s.GetOrder(canceled, o.ID); return err }(),
		"Move":        s.Move(canceled, moveTo(*o, order.Paid)),
		"RecordEvent": s.RecordEvent(canceled, *event(clock, "evt_x")),
	} {
		var se *order.StoreError
		if !errors.As(err, &se) {
			t.Errorf("%s on a failing store = %v, want *order.StoreError", name, err)
		}
	}
}

func testParked(t *testing.T, s order.Store, clock *Clock) {
	if got, err := s.Parked(ctx, "stripe", "pi_none"); err != nil || len(got) != 0 {
		t.Fatalf("nothing parked: %v %v", got, err)
	}
	a := order.Event{Gateway: "stripe", ID: "evt_a", Type: "charge.dispute.created", Kind: order.KindDisputeOpened, Refs: []string{"pi_1"}, Dispute: "dp_1", Created: clock.Now()}
	b := a
	b.ID, b.Kind = "evt_b", order.KindDisputeWon
	for _, e := range []order.Event{a, b} {
		if err := s.Park(ctx, "stripe", "pi_1", e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Parked(ctx, "stripe", "pi_1")
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], a) || got[1].ID != "evt_b" || got[1].Kind != order.KindDisputeWon {
		t.Fatalf("Parked = %+v, %v", got, err)
	}
	if other, _ := s.Parked(ctx, "razorpay", "pi_1"); len(other) != 0 {
		t.Fatalf("parked under another gateway: %+v", other)
	}
	// A redelivery parked again is kept once.
	if err := s.Park(ctx, "stripe", "pi_1", a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Parked(ctx, "stripe", "pi_1"); len(got) != 2 {
		t.Fatalf("the same event parked twice is kept %d times", len(got)-1)
	}
	// Parked events expire with the event records.
	clock.Advance(order.EventRetention + time.Hour)
	if got, _ := s.Parked(ctx, "stripe", "pi_1"); len(got) != 0 {
		t.Fatalf("parked events outlived the event records: %+v", got)
	}
}

func testUnpark(t *testing.T, s order.Store, clock *Clock) {
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		e := order.Event{Gateway: "stripe", ID: id, Kind: order.KindRefunded, Refs: []string{"pi_u"}, Created: clock.Now()}
		if err := s.Park(ctx, "stripe", "pi_u", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unpark(ctx, "stripe", "pi_u", []string{"evt_1", "evt_3", "evt_never"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Parked(ctx, "stripe", "pi_u")
	if err != nil || len(got) != 1 || got[0].ID != "evt_2" {
		t.Fatalf("after unparking evt_1 and evt_3: %+v %v", got, err)
	}
	if err := s.Unpark(ctx, "stripe", "pi_nothing", []string{"evt_2"}); err != nil {
		t.Fatalf("unparking under a reference with nothing parked: %v", err)
	}
	if got, _ := s.Parked(ctx, "stripe", "pi_nothing"); len(got) != 0 {
		t.Fatalf("unparking made something: %+v", got)
	}
}

func testClearReplay(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	o.PendingReplay = []string{"cs_test_r", "pi_r"}
	mustCreate(t, s, o)
	if err := s.ClearReplay(ctx, o.ID, []string{"pi_r"}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, o.ID)
	if !reflect.DeepEqual(got.PendingReplay, []string{"cs_test_r"}) || got.Version != o.Version || got.Status != o.Status {
		t.Fatalf("after clearing pi_r: %v v%d %s", got.PendingReplay, got.Version, got.Status)
	}
	if err := s.ClearReplay(ctx, o.ID, []string{"cs_test_r"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, o.ID); len(got.PendingReplay) != 0 {
		t.Fatalf("after clearing both: %v", got.PendingReplay)
	}
	gone := order.NewID()
	if err := s.ClearReplay(ctx, gone, []string{"pi_r"}); err != nil {
		t.Fatalf("clearing an order that is gone: %v", err)
	}
	if _, err := s.GetOrder(ctx, gone); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("clearing made an order: %v", err)
	}
}

func testGetForEvent(t *testing.T, s order.Store, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	got, seen, err := s.GetForEvent(ctx, o.ID, "stripe", "evt_new")
	if err != nil || seen || got == nil || got.ID != o.ID || got.Amount != o.Amount {
		t.Fatalf("new event: %+v %v %v", got, seen, err)
	}
	if err := s.RecordEvent(ctx, *event(clock, "evt_new")); err != nil {
		t.Fatal(err)
	}
	if _, seen, _ := s.GetForEvent(ctx, o.ID, "stripe", "evt_new"); !seen {
		t.Fatal("recorded event not seen")
	}
	if _, seen, _ := s.GetForEvent(ctx, o.ID, "razorpay", "evt_new"); seen {
		t.Fatal("event seen under another gateway")
	}
	none, seen, err := s.GetForEvent(ctx, order.NewID(), "stripe", "evt_new")
	if err != nil || none != nil || !seen {
		t.Fatalf("unknown order: %+v %v %v", none, seen, err)
	}
	clock.Advance(order.EventRetention + time.Hour)
	if _, seen, _ := s.GetForEvent(ctx, o.ID, "stripe", "evt_new"); seen {
		t.Fatal("an expired record still counts as seen")
	}
}
