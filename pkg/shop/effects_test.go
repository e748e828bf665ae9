package shop_test

import (
	"testing"

	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// TestRetryEffects_OwesFailedEffectsAgainAndSendsThemOnce: the owner's
// retry owes a failed receipt again with fresh attempts, records itself in
// the history, sends it, and takes the order off the failed list; a
// second retry has nothing to do and sends nothing.
func TestRetryEffects_OwesFailedEffectsAgainAndSendsThemOnce(t *testing.T) {
	c := newClock(dispatchNow)
	st := memstore.New(c.Now)
	b := &outbox{failMail: -1}
	svc := c.service(st, b)
	o := customerOrder(t, st, "retry", "ann@example.com")
	paidBy(t, svc, o)
	for range shop.DispatchAttempts {
		_, _ = svc.Dispatch(ctx, o.ID, "notify")
	}
	if got, _ := st.GetOrder(ctx, o.ID); got.Outbox[0].State != order.EffectFailed {
		t.Fatalf("not failed: %+v", got.Outbox)
	}
	b.failMail = 0
	rep, err := svc.RetryEffects(ctx, o.ID, "arn:aws:iam::123456789012:user/owner")
	if err != nil || rep.Retried != 1 || rep.Dispatch.Sent != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	got, _ := st.GetOrder(ctx, o.ID)
	if w := got.Outbox[0]; w.State != order.EffectSent || w.Attempts != 1 {
		t.Fatalf("after the retry: %+v", w)
	}
	h := got.History[len(got.History)-1]
	if h.Source != order.SourceOwner || h.Actor != "arn:aws:iam::123456789012:user/owner" || h.EventType != shop.EventEffectsRetried || h.From != order.Paid || h.To != order.Paid {
		t.Fatalf("history %+v", h)
	}
	if failed, _, _ := st.EffectsFailed(ctx, 10, ""); len(failed) != 0 {
		t.Fatalf("still listed as failed: %v", failed)
	}
	if rep, err := svc.RetryEffects(ctx, o.ID, "owner"); err != nil || rep.Retried != 0 {
		t.Fatalf("nothing failed, retried: %+v %v", rep, err)
	}
	if mails, _ := b.sent(); len(mails) != 1 {
		t.Fatalf("mails %v, want the receipt once", mails)
	}
	if _, err := svc.RetryEffects(ctx, order.NewID(), "owner"); err == nil {
		t.Fatal("an unknown order retried")
	}
}
