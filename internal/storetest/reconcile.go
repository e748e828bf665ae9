package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// The cases of what reconciling needs of a store (shop.ReconcileStore):
// the open orders and parked references it walks, its lease and cursors.

func reconcileStore(t *testing.T, s order.Store) shop.ReconcileStore {
	t.Helper()
	rs, ok := s.(shop.ReconcileStore)
	if !ok {
		t.Fatalf("%T is not a shop.ReconcileStore", s)
	}
	return rs
}

// openPages reads every page of the open orders past before, limit at a
// time, checking each page's size and that only the last says it is.
func openPages(t *testing.T, rs shop.ReconcileStore, before time.Time, limit int) [][]order.Order {
	t.Helper()
	var pages [][]order.Order
	after := ""
	for {
		orders, next, err := rs.OpenPastDeadline(ctx, before, limit, after)
		if err != nil {
			t.Fatalf("OpenPastDeadline(after %q): %v", after, err)
		}
		if len(orders) > limit {
			t.Fatalf("a page of %d holds %d orders", limit, len(orders))
		}
		if len(orders) == 0 && len(pages) > 0 {
			t.Fatalf("page %d is empty: the one before it should have ended the queue", len(pages)+1)
		}
		pages = append(pages, orders)
		if next == "" {
			return pages
		}
		if len(pages) > 100 {
			t.Fatal("OpenPastDeadline never ends")
		}
		after = next
	}
}

func ids(orders []order.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}

// createWith creates a pending order changed by edit.
func createWith(t *testing.T, s order.Store, clock *Clock, edit func(*order.Order)) *order.Order {
	t.Helper()
	o := NewOrder(clock)
	edit(o)
	mustCreate(t, s, o)
	return o
}

// testOpenPastDeadline: the orders open past their deadline come back
// whole, earliest deadline first, across pages of every size; no other
// order does.
func testOpenPastDeadline(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	now := clock.Now()
	var want []string
	for i, late := range []time.Duration{50, 10, 30, 30, 20, 40} {
		o := createWith(t, s, clock, func(o *order.Order) {
			o.Deadline = now.Add(-late * time.Minute)
			if i%2 == 1 {
				o.Status = order.Processing
			}
		})
		want = append(want, o.ID)
	}
	// Not due: open but with time left (or its deadline in the query's
	// own second), closed, or with no deadline at all.
	createWith(t, s, clock, func(o *order.Order) { o.Deadline = now.Add(time.Minute) })
	createWith(t, s, clock, func(o *order.Order) { o.Deadline = now })
	createWith(t, s, clock, func(o *order.Order) { o.Deadline = time.Time{} })
	for _, st := range []order.Status{order.Paid, order.Expired, order.Failed, order.Refunded, order.AmountMismatch} {
		createWith(t, s, clock, func(o *order.Order) { o.Status, o.Deadline = st, now.Add(-time.Hour) })
	}

	for _, limit := range []int{1, 3, 4, 6, 100} {
		pages := openPages(t, rs, now, limit)
		all := slices.Concat(pages...)
		if got := slices.Sorted(slices.Values(ids(all))); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("limit %d: listed %v, want %v", limit, got, want)
		}
		if wantPages := (len(want) + limit - 1) / limit; len(pages) != wantPages {
			t.Errorf("limit %d: %d pages, want %d (the last full page ends the queue)", limit, len(pages), wantPages)
		}
		if !slices.IsSortedFunc(all, func(a, b order.Order) int { return a.Deadline.Compare(b.Deadline) }) {
			t.Errorf("limit %d: not earliest deadline first: %v", limit, all)
		}
	}
	// The orders come whole: reconcile needs no second read to ask the
	// gateway about them.
	orders, _, err := rs.OpenPastDeadline(ctx, now, 1, "")
	if err != nil || len(orders) != 1 {
		t.Fatalf("first page: %v %v", orders, err)
	}
	if got := mustGet(t, s, orders[0].ID); !got.Deadline.Equal(orders[0].Deadline) || got.Amount != orders[0].Amount ||
		got.TokenHash != orders[0].TokenHash || len(orders[0].Items) != 1 || orders[0].Email != got.Email {
		t.Fatalf("listed %+v\nstored %+v", orders[0], *got)
	}
	// Later, the order with time left is due too.
	if all := slices.Concat(openPages(t, rs, now.Add(2*time.Minute), 100)...); len(all) != len(want)+2 {
		t.Fatalf("two minutes on, %d orders listed, want %d", len(all), len(want)+2)
	}
}

// testOpenPagesSurviveMoves: a page cursor stays good when the order it
// ended on leaves the queue before the next page is read.
func testOpenPagesSurviveMoves(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	now := clock.Now()
	var want []string
	for i := range 5 {
		o := createWith(t, s, clock, func(o *order.Order) { o.Deadline = now.Add(-time.Duration(10-i) * time.Minute) })
		want = append(want, o.ID)
	}
	first, next, err := rs.OpenPastDeadline(ctx, now, 2, "")
	if err != nil || !slices.Equal(ids(first), want[:2]) || next == "" {
		t.Fatalf("first page %v, next %q, %v; want %v", ids(first), next, err, want[:2])
	}
	for _, o := range first {
		if err := s.Move(ctx, moveTo(o, order.Expired)); err != nil {
			t.Fatal(err)
		}
	}
	rest, next, err := rs.OpenPastDeadline(ctx, now, 10, next)
	if err != nil || !slices.Equal(ids(rest), want[2:]) || next != "" {
		t.Fatalf("after the first page's orders left: %v, next %q, %v; want %v", ids(rest), next, err, want[2:])
	}
	if again := slices.Concat(openPages(t, rs, now, 10)...); !slices.Equal(ids(again), want[2:]) {
		t.Fatalf("from the start: %v, want %v", ids(again), want[2:])
	}
	if _, _, err := rs.OpenPastDeadline(ctx, now, 2, "not-a-cursor"); err == nil {
		t.Fatal("a cursor that no page ended on was taken")
	}
	if _, _, err := rs.OpenPastDeadline(ctx, now, 0, ""); err == nil {
		t.Fatal("a page of no orders was asked for and not refused")
	}
}

// testOpenQueueFollowsStatus: an order is listed exactly while it is
// pending or processing, whatever moves it there or away.
func testOpenQueueFollowsStatus(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	now := clock.Now()
	listed := func(id string) (order.Order, bool) {
		t.Helper()
		for _, o := range slices.Concat(openPages(t, rs, now, 100)...) {
			if o.ID == id {
				return o, true
			}
		}
		return order.Order{}, false
	}
	// A declined order of an older release, stored as failed: not open,
	// until it is moved back to pending.
	o := createWith(t, s, clock, func(o *order.Order) { o.Status, o.Deadline = order.Failed, now.Add(-time.Hour) })
	cur := *o
	for _, step := range []struct {
		to   order.Status
		open bool
	}{
		{order.Pending, true}, {order.Pending, true}, {order.Processing, true}, {order.Processing, true},
		{order.Paid, false}, {order.Refunded, false},
	} {
		m := moveTo(cur, step.to)
		m.Next.FailureReason = fmt.Sprintf("step %d", m.Next.Version)
		if err := s.Move(ctx, m); err != nil {
			t.Fatalf("%s → %s: %v", cur.Status, step.to, err)
		}
		cur = m.Next
		got, ok := listed(o.ID)
		if ok != step.open {
			t.Fatalf("after the move to %s (v%d): listed %v, want %v", step.to, cur.Version, ok, step.open)
		}
		if ok && (got.Status != cur.Status || got.Version != cur.Version || got.FailureReason != cur.FailureReason) {
			t.Fatalf("listed as %s v%d %q, stored %s v%d %q", got.Status, got.Version, got.FailureReason, cur.Status, cur.Version, cur.FailureReason)
		}
	}
	// Expired is not open either, even though late money may still move it.
	e := createWith(t, s, clock, func(o *order.Order) { o.Deadline = now.Add(-time.Hour) })
	if err := s.Move(ctx, moveTo(*e, order.Expired)); err != nil {
		t.Fatal(err)
	}
	if _, ok := listed(e.ID); ok {
		t.Fatal("an expired order is still listed as open")
	}
}

// history is a history with every field of a change used.
func history(clock *Clock) []order.Change {
	now := clock.Now()
	return []order.Change{
		{At: now.Add(-2 * time.Minute), EventID: "evt_1", EventType: "checkout.session.completed", Source: order.SourceWebhook,
			From: order.Pending, To: order.Paid},
		{At: now.Add(-time.Minute).Add(123456789), EventID: "rfnd_1", EventType: "charge.refunded", Source: order.SourceOwner,
			Actor: "arn:aws:iam::123456789012:user/owner", From: order.Paid, To: order.PartiallyRefunded},
		{At: now, EventID: "evt_3", EventType: "charge.refunded", Source: order.SourceReconcile, Actor: "local",
			From: order.PartiallyRefunded, To: order.Refunded},
	}
}

// testHistoryKeptWithTheOrder: the history is read with the order, whole
// and in order, and each move writes it with the rest.
func testHistoryKeptWithTheOrder(t *testing.T, s order.Store, clock *Clock) {
	h := history(clock)
	o := createWith(t, s, clock, func(o *order.Order) { o.History = h[:1] })
	if got := mustGet(t, s, o.ID); !slices.EqualFunc(got.History, h[:1], sameChange) {
		t.Fatalf("history read as %+v, want %+v", got.History, h[:1])
	}
	m := moveTo(*o, order.PartiallyRefunded)
	m.Next.History = h[:2]
	if err := s.Move(ctx, m); err != nil {
		t.Fatal(err)
	}
	m = moveTo(m.Next, order.Refunded)
	m.Next.History = h
	m.Event = event(clock, "evt_3")
	if err := s.Move(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, o.ID); !slices.EqualFunc(got.History, h, sameChange) {
		t.Fatalf("after two moves the history reads\n %+v\nwant\n %+v", got.History, h)
	}
	none := createWith(t, s, clock, func(*order.Order) {})
	if got := mustGet(t, s, none.ID); got.History != nil {
		t.Fatalf("an order with no history reads %+v", got.History)
	}
}

func sameChange(a, b order.Change) bool {
	at := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return at && a == b
}

// testParkedRefs: a reference is listed while events are parked under it,
// dated by the first of them, oldest first.
func testParkedRefs(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	park := func(gateway, ref, id string) {
		t.Helper()
		e := order.Event{Gateway: gateway, ID: id, Kind: order.KindPaid, Refs: []string{ref}, Created: clock.Now()}
		if err := s.Park(ctx, gateway, ref, e); err != nil {
			t.Fatal(err)
		}
	}
	list := func(limit int) []shop.ParkedRef {
		t.Helper()
		var all []shop.ParkedRef
		after := ""
		for range 100 {
			refs, next, err := rs.ParkedRefs(ctx, limit, after)
			if err != nil {
				t.Fatalf("ParkedRefs(after %q): %v", after, err)
			}
			if len(refs) > limit {
				t.Fatalf("a page of %d holds %d references", limit, len(refs))
			}
			all = append(all, refs...)
			if after = next; next == "" {
				return all
			}
		}
		t.Fatal("ParkedRefs never ends")
		return nil
	}
	if got := list(10); len(got) != 0 {
		t.Fatalf("nothing parked, listed %+v", got)
	}
	t0 := clock.Now()
	park("stripe", "pi_b", "evt_b1")
	clock.Advance(time.Minute)
	park("razorpay", "pay_a", "evt_a1")
	clock.Advance(time.Minute)
	park("stripe", "pi_c", "evt_c1")
	park("stripe", "pi_b", "evt_b2") // a later event under pi_b keeps its date
	park("stripe", "pi_b", "evt_b1") // and so does a redelivery
	want := []shop.ParkedRef{
		{Gateway: "stripe", Ref: "pi_b", ParkedAt: t0},
		{Gateway: "razorpay", Ref: "pay_a", ParkedAt: t0.Add(time.Minute)},
		{Gateway: "stripe", Ref: "pi_c", ParkedAt: t0.Add(2 * time.Minute)},
	}
	for _, limit := range []int{1, 2, 3, 10} {
		if got := list(limit); !slices.EqualFunc(got, want, sameRef) {
			t.Fatalf("limit %d: listed %+v, want %+v", limit, got, want)
		}
	}
	// Unparking some of a reference's events leaves it listed; the last
	// one takes it off.
	if err := s.Unpark(ctx, "stripe", "pi_b", []string{"evt_b1"}); err != nil {
		t.Fatal(err)
	}
	if got := list(10); !slices.EqualFunc(got, want, sameRef) {
		t.Fatalf("after unparking one of two: %+v", got)
	}
	if err := s.Unpark(ctx, "stripe", "pi_b", []string{"evt_b2"}); err != nil {
		t.Fatal(err)
	}
	if got := list(10); !slices.EqualFunc(got, want[1:], sameRef) {
		t.Fatalf("after unparking the last: %+v, want %+v", got, want[1:])
	}
	// Parked again, it comes back dated anew.
	clock.Advance(time.Minute)
	park("stripe", "pi_b", "evt_b3")
	want = append(want[1:], shop.ParkedRef{Gateway: "stripe", Ref: "pi_b", ParkedAt: clock.Now()})
	if got := list(2); !slices.EqualFunc(got, want, sameRef) {
		t.Fatalf("parked again: %+v, want %+v", got, want)
	}
	if _, _, err := rs.ParkedRefs(ctx, 0, ""); err == nil {
		t.Fatal("a page of no references was asked for and not refused")
	}
	// Parked events expire with the event records, and so does their
	// place in the queue.
	clock.Advance(order.EventRetention + time.Hour)
	if got := list(10); len(got) != 0 {
		t.Fatalf("expired parked events still listed: %+v", got)
	}
}

func sameRef(a, b shop.ParkedRef) bool {
	return a.Gateway == b.Gateway && a.Ref == b.Ref && a.ParkedAt.Equal(b.ParkedAt)
}

// testLease: one holder at a time, however many race for it; the holder
// retakes its own; an expired lease is anyone's; only the holder releases.
func testLease(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	until := clock.Now().Add(10 * time.Minute)
	var wg sync.WaitGroup
	var won atomic.Int64
	var winner atomic.Value
	start := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			holder := fmt.Sprintf("run-%d", i)
			ok, err := rs.TakeLease(ctx, "reconcile", holder, until)
			if err != nil {
				t.Errorf("%s: %v", holder, err)
			}
			if ok {
				won.Add(1)
				winner.Store(holder)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d runs took the lease, want exactly 1", won.Load())
	}
	holder := winner.Load().(string)
	take := func(who string, until time.Time) bool {
		t.Helper()
		ok, err := rs.TakeLease(ctx, "reconcile", who, until)
		if err != nil {
			t.Fatalf("TakeLease(%s): %v", who, err)
		}
		return ok
	}
	if take("cli", until) {
		t.Fatal("another holder took a running lease")
	}
	if ok, err := rs.TakeLease(ctx, "other", "cli", until); err != nil || !ok {
		t.Fatalf("a lease of another name: %v %v", ok, err)
	}
	// A loser's release frees nothing.
	if err := rs.ReleaseLease(ctx, "reconcile", "cli"); err != nil {
		t.Fatal(err)
	}
	if take("cli", until) {
		t.Fatal("a release by another holder freed the lease")
	}
	// The holder retakes its own, and may push it out.
	if !take(holder, until.Add(10*time.Minute)) {
		t.Fatal("the holder could not retake its own lease")
	}
	clock.Advance(15 * time.Minute)
	if take("cli", clock.Now().Add(time.Minute)) {
		t.Fatal("another holder took the lease its holder pushed out")
	}
	// Past its end, the lease is anyone's, and the old holder's release
	// does not free the new holder's.
	clock.Advance(6 * time.Minute)
	if !take("cli", clock.Now().Add(time.Minute)) {
		t.Fatal("an expired lease was not taken")
	}
	if err := rs.ReleaseLease(ctx, "reconcile", holder); err != nil {
		t.Fatal(err)
	}
	if take(holder, clock.Now().Add(time.Minute)) {
		t.Fatal("the old holder's release freed the new holder's lease")
	}
	// Released by its holder, it is free at once.
	if err := rs.ReleaseLease(ctx, "reconcile", "cli"); err != nil {
		t.Fatal(err)
	}
	if !take(holder, clock.Now().Add(time.Minute)) {
		t.Fatal("a released lease was not taken")
	}
	if err := rs.ReleaseLease(ctx, "never-taken", "cli"); err != nil {
		t.Fatalf("releasing a lease nobody holds: %v", err)
	}
}

// testCursors: a cursor reads back what was set last, by name.
func testCursors(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	get := func(name string) string {
		t.Helper()
		v, err := rs.Cursor(ctx, name)
		if err != nil {
			t.Fatalf("Cursor(%s): %v", name, err)
		}
		return v
	}
	set := func(name, value string) {
		t.Helper()
		if err := rs.SetCursor(ctx, name, value); err != nil {
			t.Fatalf("SetCursor(%s): %v", name, err)
		}
	}
	if v := get("missed#stripe"); v != "" {
		t.Fatalf("a cursor never set reads %q", v)
	}
	set("missed#stripe", "evt_100")
	set("missed#razorpay", "1732269600")
	set("missed#stripe", "evt_200")
	if a, b := get("missed#stripe"), get("missed#razorpay"); a != "evt_200" || b != "1732269600" {
		t.Fatalf("cursors read %q and %q", a, b)
	}
	set("missed#stripe", "")
	if v := get("missed#stripe"); v != "" {
		t.Fatalf("a cursor set empty reads %q", v)
	}
}

// effectPages reads every page of a queue of orders, one order a page so
// that every cursor is used.
func effectPages(t *testing.T, list func(limit int, after string) ([]order.Order, string, error)) []order.Order {
	t.Helper()
	var all []order.Order
	after := ""
	for range 100 {
		orders, next, err := list(1, after)
		if err != nil {
			t.Fatalf("after %q: %v", after, err)
		}
		if len(orders) > 1 {
			t.Fatalf("a page of 1 holds %d orders", len(orders))
		}
		all = append(all, orders...)
		if after = next; next == "" {
			return all
		}
	}
	t.Fatal("the queue never ends")
	return nil
}

// setEffects moves o to status `to` (its own for an outbox-only write, as
// a dispatcher's), its outbox edited by edit.
func setEffects(t *testing.T, s order.Store, o *order.Order, to order.Status, edit func([]order.Owed) []order.Owed) {
	t.Helper()
	m := moveTo(*o, to)
	m.Next.Outbox = edit(m.Next.Outbox)
	if err := s.Move(ctx, m); err != nil {
		t.Fatalf("%s: %v", o.ID, err)
	}
	*o = m.Next
}

// testEffectsQueues: an order with effects still to send is listed as due
// once its oldest was owed before the query, oldest first, whatever its
// status, and leaves when they are sent; one whose effects failed (and
// not open) is listed as failed; an open order is in exactly one of the
// open and effects queues, so reconcile finds it in one or the other.
func testEffectsQueues(t *testing.T, s order.Store, clock *Clock) {
	rs := reconcileStore(t, s)
	due := func(before time.Time) []string {
		t.Helper()
		return ids(effectPages(t, func(limit int, after string) ([]order.Order, string, error) {
			return rs.EffectsDue(ctx, before, limit, after)
		}))
	}
	failed := func() []string {
		t.Helper()
		return ids(effectPages(t, func(limit int, after string) ([]order.Order, string, error) {
			return rs.EffectsFailed(ctx, limit, after)
		}))
	}
	open := func(before time.Time) []string {
		t.Helper()
		return ids(slices.Concat(openPages(t, rs, before, 100)...))
	}
	state := func(st string) func([]order.Owed) []order.Owed {
		return func(out []order.Owed) []order.Owed {
			for i := range out {
				if out[i].State == order.EffectOwed || out[i].State == order.EffectClaimed {
					out[i].State, out[i].Attempts = st, out[i].Attempts+1
				}
			}
			return out
		}
	}
	t0 := clock.Now()
	// Paid: the receipt is owed, in the same write as the move.
	paid := createWith(t, s, clock, func(*order.Order) {})
	setEffects(t, s, paid, order.Paid, func(out []order.Owed) []order.Owed {
		return order.AppendOwed(out, order.OwedEffects(*paid, order.Order{ID: paid.ID, Version: paid.Version + 1, Status: order.Paid}, t0))
	})
	if got := mustGet(t, s, paid.ID); len(got.Outbox) != 1 || got.Outbox[0].Mail != order.MailReceipt {
		t.Fatalf("the paid order's outbox reads %+v", got.Outbox)
	}
	if got := due(t0); len(got) != 0 {
		t.Fatalf("owed in the query's own second, already listed: %v", got)
	}
	clock.Advance(time.Minute)
	// A second order, owed later, open and processing: listed after the
	// first, and not in the open queue while it owes.
	proc := createWith(t, s, clock, func(o *order.Order) { o.Deadline = clock.Now().Add(-time.Minute) })
	setEffects(t, s, proc, order.Processing, func(out []order.Owed) []order.Owed {
		return order.AppendOwed(out, []order.Effect{{OrderID: proc.ID, Version: proc.Version + 1, Type: "order.processing", OwedAt: clock.Now()}})
	})
	later := clock.Now().Add(2 * time.Minute)
	if got := due(later); !slices.Equal(got, []string{paid.ID, proc.ID}) {
		t.Fatalf("due: %v, want %v (oldest owed first)", got, []string{paid.ID, proc.ID})
	}
	if got := due(t0.Add(time.Second)); !slices.Equal(got, []string{paid.ID}) {
		t.Fatalf("due a second after the first was owed: %v, want only %s", got, paid.ID)
	}
	// The orders come whole: Dispatch and reconcile's question need them.
	if got, _, err := rs.EffectsDue(ctx, later, 1, ""); err != nil || len(got) != 1 || len(got[0].Outbox) != 1 || got[0].Email == "" {
		t.Fatalf("first page %+v %v", got, err)
	}
	if slices.Contains(open(later), proc.ID) {
		t.Fatal("an open order owing effects is in both queues")
	}
	// A claimed effect is still to send: a crashed sender's is retried.
	setEffects(t, s, paid, order.Paid, state(order.EffectClaimed))
	if got := due(later); !slices.Contains(got, paid.ID) {
		t.Fatalf("a claimed effect is not due: %v", got)
	}
	// Sent, it leaves; the open order goes back to the open queue.
	setEffects(t, s, paid, order.Paid, state(order.EffectSent))
	setEffects(t, s, proc, order.Processing, state(order.EffectSent))
	if got := due(later); len(got) != 0 {
		t.Fatalf("sent, still due: %v", got)
	}
	if !slices.Contains(open(later), proc.ID) {
		t.Fatal("the open order whose effects went is not in the open queue")
	}
	if got := failed(); len(got) != 0 {
		t.Fatalf("nothing failed, listed %v", got)
	}
	// Failed: listed for the owner, and no longer due. A failed effect of
	// an open order leaves it in the open queue, which reconcile must walk.
	refunded := createWith(t, s, clock, func(*order.Order) {})
	setEffects(t, s, refunded, order.Paid, func(out []order.Owed) []order.Owed {
		return order.AppendOwed(out, []order.Effect{{OrderID: refunded.ID, Version: refunded.Version + 1, Type: "order.paid", Mail: order.MailReceipt, OwedAt: clock.Now()}})
	})
	setEffects(t, s, refunded, order.Paid, state(order.EffectFailed))
	setEffects(t, s, proc, order.Processing, func(out []order.Owed) []order.Owed {
		out = order.AppendOwed(out, []order.Effect{{OrderID: proc.ID, Version: proc.Version + 1, Type: "order.duplicate_payment", OwedAt: clock.Now()}})
		return state(order.EffectFailed)(out)
	})
	if got := failed(); !slices.Equal(got, []string{refunded.ID}) {
		t.Fatalf("failed: %v, want %v", got, []string{refunded.ID})
	}
	if got := due(later); len(got) != 0 {
		t.Fatalf("failed effects listed as due: %v", got)
	}
	if !slices.Contains(open(later), proc.ID) {
		t.Fatal("an open order with a failed effect left the open queue")
	}
	// A new effect owed by an order with a failed one makes it due again.
	setEffects(t, s, refunded, order.Refunded, func(out []order.Owed) []order.Owed {
		return order.AppendOwed(out, []order.Effect{{OrderID: refunded.ID, Version: refunded.Version + 1, Type: "order.refunded", Mail: order.MailRefund, OwedAt: clock.Now()}})
	})
	if got, f := due(later), failed(); !slices.Equal(got, []string{refunded.ID}) || len(f) != 0 {
		t.Fatalf("owed again: due %v, failed %v", got, f)
	}
	if _, _, err := rs.EffectsDue(ctx, later, 1, "not-a-cursor"); err == nil {
		t.Fatal("a cursor that no page ended on was taken")
	}
	if _, _, err := rs.EffectsFailed(ctx, 0, ""); err == nil {
		t.Fatal("a page of no orders was asked for and not refused")
	}
}
