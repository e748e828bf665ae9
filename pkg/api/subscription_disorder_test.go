package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/permute"
	"github.com/jampay/jampay/pkg/subscription"
)

// subDelivery is one subscription webhook as the gateway sends it, for the
// subscription sub whose gateway subscription is ref.
type subDelivery struct {
	name string
	send func(e *subEnv, sub *subscription.Subscription, ref string) response
}

// day is the scenarios' clock: the gateway's event times, one second
// resolution as Stripe's and Razorpay's are.
var subT0 = time.Now().Truncate(time.Second).Add(-90 * 24 * time.Hour)

func day(d int) time.Time { return subT0.Add(time.Duration(d) * 24 * time.Hour) }

func stripeSub(typ string, at time.Time, mod func(*payloads.Stripe)) subDelivery {
	id := fmt.Sprint(rand.Uint64())
	return subDelivery{typ, func(e *subEnv, sub *subscription.Subscription, ref string) response {
		ev := payloads.Stripe{Type: typ, EventID: "evt_" + id + sub.ID[4:], OrderID: sub.ID, SessionID: sub.SessionRef, Amount: 900,
			Created: at, Subscription: payloads.Subscription{SubscriptionRef: ref, PeriodStart: at}}
		if mod != nil {
			mod(&ev)
		}
		body, err := ev.Payload()
		if err != nil {
			e.t.Fatal(err)
		}
		return e.signedStripe(body, whsec, time.Now())
	}}
}

func rzpSub(typ string, at time.Time, mod func(*payloads.Razorpay)) subDelivery {
	id := fmt.Sprint(rand.Uint64())
	return subDelivery{typ, func(e *subEnv, sub *subscription.Subscription, ref string) response {
		ev := payloads.Razorpay{Type: typ, EventID: "evt_" + id + sub.ID[4:], OrderID: sub.ID, Amount: 49900, Created: at,
			RazorpaySubscription: payloads.RazorpaySubscription{RazorpaySubscriptionID: sub.SessionRef, CurrentStart: at, CurrentEnd: at.AddDate(0, 1, 0)}}
		if mod != nil {
			mod(&ev)
		}
		body, eid, err := ev.Payload()
		if err != nil {
			e.t.Fatal(err)
		}
		return e.signedRazorpay(body, eid, rzpSecret)
	}}
}

func invoice(id string, first bool, amount int64) func(*payloads.Stripe) {
	return func(ev *payloads.Stripe) {
		ev.InvoiceID, ev.Amount = id+ev.OrderID[4:12], amount
		if first {
			ev.BillingReason = "subscription_create"
		}
	}
}

func status(s string, cancel bool) func(*payloads.Stripe) {
	return func(ev *payloads.Stripe) { ev.Status, ev.CancelAtPeriodEnd = s, cancel }
}

func charged(pay string, n int64) func(*payloads.Razorpay) {
	return func(ev *payloads.Razorpay) { ev.PaymentID, ev.PaidCount = pay+ev.OrderID[4:12], n }
}

// subscriptionScenarios are the seeds' event sets: a trial that becomes
// active and renews; a failed renewal recovered; retries exhausted; a
// cancel at the period's end — on both gateways.
func subscriptionScenarios() []struct {
	gateway, sku, name string
	events             []subDelivery
	want               subscription.Status
	entitled           bool
	renewals           int
} {
	return []struct {
		gateway, sku, name string
		events             []subDelivery
		want               subscription.Status
		entitled           bool
		renewals           int
	}{
		{"stripe", "club", "trial, then active, then renewed", []subDelivery{
			stripeSub("checkout.session.completed", day(0), nil),
			stripeSub("customer.subscription.created", day(0), status("trialing", false)),
			stripeSub("invoice.paid", day(0), invoice("in_0", true, 0)),
			stripeSub("customer.subscription.updated", day(7), status("active", false)),
			stripeSub("invoice.paid", day(7), invoice("in_1", false, 900)),
			stripeSub("invoice.paid", day(37), invoice("in_2", false, 900)),
		}, subscription.Active, true, 3},
		{"stripe", "club", "a renewal fails, then is paid", []subDelivery{
			stripeSub("checkout.session.completed", day(0), nil),
			stripeSub("customer.subscription.updated", day(7), status("active", false)),
			stripeSub("invoice.payment_failed", day(37), invoice("in_2", false, 900)),
			stripeSub("customer.subscription.updated", day(37), status("past_due", false)),
			stripeSub("invoice.paid", day(40), invoice("in_2", false, 900)),
			stripeSub("customer.subscription.updated", day(40), status("active", false)),
		}, subscription.Active, true, 1},
		{"stripe", "club", "retries exhausted", []subDelivery{
			stripeSub("checkout.session.completed", day(0), nil),
			stripeSub("invoice.paid", day(7), invoice("in_1", false, 900)),
			stripeSub("invoice.payment_failed", day(37), invoice("in_2", false, 900)),
			stripeSub("customer.subscription.updated", day(37), status("past_due", false)),
			stripeSub("invoice.payment_failed", day(44), invoice("in_2", false, 900)),
			stripeSub("customer.subscription.updated", day(51), status("unpaid", false)),
		}, subscription.Halted, false, 1},
		{"stripe", "club", "canceled at the period's end", []subDelivery{
			stripeSub("checkout.session.completed", day(0), nil),
			stripeSub("customer.subscription.updated", day(7), status("active", false)),
			stripeSub("customer.subscription.updated", day(20), status("active", true)),
			stripeSub("customer.subscription.deleted", day(37), status("canceled", false)),
		}, subscription.Canceled, false, 0},
		{"razorpay", "club-in", "charged, a renewal pending, then charged", []subDelivery{
			rzpSub("subscription.authenticated", day(0), nil),
			rzpSub("subscription.activated", day(0), nil),
			rzpSub("subscription.charged", day(0), charged("pay_1", 1)),
			rzpSub("subscription.pending", day(30), nil),
			rzpSub("subscription.charged", day(33), charged("pay_2", 2)),
		}, subscription.Active, true, 2},
		{"razorpay", "club-in", "halted", []subDelivery{
			rzpSub("subscription.authenticated", day(0), nil),
			rzpSub("subscription.charged", day(0), charged("pay_1", 1)),
			rzpSub("subscription.pending", day(30), nil),
			rzpSub("subscription.halted", day(40), nil),
		}, subscription.Halted, false, 1},
	}
}

func (e *subEnv) stored(id string) *subscription.Subscription {
	e.t.Helper()
	s, err := e.store.(subscription.Store).GetSubscription(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestSubscriptionDisorder_EveryOrderWithRedeliveries delivers each
// scenario's events, through the HTTP handlers with the gateways' real
// payloads and signatures, in every order on the in-memory store and in a
// seeded sample of orders on DynamoDB Local (the seed is logged), with
// redeliveries mixed in: each ends in the same state, with each renewal
// recorded once and each effect owed once.
func TestSubscriptionDisorder_EveryOrderWithRedeliveries(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			for _, sc := range subscriptionScenarios() {
				e := newSubEnv(t, kind, true)
				perms := permute.All(len(sc.events))
				if kind == dynamodb {
					rng.Shuffle(len(perms), func(i, j int) { perms[i], perms[j] = perms[j], perms[i] })
					perms = perms[:min(len(perms), 12)]
				}
				for _, perm := range perms {
					c := e.subscribe(sc.gateway, sc.sku, "")
					sub := e.stored(c.SubscriptionID)
					ref := "sub_disorder" + sub.ID[4:16]
					var sent []int
					for _, i := range perm {
						sent = append(sent, i)
						if rng.IntN(3) == 0 {
							sent = append(sent, sent[rng.IntN(len(sent))])
						}
					}
					for _, i := range sent {
						if r := sc.events[i].send(e, sub, ref); r.Status != 200 {
							t.Fatalf("%s %v: %s answered %d %s", sc.name, perm, sc.events[i].name, r.Status, r.Body)
						}
					}
					got := e.stored(c.SubscriptionID)
					if got.Status != sc.want || got.Entitled() != sc.entitled || len(got.Evidence.Renewals) != sc.renewals {
						t.Fatalf("%s, order %v (sent %v): %s entitled %v renewals %d; want %s %v %d",
							sc.name, perm, sent, got.Status, got.Entitled(), len(got.Evidence.Renewals), sc.want, sc.entitled, sc.renewals)
					}
					owed := map[string]int{}
					for _, w := range got.Outbox {
						owed[fmt.Sprint(w.Version, w.Type)]++
						if w.Type == "subscription.renewed" {
							owed["renewed"]++
						}
					}
					for k, n := range owed {
						if n > 1 && k != "renewed" {
							t.Fatalf("%s %v: effect %s owed %d times", sc.name, perm, k, n)
						}
					}
					// A receipt for each renewal but the first payment, which
					// the started mail answers.
					receipts := 0
					for _, r := range got.Evidence.Renewals {
						if !r.First {
							receipts++
						}
					}
					if owed["renewed"] != receipts {
						t.Fatalf("%s %v: %d renewal receipts owed for %d renewals after the first", sc.name, perm, owed["renewed"], receipts)
					}
				}
				t.Logf("%s: %d orders", sc.name, len(perms))
			}
		})
	}
}

// TestSubscriptionStorm_FiftyDeliveriesAtOnceMakeOneMove: one event
// delivered fifty times at once, on both stores: one move, its effects owed
// once, the rest duplicates.
func TestSubscriptionStorm_FiftyDeliveriesAtOnceMakeOneMove(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newSubEnv(t, kind, true)
			c := e.subscribe("stripe", "club", "")
			sub := e.stored(c.SubscriptionID)
			completed := stripeSub("checkout.session.completed", day(0), nil)
			renewal := stripeSub("invoice.paid", day(7), invoice("in_storm", false, 900))
			for _, ev := range []subDelivery{completed, renewal} {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range 50 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if r := ev.send(e, sub, "sub_storm"+sub.ID[4:12]); r.Status != 200 {
							t.Errorf("%s: %d %s", ev.name, r.Status, r.Body)
						}
					}()
				}
				close(start)
				wg.Wait()
			}
			got := e.stored(c.SubscriptionID)
			types := map[string]int{}
			for _, w := range got.Outbox {
				types[w.Type]++
			}
			// Two moves whatever the storm: completed, renewed.
			if got.Status != subscription.Trialing || len(got.Evidence.Renewals) != 1 ||
				types["subscription.trialing"] != 1 || types["subscription.renewed"] != 1 || len(got.History) != 2 {
				t.Fatalf("after the storms: %s v%d renewals %d owed %v history %d", got.Status, got.Version, len(got.Evidence.Renewals), types, len(got.History))
			}
		})
	}
}

// TestSubscriptionProvenance: events move only the subscription jampay
// made — a Razorpay subscription that is not ours moves nothing whatever
// its notes say, and a Stripe checkout that is not the subscription's own
// is recorded and moves nothing, whatever its metadata says.
func TestSubscriptionProvenance(t *testing.T) {
	e := newSubEnv(t, memory, true)
	rc := e.subscribe("razorpay", "club-in", "")
	rsub := e.stored(rc.SubscriptionID)
	other := rzpSub("subscription.charged", day(0), func(ev *payloads.Razorpay) {
		ev.RazorpaySubscriptionID, ev.PaymentID, ev.PaidCount = "sub_someone_else", "pay_other", 1
	})
	if r := other.send(e, rsub, ""); r.Status != 200 {
		t.Fatalf("foreign charge: %d %s", r.Status, r.Body)
	}
	if got := e.stored(rc.SubscriptionID); got.Status != subscription.Pending || len(got.Evidence.Renewals) != 0 {
		t.Fatalf("a foreign Razorpay subscription moved ours: %s %v", got.Status, got.Evidence.Renewals)
	}
	sc := e.subscribe("stripe", "club", "")
	ssub := e.stored(sc.SubscriptionID)
	foreign := stripeSub("checkout.session.completed", day(0), func(ev *payloads.Stripe) { ev.SessionID = "cs_test_not_ours" })
	if r := foreign.send(e, ssub, "sub_foreign"); r.Status != 200 {
		t.Fatalf("foreign session: %d %s", r.Status, r.Body)
	}
	if got := e.stored(sc.SubscriptionID); got.Status != subscription.Pending || got.SubscriptionRef != "" {
		t.Fatalf("another checkout moved ours: %s %q", got.Status, got.SubscriptionRef)
	}
}

// TestSubscriptionPayments_RefundsAndDisputesReachTheSubscription: a
// renewal's payment is indexed to its subscription, so the gateway's
// refund and dispute of it (named only by the payment) reach it and the
// owner hears; and Razorpay's own payment events for the charge (on the
// order Razorpay made for it) are the subscription's, not money without
// an order.
func TestSubscriptionPayments_RefundsAndDisputesReachTheSubscription(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newSubEnv(t, kind, true)
			c := e.subscribe("stripe", "club", "")
			sub := e.stored(c.SubscriptionID)
			pi := "pi_renewal" + sub.ID[4:14]
			for _, d := range []subDelivery{
				stripeSub("checkout.session.completed", day(0), nil),
				stripeSub("invoice.paid", day(7), func(ev *payloads.Stripe) { invoice("in_r", false, 900)(ev); ev.PaymentIntentID = pi }),
				stripeSub("charge.dispute.created", day(20), func(ev *payloads.Stripe) { ev.PaymentIntentID, ev.Subscription = pi, payloads.Subscription{} }),
				stripeSub("charge.refunded", day(21), func(ev *payloads.Stripe) {
					ev.PaymentIntentID, ev.Refunded, ev.Subscription = pi, 900, payloads.Subscription{}
				}),
			} {
				if r := d.send(e, sub, "sub_pay"+sub.ID[4:12]); r.Status != 200 {
					t.Fatalf("%s: %d %s", d.name, r.Status, r.Body)
				}
			}
			got := e.stored(c.SubscriptionID)
			if len(got.Evidence.Disputed) != 1 || len(got.Evidence.Refunded) != 1 {
				t.Fatalf("stripe: disputed %v refunded %v", got.Evidence.Disputed, got.Evidence.Refunded)
			}

			rc := e.subscribe("razorpay", "club-in", "")
			rsub := e.stored(rc.SubscriptionID)
			pay, rzpOrder := "pay_renew"+rsub.ID[4:12], "order_renew"+rsub.ID[4:12]
			onCharge := func(ev *payloads.Razorpay) { ev.PaymentID, ev.RazorpayOrderID = pay, rzpOrder }
			for _, d := range []subDelivery{
				rzpSub("subscription.charged", day(0), func(ev *payloads.Razorpay) { onCharge(ev); ev.PaidCount = 1 }),
				rzpSub("payment.captured", day(0), func(ev *payloads.Razorpay) { onCharge(ev); ev.OrderID = "" }),
				rzpSub("payment.dispute.created", day(9), func(ev *payloads.Razorpay) { onCharge(ev); ev.OrderID = "" }),
			} {
				if r := d.send(e, rsub, ""); r.Status != 200 {
					t.Fatalf("%s: %d %s", d.name, r.Status, r.Body)
				}
			}
			got = e.stored(rc.SubscriptionID)
			if len(got.Evidence.Disputed) != 1 || len(got.Evidence.Renewals) != 1 || got.Status != subscription.Active {
				t.Fatalf("razorpay: %s disputed %v renewals %v", got.Status, got.Evidence.Disputed, got.Evidence.Renewals)
			}
			last := got.History[len(got.History)-1]
			if last.EventType != "payment.dispute.created" {
				t.Fatalf("razorpay history ends %+v", last)
			}
		})
	}
}
