package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// The cases of subscriptions: what every store keeps of them, beside the
// orders and with the orders' discipline (the same conditional moves, the
// same event records, the same references, the same index).

// SubscriptionStore is a store of orders and subscriptions, with what the
// reconcile job and the owner's CLI walk.
type SubscriptionStore interface {
	order.Store
	subscription.Store
	subscription.PlanStore
	// OpenSubscriptions lists every subscription not in a final status,
	// earliest checkout deadline first, paged like OpenPastDeadline.
	OpenSubscriptions(ctx context.Context, limit int, after string) ([]subscription.Subscription, string, error)
	// ListSubscriptions lists the subscriptions in status ("" for any),
	// each page newest first.
	ListSubscriptions(ctx context.Context, status subscription.Status, limit int, after string) ([]subscription.Subscription, string, error)
}

// NewSubscriptionStore builds a fresh, empty store on clock for one test.
type NewSubscriptionStore func(t *testing.T, clock *Clock) SubscriptionStore

// RunSubscriptions runs the subscription cases against stores made by
// newStore.
func RunSubscriptions(t *testing.T, newStore NewSubscriptionStore) {
	cases := []struct {
		name string
		fn   func(*testing.T, SubscriptionStore, *Clock)
	}{
		{"CreateTwiceConflicts", testSubCreateTwice},
		{"RoundTripKeepsEveryField", testSubEveryField},
		{"RoundTripKeepsEveryEvidenceFieldAlone", testSubEvidenceEveryField},
		{"GetUnknownIsNotFound", testSubGetUnknown},
		{"EveryPairOfTheMoveTable", testSubEveryPair},
		{"StaleVersionOrStatusLoses", testSubStale},
		{"FiftyRacersOneWinner", testSubRace},
		{"FiftyRacersSameEventOneWinnerRestDuplicate", testSubRaceSameEvent},
		{"MoveWithRecordedEventIsDuplicateAndWritesNothing", testSubMoveDuplicateEvent},
		{"EventRecordsSharedWithOrders", testSubEventsShared},
		{"GetForEventInOneRead", testSubGetForEvent},
		{"FindByRef", testSubFindByRef},
		{"RefBelongsToOneOrderOrSubscription", testSubRefOwnership},
		{"ClearReplayTakesOffOnlyItsRefs", testSubClearReplay},
		{"PutPlanFirstWriterWins", testPutPlan},
		{"OpenSubscriptionsAreEveryOneNotFinalInPages", testOpenSubscriptions},
		{"OpenSubscriptionPagesSurviveMoves", testOpenSubscriptionPagesSurviveMoves},
		{"ListSubscriptionsChoosesAndPages", testListSubscriptions},
		{"StoreFailureIsStoreError", testSubStoreError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock()
			c.fn(t, newStore(t, clock), clock)
		})
	}
}

// NewSubscription returns a valid pending subscription for tests.
func NewSubscription(clock *Clock) *subscription.Subscription {
	_, hash := order.NewToken()
	now := clock.Now()
	return &subscription.Subscription{
		ID: subscription.NewID(), Gateway: "stripe", Status: subscription.Pending,
		SKU: "club-monthly", Name: "Jam club", Quantity: 1, UnitAmount: 900, Amount: 900, Currency: "usd",
		Interval: "month", IntervalCount: 1, TrialDays: 7, Email: "a@example.com", TokenHash: hash,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(30 * time.Minute),
	}
}

func mustCreateSub(t *testing.T, s SubscriptionStore, sub *subscription.Subscription) {
	t.Helper()
	if err := s.CreateSubscription(ctx, sub); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
}

func mustGetSub(t *testing.T, s SubscriptionStore, id string) *subscription.Subscription {
	t.Helper()
	sub, err := s.GetSubscription(ctx, id)
	if err != nil {
		t.Fatalf("GetSubscription(%s): %v", id, err)
	}
	return sub
}

func subMoveTo(sub subscription.Subscription, to subscription.Status) subscription.Move {
	next := sub.Clone()
	next.Status, next.Version = to, sub.Version+1
	return subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version}
}

// createSub creates a subscription NewSubscription makes, changed by edit.
func createSub(t *testing.T, s SubscriptionStore, clock *Clock, edit func(*subscription.Subscription)) *subscription.Subscription {
	t.Helper()
	sub := NewSubscription(clock)
	if edit != nil {
		edit(sub)
	}
	mustCreateSub(t, s, sub)
	return sub
}

// sameSub says where got differs from want ("" if nowhere), times
// compared as instants.
func sameSub(got, want subscription.Subscription) string {
	return diffValue(reflect.ValueOf(got), reflect.ValueOf(want), "Subscription")
}

func diffValue(got, want reflect.Value, path string) string {
	if got.Type() == reflect.TypeFor[time.Time]() {
		if g, w := got.Interface().(time.Time), want.Interface().(time.Time); !g.Equal(w) {
			return fmt.Sprintf("%s: read back %v, stored %v", path, g, w)
		}
		return ""
	}
	switch got.Kind() {
	case reflect.Struct:
		for i := range got.NumField() {
			if d := diffValue(got.Field(i), want.Field(i), path+"."+got.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if got.Len() != want.Len() {
			return fmt.Sprintf("%s: read back %d elements %v, stored %d %v", path, got.Len(), got, want.Len(), want)
		}
		for i := range got.Len() {
			if d := diffValue(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return fmt.Sprintf("%s: read back %#v, stored %#v", path, got.Interface(), want.Interface())
	}
	return ""
}

// leaf is one field, however deep, of what a store keeps of a
// subscription, and a way to set it to a value that is not zero.
type leaf struct {
	path string
	set  func(reflect.Value)
}

// leaves lists the fields under a value of type t: each field of a
// struct, each field of a slice of structs' one element, and t itself
// otherwise. A kind nonZero does not know yet fails the test, so a field
// of a new kind cannot go unchecked.
func leaves(t *testing.T, typ reflect.Type, path string, clock *Clock) []leaf {
	t.Helper()
	switch {
	case typ.Kind() == reflect.Struct && typ != reflect.TypeFor[time.Time]():
		var out []leaf
		for i := range typ.NumField() {
			for _, l := range leaves(t, typ.Field(i).Type, path+"."+typ.Field(i).Name, clock) {
				out = append(out, leaf{l.path, func(v reflect.Value) { l.set(v.Field(i)) }})
			}
		}
		return out
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
		var out []leaf
		for _, l := range leaves(t, typ.Elem(), path+"[0]", clock) {
			out = append(out, leaf{l.path, func(v reflect.Value) {
				if v.Len() == 0 {
					v.Set(reflect.MakeSlice(typ, 1, 1))
				}
				l.set(v.Index(0))
			}})
		}
		return out
	case typ.Kind() == reflect.Int:
		return []leaf{{path, func(v reflect.Value) { v.SetInt(7) }}}
	}
	val, ok := nonZero(typ, clock)
	if !ok {
		t.Fatalf("%s is a %s: teach nonZero a value for it, and the stores to keep it", path, typ)
	}
	return []leaf{{path, func(v reflect.Value) { v.Set(val) }}}
}

// testSubEveryField stores a subscription with every field set, however
// deep (evidence, snapshot, renewals, history, outbox), reads it back
// whole, moves it and reads it back whole again.
func testSubEveryField(t *testing.T, s SubscriptionStore, clock *Clock) {
	var sub subscription.Subscription
	v := reflect.ValueOf(&sub).Elem()
	for _, l := range leaves(t, v.Type(), "Subscription", clock) {
		l.set(v)
	}
	// What a store may hold of its own: a valid id and status, and the
	// outbox keyed by the subscription.
	sub.ID, sub.Status, sub.Version = subscription.NewID(), subscription.Active, 7
	for i := range sub.Outbox {
		sub.Outbox[i].OrderID = sub.ID
	}
	mustCreateSub(t, s, &sub)
	if d := sameSub(*mustGetSub(t, s, sub.ID), sub); d != "" {
		t.Errorf("round trip: %s", d)
	}
	m := subMoveTo(sub, subscription.PastDue)
	if err := s.MoveSubscription(ctx, m); err != nil {
		t.Fatal(err)
	}
	if d := sameSub(*mustGetSub(t, s, sub.ID), m.Next); d != "" {
		t.Errorf("after a move: %s", d)
	}
	got, _, err := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_none")
	if err != nil || got == nil {
		t.Fatalf("GetSubscriptionForEvent: %+v %v", got, err)
	}
	if d := sameSub(*got, m.Next); d != "" {
		t.Errorf("GetSubscriptionForEvent: %s", d)
	}
}

// testSubEvidenceEveryField stores subscriptions whose evidence has one
// field set (a snapshot's or a renewal's included), each alone, so a
// store that keeps a field only beside another is caught.
func testSubEvidenceEveryField(t *testing.T, s SubscriptionStore, clock *Clock) {
	for _, l := range leaves(t, reflect.TypeFor[subscription.Evidence](), "Evidence", clock) {
		sub := NewSubscription(clock)
		l.set(reflect.ValueOf(&sub.Evidence).Elem())
		mustCreateSub(t, s, sub)
		if d := sameSub(*mustGetSub(t, s, sub.ID), *sub); d != "" {
			t.Errorf("%s alone: %s", l.path, d)
		}
	}
}

func testSubCreateTwice(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	again := sub.Clone()
	again.Amount = 1
	if err := s.CreateSubscription(ctx, &again); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("second CreateSubscription = %v, want ErrConflict", err)
	}
	if got := mustGetSub(t, s, sub.ID); got.Amount != 900 {
		t.Fatalf("second create overwrote the subscription: amount %d", got.Amount)
	}
}

func testSubGetUnknown(t *testing.T, s SubscriptionStore, clock *Clock) {
	if _, err := s.GetSubscription(ctx, subscription.NewID()); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("GetSubscription(unknown) = %v, want ErrNotFound", err)
	}
	// Orders and subscriptions are kept apart: neither is read as the other.
	o := NewOrder(clock)
	mustCreate(t, s, o)
	sub := createSub(t, s, clock, nil)
	if _, err := s.GetSubscription(ctx, o.ID); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("GetSubscription(an order's id) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetOrder(ctx, sub.ID); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("GetOrder(a subscription's id) = %v, want ErrNotFound", err)
	}
	if got, _, err := s.GetSubscriptionForEvent(ctx, o.ID, "stripe", "evt_x"); got != nil || err != nil {
		t.Fatalf("GetSubscriptionForEvent(an order's id) = %+v, %v", got, err)
	}
}

// testSubEveryPair walks every (from, to) pair of statuses: the moves
// subscription.CanMove allows are stored, every other change is refused
// before anything is written.
func testSubEveryPair(t *testing.T, s SubscriptionStore, clock *Clock) {
	for _, from := range subscription.Statuses {
		for _, to := range subscription.Statuses {
			sub := createSub(t, s, clock, func(sub *subscription.Subscription) { sub.Status = from })
			err := s.MoveSubscription(ctx, subMoveTo(*sub, to))
			allowed := from == to || subscription.CanMove(from, to)
			got := mustGetSub(t, s, sub.ID)
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

func testSubStale(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	if err := s.MoveSubscription(ctx, subMoveTo(*sub, subscription.Trialing)); err != nil {
		t.Fatal(err)
	}
	// sub is now stale: version 0 and pending were true a moment ago.
	if err := s.MoveSubscription(ctx, subMoveTo(*sub, subscription.Active)); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move from a stale version = %v, want ErrConflict", err)
	}
	cur := mustGetSub(t, s, sub.ID)
	wrongFrom := subMoveTo(*cur, subscription.Active)
	wrongFrom.From = subscription.PastDue
	if err := s.MoveSubscription(ctx, wrongFrom); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move from a wrong status = %v, want ErrConflict", err)
	}
	skip := subMoveTo(*cur, subscription.Active)
	skip.Next.Version += 5
	if err := s.MoveSubscription(ctx, skip); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move skipping versions = %v, want ErrConflict", err)
	}
	if got := mustGetSub(t, s, sub.ID); got.Status != subscription.Trialing || got.Version != 1 {
		t.Fatalf("stored %s v%d, want trialing v1", got.Status, got.Version)
	}
	missing := subMoveTo(*NewSubscription(clock), subscription.Active)
	if err := s.MoveSubscription(ctx, missing); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("move of a missing subscription = %v, want ErrConflict", err)
	}
	if _, err := s.GetSubscription(ctx, missing.Next.ID); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("a refused move made a subscription: %v", err)
	}
}

// racers runs n calls at once and returns the errors of those that lost.
func racers(n int, call func(i int) error) (won int, lost []error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := call(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else {
				lost = append(lost, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return won, lost
}

func testSubRace(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	won, lost := racers(50, func(i int) error {
		m := subMoveTo(*sub, subscription.Active)
		m.Event = event(clock, fmt.Sprintf("evt_racer_%d", i))
		return s.MoveSubscription(ctx, m)
	})
	if won != 1 {
		t.Fatalf("%d winners, want exactly 1", won)
	}
	for _, err := range lost {
		if !errors.Is(err, order.ErrConflict) {
			t.Errorf("a loser: %v, want ErrConflict", err)
		}
	}
	if got := mustGetSub(t, s, sub.ID); got.Status != subscription.Active || got.Version != 1 {
		t.Fatalf("stored %s v%d, want active v1", got.Status, got.Version)
	}
}

func testSubRaceSameEvent(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	won, lost := racers(50, func(int) error {
		m := subMoveTo(*sub, subscription.Active)
		m.Event = event(clock, "evt_same")
		return s.MoveSubscription(ctx, m)
	})
	if won != 1 {
		t.Fatalf("%d winners, want exactly 1", won)
	}
	for _, err := range lost {
		if !errors.Is(err, order.ErrDuplicateEvent) {
			t.Errorf("a loser: %v, want ErrDuplicateEvent", err)
		}
	}
	if err := s.RecordEvent(ctx, *event(clock, "evt_same")); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("event of the winning move not recorded: %v", err)
	}
	if got := mustGetSub(t, s, sub.ID); got.Status != subscription.Active || got.Version != 1 {
		t.Fatalf("stored %s v%d, want active v1", got.Status, got.Version)
	}
}

func testSubMoveDuplicateEvent(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	if err := s.RecordEvent(ctx, *event(clock, "evt_seen")); err != nil {
		t.Fatal(err)
	}
	m := subMoveTo(*sub, subscription.Active)
	m.Event = event(clock, "evt_seen")
	m.Refs = []string{"sub_dup"}
	if err := s.MoveSubscription(ctx, m); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("move with a recorded event = %v, want ErrDuplicateEvent", err)
	}
	if got := mustGetSub(t, s, sub.ID); got.Status != subscription.Pending || got.Version != 0 {
		t.Fatalf("a duplicate event moved the subscription to %s v%d", got.Status, got.Version)
	}
	if _, err := s.FindSubscriptionByRef(ctx, "stripe", "sub_dup"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("a duplicate event's move indexed a ref: %v", err)
	}
}

// testSubEventsShared: orders and subscriptions share the event records,
// so one gateway event moves one of them, once.
func testSubEventsShared(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	m := subMoveTo(*sub, subscription.Active)
	m.Event = event(clock, "evt_sub")
	if err := s.MoveSubscription(ctx, m); err != nil {
		t.Fatal(err)
	}
	o := NewOrder(clock)
	mustCreate(t, s, o)
	if _, seen, err := s.GetForEvent(ctx, o.ID, "stripe", "evt_sub"); err != nil || !seen {
		t.Fatalf("the subscription's event, read with an order: seen %v, %v", seen, err)
	}
	om := moveTo(*o, order.Paid)
	om.Event = event(clock, "evt_sub")
	if err := s.Move(ctx, om); !errors.Is(err, order.ErrDuplicateEvent) {
		t.Fatalf("an order moved by the subscription's event: %v, want ErrDuplicateEvent", err)
	}
	om.Event = event(clock, "evt_order")
	if err := s.Move(ctx, om); err != nil {
		t.Fatal(err)
	}
	if _, seen, err := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_order"); err != nil || !seen {
		t.Fatalf("the order's event, read with the subscription: seen %v, %v", seen, err)
	}
}

func testSubGetForEvent(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	got, seen, err := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_new")
	if err != nil || seen || got == nil || got.ID != sub.ID || got.Amount != sub.Amount {
		t.Fatalf("new event: %+v %v %v", got, seen, err)
	}
	if err := s.RecordEvent(ctx, *event(clock, "evt_new")); err != nil {
		t.Fatal(err)
	}
	if _, seen, _ := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_new"); !seen {
		t.Fatal("recorded event not seen")
	}
	if _, seen, _ := s.GetSubscriptionForEvent(ctx, sub.ID, "razorpay", "evt_new"); seen {
		t.Fatal("event seen under another gateway")
	}
	none, seen, err := s.GetSubscriptionForEvent(ctx, subscription.NewID(), "stripe", "evt_new")
	if err != nil || none != nil || !seen {
		t.Fatalf("unknown subscription: %+v %v %v", none, seen, err)
	}
	clock.Advance(order.EventRetention + time.Hour)
	if _, seen, _ := s.GetSubscriptionForEvent(ctx, sub.ID, "stripe", "evt_new"); seen {
		t.Fatal("an expired record still counts as seen")
	}
}

func testSubFindByRef(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, nil)
	m := subMoveTo(*sub, subscription.Pending)
	m.Next.SessionRef = "cs_test_sub"
	m.Refs = []string{"cs_test_sub"}
	if err := s.MoveSubscription(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSubscriptionByRef(ctx, "stripe", "cs_test_sub")
	if err != nil || got.ID != sub.ID || got.SessionRef != "cs_test_sub" {
		t.Fatalf("FindSubscriptionByRef = %+v, %v", got, err)
	}
	if _, err := s.FindSubscriptionByRef(ctx, "razorpay", "cs_test_sub"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("ref under another gateway = %v, want ErrNotFound", err)
	}
	if _, err := s.FindSubscriptionByRef(ctx, "stripe", "cs_unknown"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown ref = %v, want ErrNotFound", err)
	}
}

// elsewhere reports whether err is an *order.ElsewhereError naming id.
func elsewhere(err error, id string) bool {
	var e *order.ElsewhereError
	return errors.As(err, &e) && e.ID == id
}

// testSubRefOwnership: orders and subscriptions share the references'
// namespace. A reference belongs to one of them for good, and a lookup of
// the other kind says where it belongs.
func testSubRefOwnership(t *testing.T, s SubscriptionStore, clock *Clock) {
	o := NewOrder(clock)
	mustCreate(t, s, o)
	om := moveTo(*o, order.Pending)
	om.Refs = []string{"pi_order"}
	if err := s.Move(ctx, om); err != nil {
		t.Fatal(err)
	}
	sub := createSub(t, s, clock, nil)
	sm := subMoveTo(*sub, subscription.Active)
	sm.Refs = []string{"sub_mine"}
	if err := s.MoveSubscription(ctx, sm); err != nil {
		t.Fatal(err)
	}
	cur := mustGetSub(t, s, sub.ID)

	// The order's reference is not the subscription's to take…
	taken := subMoveTo(*cur, subscription.PastDue)
	taken.Refs = []string{"sub_mine", "pi_order"}
	if err := s.MoveSubscription(ctx, taken); !errors.Is(err, order.ErrRefTaken) {
		t.Fatalf("a subscription indexing an order's ref = %v, want ErrRefTaken", err)
	}
	if got := mustGetSub(t, s, sub.ID); got.Status != subscription.Active || got.Version != 1 {
		t.Fatalf("a refused move still stored %s v%d", got.Status, got.Version)
	}
	// …nor the subscription's the order's.
	ocur := mustGet(t, s, o.ID)
	otaken := moveTo(*ocur, order.Paid)
	otaken.Refs = []string{"sub_mine"}
	if err := s.Move(ctx, otaken); !errors.Is(err, order.ErrRefTaken) {
		t.Fatalf("an order indexing a subscription's ref = %v, want ErrRefTaken", err)
	}
	if got := mustGet(t, s, o.ID); got.Status != order.Pending || got.Version != 1 {
		t.Fatalf("a refused move still stored %s v%d", got.Status, got.Version)
	}
	// Nor another subscription's.
	other := createSub(t, s, clock, nil)
	om2 := subMoveTo(*other, subscription.Active)
	om2.Refs = []string{"sub_mine"}
	if err := s.MoveSubscription(ctx, om2); !errors.Is(err, order.ErrRefTaken) {
		t.Fatalf("a subscription indexing another's ref = %v, want ErrRefTaken", err)
	}
	// MoveIndexing still moves it, without the reference.
	if err := subscription.MoveIndexing(ctx, s, om2); err != nil {
		t.Fatal(err)
	}
	if got := mustGetSub(t, s, other.ID); got.Status != subscription.Active {
		t.Fatalf("MoveIndexing left %s", got.Status)
	}

	// Each lookup finds its own kind, and says where the other's belong.
	if got, err := s.FindByRef(ctx, "stripe", "pi_order"); err != nil || got.ID != o.ID {
		t.Fatalf("FindByRef(the order's ref) = %+v, %v", got, err)
	}
	if got, err := s.FindSubscriptionByRef(ctx, "stripe", "sub_mine"); err != nil || got.ID != sub.ID {
		t.Fatalf("FindSubscriptionByRef(the subscription's ref) = %+v, %v", got, err)
	}
	if _, err := s.FindByRef(ctx, "stripe", "sub_mine"); !elsewhere(err, sub.ID) {
		t.Fatalf("FindByRef(a subscription's ref) = %v, want an ElsewhereError naming %s", err, sub.ID)
	}
	if _, err := s.FindSubscriptionByRef(ctx, "stripe", "pi_order"); !elsewhere(err, o.ID) {
		t.Fatalf("FindSubscriptionByRef(an order's ref) = %v, want an ElsewhereError naming %s", err, o.ID)
	}
	if errors.Is(errOf(s.FindByRef(ctx, "stripe", "sub_mine")), order.ErrNotFound) {
		t.Fatal("an ElsewhereError must not read as ErrNotFound: the event would be parked for ever")
	}

	// Indexing its own reference again is fine.
	again := subMoveTo(*cur, subscription.PastDue)
	again.Refs = []string{"sub_mine", "sub_second"}
	if err := s.MoveSubscription(ctx, again); err != nil {
		t.Fatalf("indexing its own ref again: %v", err)
	}
	if got, err := s.FindSubscriptionByRef(ctx, "stripe", "sub_second"); err != nil || got.Status != subscription.PastDue {
		t.Fatalf("FindSubscriptionByRef(sub_second) = %+v, %v", got, err)
	}
}

// errOf is the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }

func testSubClearReplay(t *testing.T, s SubscriptionStore, clock *Clock) {
	sub := createSub(t, s, clock, func(sub *subscription.Subscription) { sub.PendingReplay = []string{"cs_test_r", "in_r"} })
	if err := s.ClearSubscriptionReplay(ctx, sub.ID, []string{"in_r"}); err != nil {
		t.Fatal(err)
	}
	got := mustGetSub(t, s, sub.ID)
	if !slices.Equal(got.PendingReplay, []string{"cs_test_r"}) || got.Version != sub.Version || got.Status != sub.Status {
		t.Fatalf("after clearing in_r: %v v%d %s", got.PendingReplay, got.Version, got.Status)
	}
	if err := s.ClearSubscriptionReplay(ctx, sub.ID, []string{"cs_test_r"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGetSub(t, s, sub.ID); len(got.PendingReplay) != 0 {
		t.Fatalf("after clearing both: %v", got.PendingReplay)
	}
	if err := s.ClearSubscriptionReplay(ctx, sub.ID, nil); err != nil {
		t.Fatalf("clearing nothing: %v", err)
	}
	gone := subscription.NewID()
	if err := s.ClearSubscriptionReplay(ctx, gone, []string{"in_r"}); err != nil {
		t.Fatalf("clearing a subscription that is gone: %v", err)
	}
	if _, err := s.GetSubscription(ctx, gone); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("clearing made a subscription: %v", err)
	}
}

func testPutPlan(t *testing.T, s SubscriptionStore, clock *Clock) {
	if _, err := s.Plan(ctx, "razorpay", "club-monthly/900/inr/month/1/12"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("Plan before any = %v, want ErrNotFound", err)
	}
	const key = "club-monthly/900/inr/month/1/12"
	var mu sync.Mutex
	got := map[string]int{}
	won, lost := racers(50, func(i int) error {
		id, err := s.PutPlan(ctx, "razorpay", key, fmt.Sprintf("plan_%02d", i))
		if err == nil {
			mu.Lock()
			got[id]++
			mu.Unlock()
		}
		return err
	})
	if won != 50 || len(lost) != 0 {
		t.Fatalf("PutPlan: %d answered, errors %v", won, lost)
	}
	if len(got) != 1 {
		t.Fatalf("50 first writers got %d plans: %v", len(got), got)
	}
	var first string
	for id := range got {
		first = id
	}
	if stored, err := s.Plan(ctx, "razorpay", key); err != nil || stored != first {
		t.Fatalf("Plan = %q, %v; want %q", stored, err, first)
	}
	if id, err := s.PutPlan(ctx, "razorpay", key, "plan_late"); err != nil || id != first {
		t.Fatalf("a later PutPlan = %q, %v; want %q", id, err, first)
	}
	// Another key, or another gateway, is another plan.
	if _, err := s.Plan(ctx, "stripe", key); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("Plan under another gateway = %v, want ErrNotFound", err)
	}
	if id, err := s.PutPlan(ctx, "razorpay", key+"x", "plan_other"); err != nil || id != "plan_other" {
		t.Fatalf("PutPlan under another key = %q, %v", id, err)
	}
}

// openSubPages reads every page of the open subscriptions, limit at a
// time, checking each page's size and that only the last says it is.
func openSubPages(t *testing.T, s SubscriptionStore, limit int) [][]subscription.Subscription {
	t.Helper()
	var pages [][]subscription.Subscription
	after := ""
	for {
		subs, next, err := s.OpenSubscriptions(ctx, limit, after)
		if err != nil {
			t.Fatalf("OpenSubscriptions(%d, after %q): %v", limit, after, err)
		}
		if len(subs) > limit {
			t.Fatalf("a page of %d holds %d subscriptions", limit, len(subs))
		}
		if len(subs) == 0 && len(pages) > 0 {
			t.Fatalf("page %d is empty: the one before it should have ended the queue", len(pages)+1)
		}
		pages = append(pages, subs)
		if next == "" {
			return pages
		}
		if len(pages) > 100 {
			t.Fatal("OpenSubscriptions never ends")
		}
		after = next
	}
}

func subIDs(subs []subscription.Subscription) []string {
	out := make([]string, len(subs))
	for i, sub := range subs {
		out[i] = sub.ID
	}
	return out
}

// queueDate is where a subscription stands in the open queue.
func queueDate(sub subscription.Subscription) int64 {
	if sub.Deadline.IsZero() {
		return sub.CreatedAt.Unix()
	}
	return sub.Deadline.Unix()
}

// testOpenSubscriptions: every subscription not final, pending or live,
// is listed once, earliest deadline first, in pages of every size, whole;
// a final one is not, and one that becomes final leaves. Orders are not
// listed there, nor subscriptions among the orders' queues.
func testOpenSubscriptions(t *testing.T, s SubscriptionStore, clock *Clock) {
	var want []string
	byID := map[string]*subscription.Subscription{}
	for i, st := range subscription.Statuses {
		sub := createSub(t, s, clock, func(sub *subscription.Subscription) {
			sub.Status = st
			// Deadlines out of the statuses' order; one with none, dated
			// by its creation.
			sub.Deadline = clock.Now().Add(time.Duration((i*5)%9) * time.Minute)
			if st == subscription.Active {
				sub.Deadline = time.Time{}
				sub.CreatedAt = clock.Now().Add(-time.Hour)
			}
			sub.Outbox = []order.Owed{{Effect: order.Effect{OrderID: sub.ID, Version: 1, Type: "subscription.active", OwedAt: clock.Now()}, State: order.EffectOwed}}
		})
		byID[sub.ID] = sub
		if !st.Final() {
			want = append(want, sub.ID)
		}
	}
	o := NewOrder(clock)
	mustCreate(t, s, o)
	slices.Sort(want)
	for _, limit := range []int{1, 2, 3, 100} {
		pages := openSubPages(t, s, limit)
		all := slices.Concat(pages...)
		if !slices.IsSortedFunc(all, func(a, b subscription.Subscription) int { return int(queueDate(a) - queueDate(b)) }) {
			t.Fatalf("limit %d: not earliest deadline first: %v", limit, subIDs(all))
		}
		got := subIDs(all)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: listed %v, want %v", limit, got, want)
		}
		if fewest := (len(want) + limit - 1) / limit; len(pages) < fewest {
			t.Fatalf("limit %d: %d pages for %d subscriptions", limit, len(pages), len(want))
		}
	}
	// They come whole.
	for _, sub := range slices.Concat(openSubPages(t, s, 100)...) {
		if d := sameSub(sub, *byID[sub.ID]); d != "" {
			t.Fatalf("listed: %s", d)
		}
	}

	// The orders' queues hold no subscription, and this one no order.
	rs := reconcileStore(t, s)
	orders, _, err := rs.OpenPastDeadline(ctx, clock.Now().Add(48*time.Hour), 100, "")
	if err != nil || !slices.Equal(ids(orders), []string{o.ID}) {
		t.Fatalf("OpenPastDeadline = %v, %v; want only the order", ids(orders), err)
	}
	if due, _, err := rs.EffectsDue(ctx, clock.Now().Add(48*time.Hour), 100, ""); err != nil || len(due) != 0 {
		t.Fatalf("EffectsDue = %v, %v; want no subscription there", ids(due), err)
	}

	// One that becomes final leaves; one that moves between live statuses
	// stays.
	for _, sub := range byID {
		switch sub.Status {
		case subscription.Active:
			if err := s.MoveSubscription(ctx, subMoveTo(*sub, subscription.Canceled)); err != nil {
				t.Fatal(err)
			}
			want = slices.DeleteFunc(want, func(id string) bool { return id == sub.ID })
		case subscription.PastDue:
			if err := s.MoveSubscription(ctx, subMoveTo(*sub, subscription.Halted)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := subIDs(slices.Concat(openSubPages(t, s, 2)...))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after moves: listed %v, want %v", got, want)
	}

	if _, _, err := s.OpenSubscriptions(ctx, 0, ""); err == nil {
		t.Fatal("a page of 0 subscriptions was accepted")
	}
	if _, _, err := s.OpenSubscriptions(ctx, 1, "not-a-cursor"); err == nil {
		t.Fatal("a malformed cursor was accepted")
	}
	// A cursor of the orders' open queue is not one of this queue.
	mustCreate(t, s, NewOrder(clock))
	_, next, err := rs.OpenPastDeadline(ctx, clock.Now().Add(48*time.Hour), 1, "")
	if err != nil || next == "" {
		t.Fatalf("OpenPastDeadline's first page: next %q, %v", next, err)
	}
	if _, _, err := s.OpenSubscriptions(ctx, 1, next); err == nil {
		t.Fatal("the orders' cursor was accepted")
	}
}

// testOpenSubscriptionPagesSurviveMoves: subscriptions that move between
// pages of a walk (their date in the queue does not change) are each
// listed once, and none is lost.
func testOpenSubscriptionPagesSurviveMoves(t *testing.T, s SubscriptionStore, clock *Clock) {
	var subs []*subscription.Subscription
	for i := range 6 {
		subs = append(subs, createSub(t, s, clock, func(sub *subscription.Subscription) {
			sub.Status = subscription.Active
			sub.Deadline = clock.Now().Add(time.Duration(i) * time.Minute)
		}))
	}
	first, next, err := s.OpenSubscriptions(ctx, 2, "")
	if err != nil || len(first) != 2 || next == "" {
		t.Fatalf("first page: %v %q %v", subIDs(first), next, err)
	}
	// Every one moves, the listed and those still to list.
	for _, sub := range subs {
		m := subMoveTo(*sub, subscription.PastDue)
		m.Next.UpdatedAt = clock.Now().Add(time.Hour)
		if err := s.MoveSubscription(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	seen := subIDs(first)
	for next != "" {
		var page []subscription.Subscription
		if page, next, err = s.OpenSubscriptions(ctx, 2, next); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, subIDs(page)...)
	}
	want := make([]string, len(subs))
	for i, sub := range subs {
		want[i] = sub.ID
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("walked %v, want each of %v once, in deadline order", seen, want)
	}
}

// testListSubscriptions: the owner's listing returns exactly the
// subscriptions in a status (or all), each once, across pages of every
// size, whole; no order, event record or plan is listed.
func testListSubscriptions(t *testing.T, s SubscriptionStore, clock *Clock) {
	var all []*subscription.Subscription
	for i, st := range []subscription.Status{
		subscription.Active, subscription.Active, subscription.Pending, subscription.Canceled,
		subscription.PastDue, subscription.Active, subscription.Expired,
	} {
		all = append(all, createSub(t, s, clock, func(sub *subscription.Subscription) {
			sub.Status = st
			sub.CreatedAt = clock.Now().Add(time.Duration(i) * 90 * time.Minute)
			sub.History = history(clock)[:1]
		}))
	}
	mustCreate(t, s, NewOrder(clock))
	if err := s.RecordEvent(ctx, *event(clock, "evt_list")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPlan(ctx, "razorpay", "k", "plan_1"); err != nil {
		t.Fatal(err)
	}
	for _, st := range []subscription.Status{"", subscription.Active, subscription.Canceled, subscription.Halted} {
		var want []string
		for _, sub := range all {
			if st == "" || sub.Status == st {
				want = append(want, sub.ID)
			}
		}
		slices.Sort(want)
		for _, limit := range []int{1, 2, 5, 100} {
			var pages [][]subscription.Subscription
			after := ""
			for {
				subs, next, err := s.ListSubscriptions(ctx, st, limit, after)
				if err != nil {
					t.Fatalf("ListSubscriptions(%q, %d, after %q): %v", st, limit, after, err)
				}
				if len(subs) > limit {
					t.Fatalf("a page of %d holds %d", limit, len(subs))
				}
				if len(pages) > 0 && len(pages[len(pages)-1]) == 0 {
					t.Fatalf("page %d is empty but the listing goes on", len(pages))
				}
				if !slices.IsSortedFunc(subs, func(a, b subscription.Subscription) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
					t.Fatalf("a page is not newest first: %v", subIDs(subs))
				}
				pages = append(pages, subs)
				if next == "" {
					break
				}
				if len(pages) > 100 {
					t.Fatal("ListSubscriptions never ends")
				}
				after = next
			}
			got := subIDs(slices.Concat(pages...))
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("status %q, limit %d: listed %v, want %v", st, limit, got, want)
			}
		}
	}
	listed, _, err := s.ListSubscriptions(ctx, subscription.Canceled, 10, "")
	if err != nil || len(listed) != 1 {
		t.Fatalf("canceled: %v %v", subIDs(listed), err)
	}
	if d := sameSub(listed[0], *all[3]); d != "" {
		t.Fatalf("listed: %s", d)
	}
	// The orders' listing lists no subscription.
	if l, ok := any(s).(shop.OrderLister); ok {
		orders, _, err := l.ListOrders(ctx, shop.OrderFilter{}, 100, "")
		for _, o := range orders {
			if !order.ValidID(o.ID) {
				t.Fatalf("ListOrders listed %q", o.ID)
			}
		}
		if err != nil || len(orders) != 1 {
			t.Fatalf("ListOrders = %v, %v; want the one order", ids(orders), err)
		}
	}
	if _, _, err := s.ListSubscriptions(ctx, "", 0, ""); err == nil {
		t.Fatal("a page of 0 subscriptions was accepted")
	}
	if _, _, err := s.ListSubscriptions(ctx, "", 1, "not-a-cursor"); err == nil {
		t.Fatal("a malformed cursor was accepted")
	}
}

func testSubStoreError(t *testing.T, s SubscriptionStore, clock *Clock) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	sub := NewSubscription(clock)
	ev := event(clock, "evt_x")
	for name, err := range map[string]error{
		"CreateSubscription":      s.CreateSubscription(canceled, sub),
		"GetSubscription":         errOf(s.GetSubscription(canceled, sub.ID)),
		"GetSubscriptionForEvent": func() error { _, _, err := s.GetSubscriptionForEvent(canceled, sub.ID, "stripe", "evt_x"); return err }(),
		"FindSubscriptionByRef":   errOf(s.FindSubscriptionByRef(canceled, "stripe", "sub_x")),
		"FindByRef":               errOf(s.FindByRef(canceled, "stripe", "sub_x")),
		"MoveSubscription":        s.MoveSubscription(canceled, subscription.Move{Next: subMoveTo(*sub, subscription.Active).Next, From: sub.Status, Event: ev, Refs: []string{"sub_x"}}),
		"MoveSubscription alone":  s.MoveSubscription(canceled, subMoveTo(*sub, subscription.Active)),
		"ClearSubscriptionReplay": s.ClearSubscriptionReplay(canceled, sub.ID, []string{"sub_x"}),
		"Plan":                    errOf(s.Plan(canceled, "razorpay", "k")),
		"PutPlan":                 errOf(s.PutPlan(canceled, "razorpay", "k", "plan_1")),
		"OpenSubscriptions":       func() error { _, _, err := s.OpenSubscriptions(canceled, 10, ""); return err }(),
		"ListSubscriptions":       func() error { _, _, err := s.ListSubscriptions(canceled, "", 10, ""); return err }(),
	} {
		var se *order.StoreError
		if !errors.As(err, &se) {
			t.Errorf("%s on a failing store = %v, want *order.StoreError", name, err)
		}
	}
}
