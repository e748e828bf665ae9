package shop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/permute"
	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

const subCatalog = `{"shopName":"Test","products":[
 {"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"},
 {"sku":"club","name":"Jam club","unitAmount":900,"currency":"usd","interval":"month","trialDays":7},
 {"sku":"club-in","name":"Jam club","unitAmount":49900,"currency":"inr","interval":"month"}]}`

// subGateway sells subscriptions: a checkout per subscription, a cancel
// answered with the snapshot a gateway would return.
type subGateway struct {
	gateway
	mu       sync.Mutex
	subCalls int
	subIDs   []string
	subErr   error
	cancels  []bool
}

func (g *subGateway) CreateSubscriptionCheckout(_ context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.subCalls++
	g.subIDs = append(g.subIDs, s.ID)
	if g.subErr != nil {
		return subscription.Checkout{}, g.subErr
	}
	return subscription.Checkout{SessionRef: "cs_sub_" + s.ID[4:], Data: []byte(`{"url":"https://checkout.example/` + s.ID + `"}`),
		Deadline: s.CreatedAt.Add(time.Hour)}, nil
}

func (g *subGateway) CancelSubscription(_ context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	g.mu.Lock()
	g.cancels = append(g.cancels, atPeriodEnd)
	g.mu.Unlock()
	status := "active"
	if !atPeriodEnd {
		status = "canceled"
	}
	return order.Event{ID: fmt.Sprintf("api_%s_%d", s.SubscriptionRef, len(g.cancels)), Type: "subscription.cancel_requested",
		Kind: order.KindSubscription, Source: order.SourceOwner, Created: subNow.Add(time.Hour), Refs: []string{s.SubscriptionRef},
		Sub: &order.SubFacts{Ref: s.SubscriptionRef, Status: status, CancelAtPeriodEnd: atPeriodEnd, PeriodEnd: subNow.AddDate(0, 1, 0)}}, nil
}

var subNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newSubShop(t *testing.T) (*shop.Service, *memstore.Store, *subGateway) {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(subCatalog))
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New(func() time.Time { return subNow })
	gw := &subGateway{}
	svc := shop.New(shop.Service{Store: st, Catalog: cat, Gateways: map[string]shop.Gateway{"stripe": gw, "razorpay": gw},
		Now: func() time.Time { return subNow }})
	return svc, st, gw
}

var subCart = []catalog.Line{{SKU: "club", Quantity: 1}}

func TestSubscriptionCheckout_StoresTheSubscriptionBeforeTheGateway(t *testing.T) {
	svc, st, gw := newSubShop(t)
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart, Email: "a@example.com"})
	if err != nil || res.Subscription == nil || res.Order != nil || gw.subCalls != 1 || gw.calls != 0 {
		t.Fatalf("%+v %v (calls %d/%d)", res, err, gw.subCalls, gw.calls)
	}
	s, err := st.GetSubscription(ctx, res.Subscription.ID)
	if err != nil || s.Status != subscription.Pending || s.Amount != 900 || s.Currency != "usd" || s.Interval != "month" ||
		s.IntervalCount != 1 || s.TrialDays != 7 || s.TotalCount != 0 || s.SessionRef != "cs_sub_"+s.ID[4:] || s.Checkout == "" ||
		!subscription.TokenMatches(s, res.Token) || s.Email != "a@example.com" {
		t.Fatalf("stored %+v, %v", s, err)
	}
	// The checkout is indexed: its events find the subscription.
	if found, err := st.FindSubscriptionByRef(ctx, "stripe", s.SessionRef); err != nil || found.ID != s.ID {
		t.Fatalf("by session: %v %v", found, err)
	}
	// Razorpay's subscription carries its billing-cycle count.
	res, err = svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "razorpay", Lines: []catalog.Line{{SKU: "club-in", Quantity: 1}}})
	if err != nil || res.Subscription.TotalCount != catalog.DefaultTotalCount(catalog.Month, 1) {
		t.Fatalf("razorpay: %+v %v", res.Subscription, err)
	}
}

func TestSubscriptionCheckout_RefusesMixedCartsAndQuantities(t *testing.T) {
	svc, _, gw := newSubShop(t)
	for _, tc := range []struct {
		lines []catalog.Line
		code  order.Code
	}{
		{[]catalog.Line{{SKU: "club", Quantity: 1}, {SKU: "tee-m", Quantity: 1}}, order.CodeMixedCart},
		{[]catalog.Line{{SKU: "club", Quantity: 1}, {SKU: "club-in", Quantity: 1}}, order.CodeMixedCart},
		{[]catalog.Line{{SKU: "club", Quantity: 2}}, order.CodeInvalidQuantity},
	} {
		if _, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: tc.lines}); order.ErrorCode(err) != tc.code {
			t.Errorf("%v: %v, want %s", tc.lines, err, tc.code)
		}
	}
	if gw.subCalls != 0 || gw.calls != 0 {
		t.Fatalf("the gateway was called %d/%d times", gw.subCalls, gw.calls)
	}
}

func TestSubscriptionCheckout_IdempotencyKey(t *testing.T) {
	svc, st, gw := newSubShop(t)
	key := "0123456789abcdef-sub"
	req := shop.CheckoutRequest{Gateway: "stripe", Lines: subCart, IdempotencyKey: key}
	first, err := svc.Checkout(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Checkout(ctx, req)
	if err != nil || !again.Replayed || again.Subscription.ID != first.Subscription.ID || again.Token != first.Token || gw.subCalls != 1 {
		t.Fatalf("replay %+v %v (calls %d)", again, err, gw.subCalls)
	}
	// The same key for a one-off cart is another checkout.
	if _, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: cart, IdempotencyKey: key}); order.ErrorCode(err) != order.CodeIdempotencyReused {
		t.Fatalf("key reused for an order: %v", err)
	}
	// A gateway failure keeps the subscription with the error; a replay
	// asks the gateway again for the same subscription.
	gw.subErr = errors.New("timeout for b@example.com")
	req.IdempotencyKey, req.Email = "0123456789abcdef-two", "b@example.com"
	if _, err := svc.Checkout(ctx, req); !errors.Is(err, shop.ErrGateway) {
		t.Fatalf("gateway failure: %v", err)
	}
	gw.subErr = nil
	res, err := svc.Checkout(ctx, req)
	if err != nil || !res.Replayed || !res.Created {
		t.Fatalf("retry after 502: %+v %v", res, err)
	}
	s, _ := st.GetSubscription(ctx, res.Subscription.ID)
	if s.GatewayError != "" || s.Checkout == "" {
		t.Fatalf("stored after the retry: %+v", s)
	}
}

// A started subscription: the checkout made and completed.
func startedSubscription(t *testing.T, svc *shop.Service) *subscription.Subscription {
	t.Helper()
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Subscription
	a, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_done_" + s.ID, Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: s.ID, SessionRef: s.SessionRef, Refs: []string{s.SessionRef, "sub_" + s.ID[4:]}, Created: subNow,
		Sub: &order.SubFacts{Ref: "sub_" + s.ID[4:]}})
	if err != nil || a.Outcome != shop.Moved || a.Subscription.Status != subscription.Trialing || a.Order != nil {
		t.Fatalf("completed: %+v %v", a, err)
	}
	return a.Subscription
}

func TestApplySubscription_EventsFindItByItsGatewaySubscription(t *testing.T) {
	svc, st, _ := newSubShop(t)
	s := startedSubscription(t, svc)
	// An invoice names the subscription only by Stripe's id: indexed when
	// the session completed.
	a, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_inv", Type: "invoice.paid", Kind: order.KindRenewalPaid,
		Refs: []string{s.SubscriptionRef}, Amount: 900, Currency: "usd", Created: subNow.AddDate(0, 0, 7),
		Sub: &order.SubFacts{Ref: s.SubscriptionRef, Renewal: "in_1", PeriodEnd: subNow.AddDate(0, 1, 7)}})
	if err != nil || a.Outcome != shop.Updated || a.Subscription == nil || !a.Subscription.Evidence.Renewed("in_1") {
		t.Fatalf("%+v %v", a, err)
	}
	got, _ := st.GetSubscription(ctx, s.ID)
	if last := got.History[len(got.History)-1]; last.EventID != "evt_inv" {
		t.Fatalf("history %+v", got.History)
	}
}

// On Razorpay a renewal's payment is indexed too: the payment events
// Razorpay sends for the charge (on an order it made, not jampay) go to
// the subscription, not to a stray order — whether they come after the
// renewal, or before it (parked, then applied by reconcile's sweep).
func TestApplySubscription_RazorpaysPaymentEventsOfARenewalFindIt(t *testing.T) {
	svc, st, _ := newSubShop(t)
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "razorpay", Lines: []catalog.Line{{SKU: "club-in", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Subscription
	captured := func(pay string) order.Event {
		return order.Event{Gateway: "razorpay", ID: "evt_cap_" + pay, Type: "payment.captured", Kind: order.KindPaid,
			Refs: []string{"order_rzp_" + pay, pay}, PaymentRef: pay, Amount: 49900, Currency: "inr"}
	}
	charged := func(pay string, day int) order.Event {
		return order.Event{Gateway: "razorpay", ID: "evt_ch_" + pay, Type: "subscription.charged", Kind: order.KindRenewalPaid,
			SessionRef: s.SessionRef, Refs: []string{s.SessionRef, pay}, PaymentRef: pay, Amount: 49900, Currency: "inr",
			Created: subNow.AddDate(0, 0, day), Sub: &order.SubFacts{Ref: s.SessionRef, Status: "active", Renewal: pay}}
	}
	// Before its renewal: nothing leads to it yet, so it is parked.
	if a, err := svc.Apply(ctx, captured("pay_1")); err != nil || a.Outcome != shop.Parked {
		t.Fatalf("captured before charged: %+v %v", a, err)
	}
	if a, err := svc.Apply(ctx, charged("pay_1", 0)); err != nil || a.Subscription.Status != subscription.Active {
		t.Fatalf("charged: %+v %v", a, err)
	}
	// After its renewal: found through the indexed payment.
	if _, err := svc.Apply(ctx, charged("pay_2", 30)); err != nil {
		t.Fatal(err)
	}
	a, err := svc.Apply(ctx, captured("pay_2"))
	if err != nil || a.Subscription == nil || a.Subscription.ID != s.ID || a.Order != nil || a.Outcome != shop.Unchanged {
		t.Fatalf("captured after charged: %+v %v", a, err)
	}
	// Reconcile's sweep of parked events applies the one that came first.
	svc.Inquirers = map[string]shop.Inquirer{}
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{})
	if err != nil || rep.Replayed != 1 || len(rep.WithoutOrder) != 0 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	got, _ := st.GetSubscription(ctx, s.ID)
	if len(got.Evidence.Renewals) != 2 {
		t.Fatalf("renewals %v", got.Evidence.Renewals)
	}
}

func TestApplySubscription_AnotherCheckoutNeverMovesIt(t *testing.T) {
	svc, _, _ := newSubShop(t)
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Subscription
	// Our id in the metadata, but a session jampay did not make for it.
	a, err := svc.Apply(ctx, order.Event{Gateway: "stripe", ID: "evt_foreign", Type: "checkout.session.completed", Kind: order.KindPaid,
		OrderID: s.ID, SessionRef: "cs_someone_else", Refs: []string{"cs_someone_else"}, Sub: &order.SubFacts{Ref: "sub_x"}})
	if err != nil || a.Outcome != shop.Foreign || a.Subscription.Status != subscription.Pending {
		t.Fatalf("%+v %v", a, err)
	}
}

// Every order of a realistic event set, each delivered twice, through the
// whole apply path on the in-memory store, ends in one state.
func TestApplySubscription_EveryOrderEndsTheSame(t *testing.T) {
	events := func(s *subscription.Subscription) []order.Event {
		ref := "sub_" + s.ID[4:]
		snap := func(id string, day int, status string) order.Event {
			return order.Event{Gateway: "stripe", ID: id, Type: "customer.subscription.updated", Kind: order.KindSubscription, OrderID: s.ID,
				Refs: []string{ref}, Created: subNow.AddDate(0, 0, day), Sub: &order.SubFacts{Ref: ref, Status: status, PeriodEnd: subNow.AddDate(0, 0, day+30)}}
		}
		return []order.Event{
			{Gateway: "stripe", ID: "evt_c", Type: "checkout.session.completed", Kind: order.KindPaid, OrderID: s.ID, SessionRef: s.SessionRef,
				Refs: []string{s.SessionRef, ref}, Created: subNow, Sub: &order.SubFacts{Ref: ref}},
			snap("evt_s1", 0, "trialing"),
			snap("evt_s2", 7, "active"),
			{Gateway: "stripe", ID: "evt_i1", Type: "invoice.paid", Kind: order.KindRenewalPaid, OrderID: s.ID, Refs: []string{ref},
				Amount: 900, Currency: "usd", Created: subNow.AddDate(0, 0, 7), Sub: &order.SubFacts{Ref: ref, Renewal: "in_1", PeriodEnd: subNow.AddDate(0, 0, 37)}},
			{Gateway: "stripe", ID: "evt_f", Type: "invoice.payment_failed", Kind: order.KindRenewalFailed, OrderID: s.ID, Refs: []string{ref},
				Reason: "Your card was declined.", Created: subNow.AddDate(0, 0, 37), Sub: &order.SubFacts{Ref: ref, Renewal: "in_2"}},
			snap("evt_s3", 37, "past_due"),
		}
	}
	var want subscription.Status
	for n, perm := range permute.All(6) {
		svc, st, _ := newSubShop(t)
		res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart})
		if err != nil {
			t.Fatal(err)
		}
		evs := events(res.Subscription)
		for _, i := range append(perm, perm...) {
			if _, err := svc.Apply(ctx, evs[i]); err != nil {
				t.Fatalf("order %v: %v", perm, err)
			}
		}
		got, _ := st.GetSubscription(ctx, res.Subscription.ID)
		if n == 0 {
			want = got.Status
			if want != subscription.PastDue || !got.Entitled() || got.FailureReason() != "Your card was declined." {
				t.Fatalf("first order ends %s (%q)", got.Status, got.FailureReason())
			}
		}
		if got.Status != want || !got.CurrentPeriodEnd().Equal(subNow.AddDate(0, 0, 37)) || len(got.Evidence.Renewals) != 1 {
			t.Fatalf("order %v: %s, period end %v, renewals %d", perm, got.Status, got.CurrentPeriodEnd(), len(got.Evidence.Renewals))
		}
	}
}

// Fifty deliveries of one event at once make one move and owe its
// effects once.
func TestApplySubscription_AStormMakesOneMove(t *testing.T) {
	svc, st, _ := newSubShop(t)
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Subscription
	e := order.Event{Gateway: "stripe", ID: "evt_storm", Type: "checkout.session.completed", Kind: order.KindPaid, OrderID: s.ID,
		SessionRef: s.SessionRef, Refs: []string{s.SessionRef}, Created: subNow, Sub: &order.SubFacts{Ref: "sub_storm"}}
	var wg sync.WaitGroup
	outcomes := make(chan shop.Outcome, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := svc.Apply(ctx, e)
			if err != nil {
				t.Error(err)
			}
			outcomes <- a.Outcome
		}()
	}
	wg.Wait()
	close(outcomes)
	moved := 0
	for o := range outcomes {
		if o == shop.Moved {
			moved++
		} else if o != shop.Duplicate {
			t.Errorf("outcome %s", o)
		}
	}
	got, _ := st.GetSubscription(ctx, s.ID)
	started := 0
	for _, w := range got.Outbox {
		if w.Mail == subscription.MailStarted {
			started++
		}
	}
	if moved != 1 || got.Status != subscription.Trialing || started != 1 {
		t.Fatalf("moved %d, status %s, started mails owed %d", moved, got.Status, started)
	}
}

func TestCancelSubscription_TheGatewaysAnswerIsTheEvidence(t *testing.T) {
	svc, st, gw := newSubShop(t)
	s := startedSubscription(t, svc)
	got, err := svc.CancelSubscription(ctx, shop.CancelRequest{ID: s.ID, Actor: "a@b"})
	if err != nil || !got.CancelAtPeriodEnd() || got.Status != subscription.Active || !got.Entitled() {
		t.Fatalf("%+v %v", got, err)
	}
	// Asking twice does not ask the gateway again.
	if _, err := svc.CancelSubscription(ctx, shop.CancelRequest{ID: s.ID}); err != nil || len(gw.cancels) != 1 {
		t.Fatalf("twice: %v, %d cancels", err, len(gw.cancels))
	}
	// The owner ends it now.
	got, err = svc.CancelSubscription(ctx, shop.CancelRequest{ID: s.ID, Now: true, Source: order.SourceOwner, Actor: "owner"})
	if err != nil || got.Status != subscription.Canceled || got.Entitled() {
		t.Fatalf("now: %+v %v", got, err)
	}
	stored, _ := st.GetSubscription(ctx, s.ID)
	last := stored.History[len(stored.History)-1]
	if last.Source != order.SourceOwner || last.Actor != "owner" || last.To != "canceled" {
		t.Fatalf("history %+v", last)
	}
	// A subscription that never started has nothing to cancel.
	res, _ := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart})
	if _, err := svc.CancelSubscription(ctx, shop.CancelRequest{ID: res.Subscription.ID}); !errors.Is(err, shop.ErrNotCancelable) {
		t.Fatalf("pending: %v", err)
	}
}

func TestPortal_NotSupportedWithoutABillingPortal(t *testing.T) {
	svc, _, _ := newSubShop(t)
	s := startedSubscription(t, svc)
	if _, err := svc.PortalURL(ctx, s.ID); order.ErrorCode(err) != order.CodeNotSupported {
		t.Fatalf("%v", err)
	}
}

// A gateway's answer to our cancel is dated a little before our clock: an
// event the gateway sends just after it (the subscriber undoing the cancel
// in Stripe's portal) outranks it even when our clock runs ahead.
func TestCancelSubscription_TheAnswerNeverOutranksTheGatewaysNextEvent(t *testing.T) {
	svc, st, _ := newSubShop(t)
	s := startedSubscription(t, svc)
	got, err := svc.CancelSubscription(ctx, shop.CancelRequest{ID: s.ID})
	if err != nil || !got.CancelAtPeriodEnd() {
		t.Fatalf("%+v %v", got, err)
	}
	// The gateway's clock a second behind ours, and an undo at once.
	undo := order.Event{Gateway: "stripe", ID: "evt_undo", Type: "customer.subscription.updated", Kind: order.KindSubscription,
		OrderID: s.ID, Refs: []string{s.SubscriptionRef}, Created: subNow.Add(time.Hour - time.Second),
		Sub: &order.SubFacts{Ref: s.SubscriptionRef, Status: "active", PeriodEnd: subNow.AddDate(0, 1, 0)}}
	if _, err := svc.Apply(ctx, undo); err != nil {
		t.Fatal(err)
	}
	if now, _ := st.GetSubscription(ctx, s.ID); now.CancelAtPeriodEnd() {
		t.Fatal("our answer outranked the gateway's later undo")
	}
}
