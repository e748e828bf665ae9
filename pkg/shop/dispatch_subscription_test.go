package shop_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// subStore is what the subscriptions' effects need of a store.
type subStore interface {
	order.Store
	subscription.Store
	shop.SubscriptionEffectsStore
}

// stores are the stores the subscriptions' effects are tested on.
var stores = map[string]func(t *testing.T, now func() time.Time) subStore{
	"memory": func(_ *testing.T, now func() time.Time) subStore { return memstore.New(now) },
	"dynamodb": func(t *testing.T, now func() time.Time) subStore {
		st, _ := dynamo(t, now)
		return st
	},
}

// subDispatchShop is a shop selling subscriptions on clock c, sending
// through b, on a fresh in-memory store.
func subDispatchShop(t *testing.T, c *clock, b *outbox) (*shop.Service, subStore) {
	t.Helper()
	return subDispatchShopOn(t, c, b, memstore.New(c.Now))
}

func subDispatchShopOn(t *testing.T, c *clock, b *outbox, st subStore) (*shop.Service, subStore) {
	t.Helper()
	cat, err := catalog.Parse(strings.NewReader(subCatalog))
	if err != nil {
		t.Fatal(err)
	}
	svc := c.service(st, b)
	svc.Catalog, svc.Gateways = cat, map[string]shop.Gateway{"stripe": &subGateway{}}
	return svc, st
}

// subscribed checks out the trial subscription for ann@example.com and
// completes its checkout: it owes subscription.trialing and the started
// mail.
func subscribed(t *testing.T, svc *shop.Service) *subscription.Subscription {
	t.Helper()
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Gateway: "stripe", Lines: subCart, Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Subscription
	applySub(t, svc, s, order.Event{ID: "evt_done_" + s.ID, Type: "checkout.session.completed", Kind: order.KindPaid,
		SessionRef: s.SessionRef, Refs: []string{s.SessionRef, subRef(s)}})
	return s
}

func subRef(s *subscription.Subscription) string { return "sub_" + s.ID[4:] }

// applySub applies e to s as the gateway's verified event, and wants it
// to change s.
func applySub(t *testing.T, svc *shop.Service, s *subscription.Subscription, e order.Event) *subscription.Subscription {
	t.Helper()
	e.Gateway, e.OrderID = "stripe", s.ID
	if e.Created.IsZero() {
		e.Created = svc.Now()
	}
	if e.Sub == nil {
		e.Sub = &order.SubFacts{}
	}
	e.Sub.Ref = subRef(s)
	e.Refs = append(e.Refs, subRef(s))
	a, err := svc.Apply(ctx, e)
	if err != nil || (a.Outcome != shop.Moved && a.Outcome != shop.Updated) {
		t.Fatalf("apply %s: %+v %v", e.ID, a, err)
	}
	return a.Subscription
}

// subLife takes s through a renewal, a failed one and its cancellation:
// with the start, five effects, four of them mails.
func subLife(t *testing.T, c *clock, svc *shop.Service, s *subscription.Subscription) {
	t.Helper()
	c.Advance(7 * 24 * time.Hour)
	applySub(t, svc, s, order.Event{ID: "evt_paid_1", Type: "invoice.paid", Kind: order.KindRenewalPaid, Amount: 900, Currency: "usd",
		Sub: &order.SubFacts{Renewal: "in_1", FirstInvoice: true, PeriodStart: c.Now(), PeriodEnd: c.Now().AddDate(0, 1, 0)}})
	applySub(t, svc, s, order.Event{ID: "evt_active", Type: "customer.subscription.updated", Kind: order.KindSubscription,
		Sub: &order.SubFacts{Status: "active"}})
	c.Advance(31 * 24 * time.Hour)
	applySub(t, svc, s, order.Event{ID: "evt_paid_2", Type: "invoice.paid", Kind: order.KindRenewalPaid, Amount: 900, Currency: "usd",
		Sub: &order.SubFacts{Renewal: "in_2", PeriodStart: c.Now(), PeriodEnd: c.Now().AddDate(0, 1, 0)}})
	c.Advance(31 * 24 * time.Hour)
	applySub(t, svc, s, order.Event{ID: "evt_failed", Type: "invoice.payment_failed", Kind: order.KindRenewalFailed, Reason: "Your card was declined.",
		Sub: &order.SubFacts{Status: "past_due"}})
	applySub(t, svc, s, order.Event{ID: "evt_updated", Type: "customer.subscription.updated", Kind: order.KindSubscription,
		Sub: &order.SubFacts{Status: "past_due"}})
	c.Advance(time.Hour)
	applySub(t, svc, s, order.Event{ID: "evt_deleted", Type: "customer.subscription.deleted", Kind: order.KindSubscription,
		Sub: &order.SubFacts{Status: "canceled"}})
}

func outboxStates(t *testing.T, st subscription.Store, id string) []string {
	t.Helper()
	s, err := st.GetSubscription(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range s.Outbox {
		out = append(out, w.Type+":"+w.State)
	}
	return out
}

func TestDispatchSubscription_TwentyDispatchersSendEachEffectOnceInVersionOrder(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{}
	svc, st := subDispatchShop(t, c, b)
	s := subscribed(t, svc)
	subLife(t, c, svc, s)
	want := []string{"subscription.trialing:owed", "subscription.active:owed", "subscription.renewed:owed",
		"subscription.past_due:owed", "subscription.canceled:owed"}
	if got := outboxStates(t, st, s.ID); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Dispatch(ctx, s.ID, "notify"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// One more, after they are done, finds nothing to send.
	if rep, err := svc.Dispatch(ctx, s.ID, "late"); err != nil || rep != (shop.DispatchReport{}) {
		t.Fatalf("a dispatch after all was sent: %+v %v", rep, err)
	}
	mails, events := b.sent()
	if d := duplicates(mails); len(d) > 0 {
		t.Errorf("mails sent twice: %v", d)
	}
	if d := duplicates(events); len(d) > 0 {
		t.Errorf("events sent twice: %v", d)
	}
	if len(events) != 5 {
		t.Fatalf("events %v, want 5", events)
	}
	var kinds []string
	for _, m := range mails {
		kinds = append(kinds, strings.Fields(m)[0])
	}
	if want := []string{subscription.MailStarted, subscription.MailRenewalReceipt, subscription.MailRenewalFailed, subscription.MailCanceled}; !slices.Equal(kinds, want) {
		t.Errorf("mails in order %v, want %v", kinds, want)
	}
	// In version order: each event's version above the one before.
	if !slices.IsSortedFunc(events, func(a, b string) int { return strings.Compare(versionOf(a), versionOf(b)) }) {
		t.Errorf("events out of version order: %v", events)
	}
	for i, st := range outboxStates(t, st, s.ID) {
		if !strings.HasSuffix(st, ":"+order.EffectSent) {
			t.Errorf("effect %d: %s", i, st)
		}
	}
}

// versionOf reads the version out of plainRenderer's event id, padded to
// sort.
func versionOf(detail string) string {
	parts := strings.Split(detail, "/")
	if len(parts) < 2 {
		return ""
	}
	return strings.Repeat("0", 6-len(parts[1])) + parts[1]
}

func TestDispatchSubscription_AFailingMailerIsRetriedThenParked(t *testing.T) {
	c, b := newClock(dispatchNow), &outbox{failMail: -1}
	svc, st := subDispatchShop(t, c, b)
	s := subscribed(t, svc)
	for i := range shop.DispatchAttempts {
		rep, err := svc.Dispatch(ctx, s.ID, "notify")
		if i < shop.DispatchAttempts-1 && (err == nil || rep.Retry != 1) {
			t.Fatalf("attempt %d: %+v %v, want a retry", i+1, rep, err)
		}
		if i == shop.DispatchAttempts-1 && (err != nil || rep.Failed != 1) {
			t.Fatalf("last attempt: %+v %v, want parked", rep, err)
		}
	}
	got, _ := st.GetSubscription(ctx, s.ID)
	if w := got.Outbox[0]; w.State != order.EffectFailed || w.Attempts != shop.DispatchAttempts || !strings.Contains(w.LastError, "throttled") {
		t.Fatalf("parked %+v", w)
	}
	failed, _, err := st.SubscriptionEffectsFailed(ctx, 10, "")
	if err != nil || len(failed) != 1 || failed[0].ID != s.ID {
		t.Fatalf("listed as failed: %v %v", failed, err)
	}
	// The owner's retry, once the mail service is back.
	b.mu.Lock()
	b.failMail = 0
	b.mu.Unlock()
	rep, err := svc.RetryEffects(ctx, s.ID, "owner@example.com")
	if err != nil || rep.Retried != 1 || rep.Dispatch.Sent != 1 {
		t.Fatalf("retry: %+v %v", rep, err)
	}
	got, _ = st.GetSubscription(ctx, s.ID)
	if got.Outbox[0].State != order.EffectSent {
		t.Fatalf("after the retry: %+v", got.Outbox)
	}
	if h := got.History[len(got.History)-1]; h.EventType != shop.EventEffectsRetried || h.Actor != "owner@example.com" || h.From != order.Status(subscription.Trialing) {
		t.Fatalf("history %+v", h)
	}
	if failed, _, _ := st.SubscriptionEffectsFailed(ctx, 10, ""); len(failed) != 0 {
		t.Fatalf("still listed as failed: %v", failed)
	}
	// The event went with each attempt (its stable id lets consumers drop
	// the repeats); the mail once.
	if mails, _ := b.sent(); len(mails) != 1 {
		t.Fatalf("mails %v", mails)
	}
}

// TestReconcile_SendsSubscriptionEffectsOwedTooLong: what the stream
// missed, reconcile sends — for a live subscription and for one that
// ended, which has left the open-subscriptions queue —, on both stores.
func TestReconcile_SendsSubscriptionEffectsOwedTooLong(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{}
			svc, st := subDispatchShopOn(t, c, b, newStore(t, c.Now))
			live := subscribed(t, svc)
			ended := subscribed(t, svc)
			applySub(t, svc, ended, order.Event{ID: "evt_deleted", Type: "customer.subscription.deleted", Kind: order.KindSubscription,
				Sub: &order.SubFacts{Status: "canceled"}})
			run := func() shop.ReconcileReport {
				t.Helper()
				rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{Holder: "test", Stop: time.Now().Add(time.Minute), Page: 1})
				if err != nil || len(rep.Errors) != 0 {
					t.Fatalf("%+v %v", rep, err)
				}
				return rep
			}
			c.Advance(shop.EffectsAfter - time.Second)
			if rep := run(); rep.EffectsDue != 0 {
				t.Fatalf("sent before its time: %+v", rep)
			}
			c.Advance(2 * time.Second)
			if rep := run(); rep.EffectsDue != 2 || rep.EffectsSent != 3 {
				t.Fatalf("owed too long: %+v", rep)
			}
			for _, id := range []string{live.ID, ended.ID} {
				for _, s := range outboxStates(t, st, id) {
					if !strings.HasSuffix(s, ":"+order.EffectSent) {
						t.Errorf("%s: %s", id, s)
					}
				}
			}
			c.Advance(time.Hour)
			if rep := run(); rep.EffectsDue != 0 {
				t.Fatalf("sent, and due again: %+v", rep)
			}
			mails, events := b.sent()
			if len(mails) != 3 || len(events) != 3 || len(duplicates(mails)) != 0 {
				t.Fatalf("mails %v events %v", mails, events)
			}
		})
	}
}

// TestSubscriptionEffects_FailedAreListedFinalOrNot: a subscription whose
// effect was parked as failed is listed for the owner, live or ended, on
// both stores, in pages; it leaves the list once the retry sends it.
func TestSubscriptionEffects_FailedAreListedFinalOrNot(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			c, b := newClock(dispatchNow), &outbox{failMail: -1}
			svc, st := subDispatchShopOn(t, c, b, newStore(t, c.Now))
			live, ended := subscribed(t, svc), subscribed(t, svc)
			applySub(t, svc, ended, order.Event{ID: "evt_deleted", Type: "customer.subscription.deleted", Kind: order.KindSubscription,
				Sub: &order.SubFacts{Status: "canceled"}})
			for range shop.DispatchAttempts {
				_, _ = svc.Dispatch(ctx, live.ID, "notify")
				for range 2 { // the ended one owes two mails
					_, _ = svc.Dispatch(ctx, ended.ID, "notify")
				}
			}
			// Nothing is due any more: parked effects do not hold up the
			// ones after them, and are not retried but by the owner.
			if due := allSubs(t, func(after string) ([]subscription.Subscription, string, error) {
				return st.SubscriptionEffectsDue(ctx, c.Now().Add(time.Hour), 1, after)
			}); len(due) != 0 {
				t.Fatalf("due: %v", due)
			}
			failed := allSubs(t, func(after string) ([]subscription.Subscription, string, error) {
				return st.SubscriptionEffectsFailed(ctx, 1, after)
			})
			slices.Sort(failed)
			want := []string{live.ID, ended.ID}
			slices.Sort(want)
			if !slices.Equal(failed, want) {
				t.Fatalf("failed %v, want %v", failed, want)
			}
			b.mu.Lock()
			b.failMail = 0
			b.mu.Unlock()
			for _, id := range want {
				if _, err := svc.RetryEffects(ctx, id, "owner"); err != nil {
					t.Fatal(err)
				}
			}
			if failed := allSubs(t, func(after string) ([]subscription.Subscription, string, error) {
				return st.SubscriptionEffectsFailed(ctx, 1, after)
			}); len(failed) != 0 {
				t.Fatalf("still failed: %v", failed)
			}
			// A cursor of one listing is not one of the other.
			_, next, err := st.SubscriptionEffectsFailed(ctx, 1, "")
			if err == nil && next != "" {
				if _, _, err := st.SubscriptionEffectsDue(ctx, c.Now(), 1, next); err == nil {
					t.Error("the failed listing's cursor was taken by the due one")
				}
			}
		})
	}
}

// allSubs reads every page of a listing, and the ids it lists.
func allSubs(t *testing.T, list func(after string) ([]subscription.Subscription, string, error)) []string {
	t.Helper()
	var ids []string
	for after, n := "", 0; ; n++ {
		page, next, err := list(after)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			ids = append(ids, s.ID)
		}
		if next == "" {
			return ids
		}
		if n > 100 {
			t.Fatal("the listing never ends")
		}
		after = next
	}
}
