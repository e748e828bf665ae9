package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// TestEffects_ListAndRetry: the owner sees what waits to be sent and
// what failed, read from the table, and a retry owes the failed effect
// again, sends it (here, with neither MAIL_FROM nor EVENT_BUS_NAME set,
// records it skipped), writes the owner's history entry, and takes the
// order off the failed list.
func TestEffects_ListAndRetry(t *testing.T) {
	ctx := context.Background()
	env, st := shopTable(t)
	now := time.Now().UTC().Truncate(time.Second)
	broken := paidOrder("stripe", now.Add(-2*time.Hour), 4000, "usd")
	broken.Outbox = []order.Owed{{Effect: order.Effect{OrderID: broken.ID, Version: 1, Type: "order.paid", Mail: order.MailReceipt, OwedAt: now.Add(-2 * time.Hour)},
		State: order.EffectFailed, Attempts: 5, LastError: "ses: throttled\n(after 5 tries)"}}
	waiting := paidOrder("razorpay", now.Add(-time.Hour), 50000, "inr")
	waiting.Outbox = []order.Owed{
		{Effect: order.Effect{OrderID: waiting.ID, Version: 1, Type: "order.paid", Mail: order.MailReceipt, OwedAt: now.Add(-time.Hour)}, State: order.EffectSent, Attempts: 1},
		{Effect: order.Effect{OrderID: waiting.ID, Version: 1, Type: "order.late_payment", Mail: order.MailLatePayment, OwedAt: now.Add(-time.Hour)}, State: order.EffectOwed},
	}
	done := paidOrder("stripe", now.Add(-time.Hour), 4000, "usd")
	done.Outbox = []order.Owed{{Effect: order.Effect{OrderID: done.ID, Version: 1, Type: "order.paid", OwedAt: now.Add(-time.Hour)}, State: order.EffectSent, Attempts: 1}}
	mustCreate(t, st, broken, waiting, done)

	out, errOut, err := jampay(ctx, env, "effects")
	if err != nil {
		t.Fatal(err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ORDER OR SUBSCRIPTION") || !strings.Contains(lines[1], waiting.ID) ||
		!strings.Contains(lines[1], "order.late_payment") || !strings.Contains(lines[1], "owed") {
		t.Fatalf("waiting effects:\n%s", out)
	}
	if !strings.Contains(errOut, "1 effect waiting on 1 order") {
		t.Errorf("stderr %q", errOut)
	}

	out, _, err = jampay(ctx, env, "effects", "-failed", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var row effectRow
	if err := json.Unmarshal([]byte(out), &row); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("failed effects as JSON: %q %v", out, err)
	}
	if row.Order != broken.ID || row.State != order.EffectFailed || row.Attempts != 5 || row.Mail != order.MailReceipt || row.LastError == "" || row.Version != 1 {
		t.Fatalf("failed effect %+v", row)
	}
	out, _, _ = jampay(ctx, env, "effects", "-failed")
	if !strings.Contains(out, "ses: throttled (after 5 tries)") {
		t.Errorf("the last error, on one line of the table:\n%s", out)
	}

	if _, _, err := jampay(ctx, env, "effects", "retry", "-catalog", "no/such/catalog.json", broken.ID); err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Fatalf("a missing catalog: %v", err)
	}
	out, errOut, err = jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json", broken.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, broken.ID+": 1 effect owed again; sent 0, nothing to send for 1") {
		t.Fatalf("retry said %q", out)
	}
	got := mustGet(t, st, broken.ID)
	if w := got.Outbox[0]; w.State != order.EffectSkipped || w.Attempts != 1 {
		t.Fatalf("after the retry: %+v", w)
	}
	if h := got.History[len(got.History)-1]; h.Source != order.SourceOwner || h.Actor != "local" || h.From != order.Paid || h.To != order.Paid {
		t.Fatalf("history %+v", h)
	}
	if out, errOut, _ := jampay(ctx, env, "effects", "-failed"); out != "" || !strings.Contains(errOut, "No effect has failed") {
		t.Fatalf("after the retry, failed: %q %q", out, errOut)
	}
	if _, errOut, err := jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json"); err != nil || !strings.Contains(errOut, "nothing to retry") {
		t.Fatalf("retry all with nothing failed: %q %v", errOut, err)
	}
	if _, _, err := jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json", order.NewID()); err == nil {
		t.Fatal("an unknown order retried")
	}
	if _, _, err := jampay(ctx, env, "effects", "retry", "a", "b"); err == nil {
		t.Fatal("two order ids taken")
	}
}

// TestEffects_SubscriptionsBesideOrders: a subscription's effects are
// listed beside the orders', an open subscription's and an ended one's
// alike, and `jampay effects retry sbn_…` owes its failed effect again,
// sends it (skipped here: neither MAIL_FROM nor EVENT_BUS_NAME is set),
// and records the owner's retry in its history; a retry of everything
// reaches subscriptions too.
func TestEffects_SubscriptionsBesideOrders(t *testing.T) {
	ctx := context.Background()
	env, st := shopTable(t)
	now := time.Now().UTC().Truncate(time.Second)
	owed := activeSub("stripe", now.Add(-3*time.Hour))
	owed.Outbox = []order.Owed{{Effect: order.Effect{OrderID: owed.ID, Version: 3, Type: "subscription.renewed", Mail: subscription.MailRenewalReceipt,
		OwedAt: now.Add(-time.Hour)}, State: order.EffectOwed}}
	broken := activeSub("stripe", now.Add(-2*time.Hour))
	broken.Status, broken.Evidence.Canceled = subscription.Canceled, true
	broken.Outbox = []order.Owed{{Effect: order.Effect{OrderID: broken.ID, Version: 3, Type: "subscription.canceled", Mail: subscription.MailCanceled,
		OwedAt: now.Add(-2 * time.Hour)}, State: order.EffectFailed, Attempts: 5, LastError: "ses: throttled"}}
	openBroken := activeSub("razorpay", now.Add(-2*time.Hour))
	openBroken.Outbox = []order.Owed{{Effect: order.Effect{OrderID: openBroken.ID, Version: 3, Type: "subscription.renewed",
		OwedAt: now.Add(-2 * time.Hour)}, State: order.EffectFailed, Attempts: 5, LastError: "eventbridge: denied"}}
	mustCreateSub(t, st, owed, broken, openBroken)
	ord := paidOrder("stripe", now.Add(-time.Hour), 4000, "usd")
	ord.Outbox = []order.Owed{{Effect: order.Effect{OrderID: ord.ID, Version: 1, Type: "order.paid", Mail: order.MailReceipt, OwedAt: now.Add(-time.Hour)}, State: order.EffectOwed}}
	mustCreate(t, st, ord)

	out, errOut, err := jampay(ctx, env, "effects")
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, ord.ID) || !strings.Contains(out, owed.ID) || !strings.Contains(out, "subscription.renewed") ||
		!strings.Contains(errOut, "2 effects waiting on 1 order and 1 subscription") {
		t.Fatalf("waiting effects:\n%s%s", out, errOut)
	}
	out, errOut, err = jampay(ctx, env, "effects", "-failed", "-json")
	if err != nil {
		t.Fatal(err, errOut)
	}
	var subs []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var row effectRow
		if err := json.Unmarshal([]byte(l), &row); err != nil || row.Order != "" || row.State != order.EffectFailed {
			t.Fatalf("failed row %q: %v", l, err)
		}
		subs = append(subs, row.Subscription)
	}
	if slices.Sort(subs); !slices.Equal(subs, sortedIDs(broken.ID, openBroken.ID)) || !strings.Contains(errOut, "2 failed effects on 2 subscriptions") {
		t.Fatalf("failed subscriptions %v, stderr %q", subs, errOut)
	}

	out, errOut, err = jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json", broken.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, broken.ID+": 1 effect owed again; sent 0, nothing to send for 1") {
		t.Fatalf("retry said %q", out)
	}
	got := mustGetSub(t, st, broken.ID)
	if w := got.Outbox[0]; w.State != order.EffectSkipped || w.Attempts != 1 {
		t.Fatalf("after the retry: %+v", w)
	}
	if h := got.History[len(got.History)-1]; h.Source != order.SourceOwner || h.Actor != "local" || h.EventType != shop.EventEffectsRetried {
		t.Fatalf("history %+v", h)
	}
	// Everything failed: the open subscription's too.
	out, errOut, err = jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json")
	if err != nil || !strings.Contains(out, openBroken.ID+": 1 effect owed again") {
		t.Fatalf("retry all: %v %q %q", err, out, errOut)
	}
	if out, errOut, _ := jampay(ctx, env, "effects", "-failed"); out != "" || !strings.Contains(errOut, "No effect has failed") {
		t.Fatalf("after the retries, failed: %q %q", out, errOut)
	}
	if out, _, err := jampay(ctx, env, "effects", "retry", "-catalog", "../../site/catalog.json", subscription.NewID()); err == nil ||
		!strings.Contains(out, "unknown subscription: table "+env["TABLE_NAME"]+" holds no subscription with that id") {
		t.Fatalf("an unknown subscription: %v %q", err, out)
	}
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
