package shop_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// refundCall is one request a gateway heard.
type refundCall struct {
	Amount int64
	Key    string
	// Stored is the order as the store held it when the gateway was asked.
	Stored order.Order
}

// gatewayRefunds stands in for a gateway's refund API: idempotent under the
// key (the same key answers the same refund), failing while fail is set.
type gatewayRefunds struct {
	st    order.Store
	mu    sync.Mutex
	calls []refundCall
	ids   map[string]string
	fail  error
}

func (g *gatewayRefunds) Refund(ctx context.Context, o order.Order, amount int64, key string) (string, error) {
	stored, err := g.st.GetOrder(ctx, o.ID)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, refundCall{Amount: amount, Key: key, Stored: *stored})
	if g.fail != nil {
		return "", g.fail
	}
	if g.ids == nil {
		g.ids = map[string]string{}
	}
	if id, ok := g.ids[key]; ok {
		return id, nil
	}
	id := fmt.Sprintf("re_%d", len(g.ids)+1)
	g.ids[key] = id
	return id, nil
}

func (g *gatewayRefunds) asked() []refundCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]refundCall(nil), g.calls...)
}

var refundNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// paidOrder is an order of 4000 usd paid through pi_<name>, moved to paid by
// its webhook as in production.
func paidOrder(t *testing.T, svc *shop.Service, name string) *order.Order {
	t.Helper()
	o := newOrder(t, svc.Store, refundNow.Add(-time.Hour), "cs_"+name)
	out, got, err := svc.ApplyEvent(ctx, paidBySession(o, "cs_"+name))
	if err != nil || out != shop.Moved || got.Status != order.Paid {
		t.Fatalf("paying %s: %s %v", name, out, err)
	}
	return got
}

func refundService(st order.Store, effects order.Effects) (*shop.Service, *gatewayRefunds) {
	gw := &gatewayRefunds{st: st}
	svc := shop.New(shop.Service{Store: st, Now: func() time.Time { return refundNow }, Effects: effects,
		Refunders: map[string]shop.Refunder{"stripe": gw}})
	return svc, gw
}

func mustGetOrder(t *testing.T, st order.Store, id string) *order.Order {
	t.Helper()
	o, err := st.GetOrder(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRefund_RecordedBeforeTheGatewayAndMovedOnlyByItsConfirmation: the
// request (and its history entry, with the actor) is stored before the
// gateway is asked, once, under the order's key for seq 1; the order stays
// paid, with no effect owed, until the gateway's refund event moves it.
func TestRefund_RecordedBeforeTheGatewayAndMovedOnlyByItsConfirmation(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	var effects []order.Status
	svc, gw := refundService(st, func(_ context.Context, _, after order.Order) { effects = append(effects, after.Status) })
	o := paidOrder(t, svc, "a")
	effects = nil

	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 1000, Actor: "arn:aws:iam::123456789012:user/owner"})
	if err != nil {
		t.Fatal(err)
	}
	calls := gw.asked()
	if len(calls) != 1 || calls[0].Amount != 1000 || calls[0].Key != "jampay-refund-"+o.ID+"-1" {
		t.Fatalf("the gateway heard %+v, want once: 1000 under jampay-refund-%s-1", calls, o.ID)
	}
	if seen := calls[0].Stored.Refunds; len(seen) != 1 || seen[0].Amount != 1000 || seen[0].RefundID != "" {
		t.Fatalf("when the gateway was asked the store held refunds %+v: the request must be written first", seen)
	}
	if res.Seq != 1 || res.Amount != 1000 || res.RefundID != "re_1" || res.Retried || res.Unrecorded != nil {
		t.Fatalf("result %+v", res)
	}
	got := mustGetOrder(t, st, o.ID)
	if got.Status != order.Paid || len(effects) != 0 {
		t.Fatalf("after the request: %s, effects %v; only the gateway's confirmation moves the order", got.Status, effects)
	}
	if r := got.Refunds; len(r) != 1 || r[0].RefundID != "re_1" || r[0].Actor != "arn:aws:iam::123456789012:user/owner" || !r[0].At.Equal(refundNow) {
		t.Fatalf("stored refunds %+v", r)
	}
	last := got.History[len(got.History)-1]
	want := order.Change{At: refundNow, EventID: "refund_1", EventType: order.EventRefundRequested, Source: order.SourceOwner,
		Actor: "arn:aws:iam::123456789012:user/owner", From: order.Paid, To: order.Paid}
	if last != want {
		t.Fatalf("history ends with %+v, want %+v", last, want)
	}
	if left := got.Refundable(); left != 3000 {
		t.Fatalf("refundable %d, want 3000", left)
	}

	confirm := order.Event{Gateway: "stripe", ID: "evt_refund_a", Type: "charge.refunded", Kind: order.KindRefunded,
		OrderID: o.ID, PaymentRef: "pi_cs_a", Amount: 4000, Currency: "usd", Refunded: 1000}
	out, moved, err := svc.ApplyEvent(ctx, confirm)
	if err != nil || out != shop.Moved || moved.Status != order.PartiallyRefunded {
		t.Fatalf("the confirmation: %s %v", out, err)
	}
	if len(effects) != 1 || effects[0] != order.PartiallyRefunded {
		t.Fatalf("effects %v, want one for partially_refunded", effects)
	}
	if left := moved.Refundable(); left != 3000 || len(moved.Refunds) != 1 {
		t.Fatalf("after the confirmation: refundable %d, refunds %+v; the confirmed refund must count once", left, moved.Refunds)
	}
}

// racingStore holds the first n reads of an order until all n are made,
// so that n refunds decide from the same version and race for the write.
type racingStore struct {
	*memstore.Store
	mu      sync.Mutex
	waiting int
	release chan struct{}
}

func (s *racingStore) GetOrder(ctx context.Context, id string) (*order.Order, error) {
	o, err := s.Store.GetOrder(ctx, id)
	s.mu.Lock()
	if s.waiting > 0 {
		s.waiting--
		if s.waiting == 0 {
			close(s.release)
		}
		s.mu.Unlock()
		<-s.release
		return o, err
	}
	s.mu.Unlock()
	return o, err
}

// TestRefund_TwoTerminalsAtOnceNeverRefundMoreThanPaid: two refunds read
// the same paid order of 4000 and together ask 5000: one is stored and
// sent, the other loses the write, reads again and is refused before any
// gateway call.
func TestRefund_TwoTerminalsAtOnceNeverRefundMoreThanPaid(t *testing.T) {
	for _, amounts := range [][2]int64{{3000, 2000}, {2500, 2500}} {
		t.Run(fmt.Sprint(amounts), func(t *testing.T) {
			st := &racingStore{Store: memstore.New(func() time.Time { return refundNow })}
			svc, gw := refundService(st, nil)
			o := paidOrder(t, svc, "race")
			st.waiting, st.release = 2, make(chan struct{})

			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, amount := range amounts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: amount, Actor: fmt.Sprint("terminal-", i)})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch code := order.ErrorCode(err); {
				case err == nil:
					ok++
				case code != order.CodeOverRefund && code != order.CodeRefundPending:
					t.Fatalf("the losing terminal: %v, want over_refund or refund_pending", err)
				}
			}
			got := mustGetOrder(t, st, o.ID)
			calls := gw.asked()
			if ok != 1 || len(got.Refunds) != 1 || len(calls) != 1 || calls[0].Key != "jampay-refund-"+o.ID+"-1" {
				t.Fatalf("%d succeeded, stored %+v, gateway heard %+v: want exactly one refund", ok, got.Refunds, calls)
			}
		})
	}
}

// TestRefund_TwoTerminalsRefundingAllAskOnce: two "refund everything" at
// once reserve one request; the loser either finds nothing left or, if the
// winner has not recorded the gateway's answer yet, asks again for the
// same request under the same key. Never a second refund.
func TestRefund_TwoTerminalsRefundingAllAskOnce(t *testing.T) {
	st := &racingStore{Store: memstore.New(func() time.Time { return refundNow })}
	svc, gw := refundService(st, nil)
	o := paidOrder(t, svc, "all")
	st.waiting, st.release = 2, make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"})
		}()
	}
	wg.Wait()
	got := mustGetOrder(t, st, o.ID)
	if len(got.Refunds) != 1 || got.Refunds[0].Amount != 4000 || got.Refundable() != 0 {
		t.Fatalf("stored %+v, refundable %d", got.Refunds, got.Refundable())
	}
	for _, c := range gw.asked() {
		if c.Key != "jampay-refund-"+o.ID+"-1" || c.Amount != 4000 {
			t.Fatalf("the gateway heard %+v: a second refund", c)
		}
	}
}

// TestRefund_MoreThanIsLeftIsRefusedBeforeTheGateway: pending requests
// count, so after 3000 asked (not yet confirmed) 1500 is refused, with
// nothing written and nothing asked; what is left may still be asked.
func TestRefund_MoreThanIsLeftIsRefusedBeforeTheGateway(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	svc, gw := refundService(st, nil)
	o := paidOrder(t, svc, "over")
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 5000, Actor: "local"}); order.ErrorCode(err) != order.CodeOverRefund {
		t.Fatalf("5000 of 4000: %v, want over_refund", err)
	}
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 3000, Actor: "local"}); err != nil {
		t.Fatal(err)
	}
	before := mustGetOrder(t, st, o.ID)
	_, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 1500, Actor: "local"})
	if order.ErrorCode(err) != order.CodeOverRefund {
		t.Fatalf("1500 with 3000 of 4000 pending: %v, want over_refund", err)
	}
	if after := mustGetOrder(t, st, o.ID); after.Version != before.Version || len(gw.asked()) != 1 {
		t.Fatalf("a refused refund wrote v%d→v%d or asked the gateway (%d calls)", before.Version, after.Version, len(gw.asked()))
	}
	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"})
	if err != nil || res.Amount != 1000 || res.Seq != 2 {
		t.Fatalf("the rest: %+v %v, want 1000 as request 2", res, err)
	}
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"}); order.ErrorCode(err) != order.CodeOverRefund {
		t.Fatalf("with nothing left: %v, want over_refund", err)
	}
}

// TestRefund_OnlyAPaidOrderIsRefunded: unknown, unpaid and disputed orders
// are refused with their own errors, before anything is written or asked.
func TestRefund_OnlyAPaidOrderIsRefunded(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	svc, gw := refundService(st, nil)
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: order.NewID(), Actor: "local"}); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v, want order_not_found", err)
	}
	unpaid := newOrder(t, st, refundNow, "cs_unpaid")
	disputed := paidOrder(t, svc, "disputed")
	if _, _, err := svc.ApplyEvent(ctx, order.Event{Gateway: "stripe", ID: "evt_dp", Kind: order.KindDisputeOpened,
		OrderID: disputed.ID, PaymentRef: "pi_cs_disputed", Dispute: "dp_1"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*order.Order{unpaid, disputed} {
		before := mustGetOrder(t, st, o.ID)
		_, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 100, Actor: "local"})
		if order.ErrorCode(err) != order.CodeNotRefundable {
			t.Errorf("%s order: %v, want not_refundable", before.Status, err)
		}
		if after := mustGetOrder(t, st, o.ID); after.Version != before.Version {
			t.Errorf("%s order written by a refused refund", before.Status)
		}
	}
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: unpaid.ID, Amount: -1}); order.ErrorCode(err) != order.CodeInvalidAmount {
		t.Errorf("a negative amount: %v", err)
	}
	if n := len(gw.asked()); n != 0 {
		t.Fatalf("the gateway was asked %d times", n)
	}
}

// TestRefund_AGatewayFailureIsRetriedUnderTheSameKey: the request outlives
// the failure; running the refund again asks for the same request under
// the same key rather than reserving a second, and another amount waits
// until it is answered.
func TestRefund_AGatewayFailureIsRetriedUnderTheSameKey(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	svc, gw := refundService(st, nil)
	o := paidOrder(t, svc, "retry")
	gw.fail = errors.New("stripe: create refund: 503 api_error")
	_, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 1500, Actor: "local"})
	if order.ErrorCode(err) != order.CodeGatewayError || !errors.Is(err, gw.fail) {
		t.Fatalf("a failing gateway: %v, want gateway_error wrapping the cause", err)
	}
	if got := mustGetOrder(t, st, o.ID); len(got.Refunds) != 1 || got.Refunds[0].RefundID != "" || got.Refundable() != 2500 {
		t.Fatalf("after the failure: %+v, refundable %d; the request must stay, counted", got.Refunds, got.Refundable())
	}
	gw.fail = nil
	// Within a moment of the request, it is the writer's to answer.
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"}); order.ErrorCode(err) != order.CodeRefundPending {
		t.Fatalf("asked again at once: %v, want refund_pending (the first is in flight)", err)
	}
	svc.Now = func() time.Time { return refundNow.Add(time.Minute) }
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 500, Actor: "local"}); order.ErrorCode(err) != order.CodeRefundPending {
		t.Fatalf("another amount while #1 is unanswered: %v, want refund_pending", err)
	}
	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"})
	if err != nil || !res.Retried || res.Seq != 1 || res.Amount != 1500 || res.RefundID != "re_1" {
		t.Fatalf("the retry: %+v %v", res, err)
	}
	calls := gw.asked()
	if len(calls) != 2 || calls[0].Key != calls[1].Key || calls[1].Amount != 1500 {
		t.Fatalf("the gateway heard %+v, want the same request twice under one key", calls)
	}
	got := mustGetOrder(t, st, o.ID)
	if len(got.Refunds) != 1 || got.Refunds[0].RefundID != "re_1" || got.Refundable() != 2500 {
		t.Fatalf("after the retry: %+v, refundable %d; reserved twice?", got.Refunds, got.Refundable())
	}
	if n := len(got.History); got.History[n-1].EventID != "refund_1" {
		t.Fatalf("the retry wrote history %+v", got.History[n-1])
	}
}

// TestRefund_ARefusalFreesTheRequest: a refund the gateway refuses for good
// is marked refused (in the history too) and stops counting; the next
// request gets a new seq, and so a new key.
func TestRefund_ARefusalFreesTheRequest(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	svc, gw := refundService(st, nil)
	o := paidOrder(t, svc, "refused")
	gw.fail = order.Errorf(order.CodeRefundRefused, "stripe: create refund: 400 invalid_request_error charge_disputed")
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 4000, Actor: "local"}); order.ErrorCode(err) != order.CodeRefundRefused {
		t.Fatalf("refused: %v", err)
	}
	got := mustGetOrder(t, st, o.ID)
	if len(got.Refunds) != 1 || got.Refunds[0].Refused == "" || got.Refundable() != 4000 {
		t.Fatalf("after the refusal: %+v, refundable %d", got.Refunds, got.Refundable())
	}
	if last := got.History[len(got.History)-1]; last.EventType != order.EventRefundRefused || last.EventID != "refund_1_refused" || last.Actor != "local" {
		t.Fatalf("history ends with %+v", last)
	}
	gw.fail = nil
	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"})
	if err != nil || res.Seq != 2 || res.Retried || res.Amount != 4000 {
		t.Fatalf("after a refusal: %+v %v, want a new request 2 of 4000", res, err)
	}
	if calls := gw.asked(); calls[1].Key != "jampay-refund-"+o.ID+"-2" {
		t.Fatalf("second request sent under %s", calls[1].Key)
	}
}

// failingMoves fails every write after the first `allow`.
type failingMoves struct {
	*memstore.Store
	mu    sync.Mutex
	allow int
}

func (s *failingMoves) Move(ctx context.Context, m order.Move) error {
	s.mu.Lock()
	if s.allow == 0 {
		s.mu.Unlock()
		return &order.StoreError{Err: errors.New("throttled")}
	}
	s.allow--
	s.mu.Unlock()
	return s.Store.Move(ctx, m)
}

// TestRefund_AnUnrecordedAnswerIsNotAReasonToRefundAgain: the gateway made
// the refund and the write of its id failed: the call succeeds and says
// so; the next call sends the same key and records the same refund.
func TestRefund_AnUnrecordedAnswerIsNotAReasonToRefundAgain(t *testing.T) {
	st := &failingMoves{Store: memstore.New(func() time.Time { return refundNow }), allow: 1 << 30}
	svc, gw := refundService(st, nil)
	o := paidOrder(t, svc, "unrecorded")
	st.allow = 1 // the request's write, and not the id's
	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Amount: 4000, Actor: "local"})
	if err != nil || res.RefundID != "re_1" || res.Unrecorded == nil {
		t.Fatalf("%+v %v: want the refund made, its id unrecorded, and no error", res, err)
	}
	st.allow = 1 << 30
	svc.Now = func() time.Time { return refundNow.Add(time.Minute) } // past the in-flight moment
	res, err = svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"})
	if err != nil || !res.Retried || res.RefundID != "re_1" || res.Unrecorded != nil {
		t.Fatalf("the next call: %+v %v", res, err)
	}
	if got := mustGetOrder(t, st, o.ID); len(got.Refunds) != 1 || got.Refunds[0].RefundID != "re_1" {
		t.Fatalf("stored %+v", got.Refunds)
	}
	for _, c := range gw.asked() {
		if c.Key != "jampay-refund-"+o.ID+"-1" {
			t.Fatalf("asked under %s: a second refund", c.Key)
		}
	}
}

// TestRefund_NoRefunderForTheGateway: a gateway without keys is a clear
// error, before anything is written.
func TestRefund_NoRefunderForTheGateway(t *testing.T) {
	st := memstore.New(func() time.Time { return refundNow })
	svc, _ := refundService(st, nil)
	o := paidOrder(t, svc, "nokeys")
	svc.Refunders = nil
	if _, err := svc.Refund(ctx, shop.RefundRequest{OrderID: o.ID, Actor: "local"}); order.ErrorCode(err) != order.CodeUnknownGateway {
		t.Fatalf("%v", err)
	}
	if got := mustGetOrder(t, st, o.ID); len(got.Refunds) != 0 {
		t.Fatalf("stored %+v", got.Refunds)
	}
}
