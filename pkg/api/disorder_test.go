package api_test

import (
	"fmt"
	"github.com/jampay/jampay/internal/permute"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
)

// delivery is one webhook as a gateway sends it: a payload and its id.
type delivery struct {
	name string
	send func(e *env, orderID, rzpID string) response
}

// Event ids are unique per gateway, as the gateways make them: each
// delivery's id is fixed for one order (so a redelivery is a duplicate) and
// different for every other order.
func stripeEv(typ string, mod func(*payloads.Stripe)) delivery {
	id := fmt.Sprint(rand.Uint64())
	return delivery{typ, func(e *env, orderID, _ string) response {
		ev := payloads.Stripe{Type: typ, EventID: "evt_" + id + orderID[4:], OrderID: orderID, Amount: 4000, PaymentIntentID: "pi_" + orderID[4:]}
		if mod != nil {
			mod(&ev)
		}
		return e.stripeWebhook(ev)
	}}
}

func rzpEv(typ string, mod func(*payloads.Razorpay)) delivery {
	id := fmt.Sprint(rand.Uint64())
	return delivery{typ, func(e *env, orderID, rzpID string) response {
		ev := payloads.Razorpay{Type: typ, EventID: "evt_" + id + orderID[4:], OrderID: orderID, RazorpayOrderID: rzpID, Amount: 39800}
		if mod != nil {
			mod(&ev)
		}
		return e.razorpayWebhook(ev)
	}}
}

// disorderScenarios are event sets that really happen together to one
// order; want is where the order must end, whatever the delivery order.
// revisits marks the sets whose status may legitimately come back (a won
// dispute returns the order to paid).
func disorderScenarios() []struct {
	gateway  string
	name     string
	events   []delivery
	want     order.Status
	revisits bool
} {
	refund := func(n int64) func(*payloads.Stripe) { return func(e *payloads.Stripe) { e.Refunded = n } }
	return []struct {
		gateway  string
		name     string
		events   []delivery
		want     order.Status
		revisits bool
	}{
		{"stripe", "declined, paid, refunded in part then in full", []delivery{
			stripeEv("payment_intent.payment_failed", nil), stripeEv("checkout.session.completed", nil),
			stripeEv("charge.refunded", refund(1000)), stripeEv("charge.refunded", refund(4000))}, order.Refunded, false},
		{"stripe", "async payment succeeds, then disputed and won", []delivery{
			stripeEv("checkout.session.completed", func(e *payloads.Stripe) { e.PaymentStatus = "unpaid" }),
			stripeEv("checkout.session.async_payment_succeeded", nil),
			stripeEv("charge.dispute.created", nil),
			stripeEv("charge.dispute.closed", func(e *payloads.Stripe) { e.DisputeStatus = "won" })}, order.Paid, true},
		{"stripe", "async payment fails after a decline", []delivery{
			stripeEv("payment_intent.payment_failed", nil),
			stripeEv("checkout.session.completed", func(e *payloads.Stripe) { e.PaymentStatus = "unpaid" }),
			stripeEv("checkout.session.async_payment_failed", nil)}, order.Failed, true}, // failed, retried, failed again
		{"stripe", "declined twice then expired", []delivery{
			stripeEv("payment_intent.payment_failed", nil), stripeEv("payment_intent.payment_failed", nil),
			stripeEv("checkout.session.expired", nil)}, order.Expired, false},
		{"stripe", "paid, partly refunded, disputed and lost", []delivery{
			stripeEv("checkout.session.completed", nil), stripeEv("charge.refunded", refund(500)),
			stripeEv("charge.dispute.created", nil),
			stripeEv("charge.dispute.closed", func(e *payloads.Stripe) { e.DisputeStatus = "lost" })}, order.Refunded, false},
		{"razorpay", "failed, then authorized, captured, order paid", []delivery{
			rzpEv("payment.failed", func(e *payloads.Razorpay) { e.PaymentID = "pay_first" + e.OrderID[4:16] }),
			rzpEv("payment.authorized", nil), rzpEv("payment.captured", nil), rzpEv("order.paid", nil)}, order.Paid, false},
		{"razorpay", "captured then refunded in two parts", []delivery{
			rzpEv("payment.captured", nil), rzpEv("order.paid", nil),
			rzpEv("refund.processed", func(e *payloads.Razorpay) { e.Refunded = 9800 }),
			rzpEv("refund.processed", func(e *payloads.Razorpay) { e.Refunded = 39800 })}, order.Refunded, false},
		{"razorpay", "captured, disputed, lost", []delivery{
			rzpEv("payment.authorized", nil), rzpEv("payment.captured", nil),
			rzpEv("payment.dispute.created", nil), rzpEv("payment.dispute.lost", nil)}, order.Refunded, false},
		{"stripe", "a Payment Link session and another session name it, it is declined, then expires", []delivery{
			stripeEv("checkout.session.completed", func(e *payloads.Stripe) {
				e.SessionID, e.NoMetadata, e.ClientReferenceID, e.PaymentIntentID = "cs_test_link"+e.OrderID[4:], true, e.OrderID, "pi_link"+e.OrderID[4:]
			}),
			stripeEv("checkout.session.completed", func(e *payloads.Stripe) {
				e.SessionID, e.PaymentIntentID = "cs_test_other"+e.OrderID[4:], "pi_other"+e.OrderID[4:]
			}),
			stripeEv("payment_intent.payment_failed", nil),
			stripeEv("checkout.session.expired", nil)}, order.Expired, false},
		{"razorpay", "a payment on another Razorpay order names it in its notes; its own attempt is declined", []delivery{
			rzpEv("payment.captured", func(e *payloads.Razorpay) {
				e.RazorpayOrderID, e.PaymentID = "order_other"+e.OrderID[4:12], "pay_other"+e.OrderID[4:12]
				e.PaymentNotes = map[string]string{"order_id": e.OrderID}
			}),
			rzpEv("payment.failed", nil)}, order.Pending, false},
		{"razorpay", "captured twice by two payments", []delivery{
			rzpEv("payment.captured", nil), rzpEv("order.paid", nil),
			rzpEv("payment.captured", func(e *payloads.Razorpay) { e.PaymentID = "pay_second" + e.OrderID[4:12] })}, order.Paid, false},
		{"razorpay", "underpaid capture", []delivery{
			rzpEv("payment.authorized", func(e *payloads.Razorpay) { e.Amount = 100 }),
			rzpEv("payment.captured", func(e *payloads.Razorpay) { e.Amount = 100 }),
			rzpEv("order.paid", func(e *payloads.Razorpay) { e.Amount = 100 })}, order.AmountMismatch, false},
	}
}

// TestDisorder_EveryPermutationWithDuplicates delivers each scenario's
// events in every order (generated, not hand-picked), each permutation with
// random redeliveries mixed in, through the HTTP handlers, on both stores.
func TestDisorder_EveryPermutationWithDuplicates(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for _, sc := range disorderScenarios() {
				perms := permute.All(len(sc.events))
				e := newEnv(t, kind)
				for _, perm := range perms {
					c := e.checkout(sc.gateway, map[string]string{"stripe": `[{"sku":"tee-m","quantity":2}]`, "razorpay": `[{"sku":"sticker-in","quantity":2}]`}[sc.gateway])
					rzpID := e.get(c.OrderID).SessionRef
					// Deliver in this order, redelivering earlier events at random.
					var sent []int
					for _, i := range perm {
						sent = append(sent, i)
						if rng.IntN(3) == 0 {
							sent = append(sent, sent[rng.IntN(len(sent))])
						}
					}
					for _, i := range sent {
						if r := sc.events[i].send(e, c.OrderID, rzpID); r.Status != 200 {
							t.Fatalf("%s %v: %s answered %d %s", sc.name, perm, sc.events[i].name, r.Status, r.Body)
						}
					}
					if got := e.get(c.OrderID).Status; got != sc.want {
						t.Fatalf("%s, order %v (sent %v): ended %s, want %s", sc.name, perm, sent, got, sc.want)
					}
					reached, _ := e.moves.Load(c.OrderID)
					seen := map[order.Status]bool{}
					for _, s := range asStatuses(reached) {
						if seen[s] && !sc.revisits {
							t.Fatalf("%s %v: moved to %s twice (%v)", sc.name, perm, s, reached)
						}
						seen[s] = true
					}
				}
				t.Logf("%s: %d permutations", sc.name, len(perms))
			}
		})
	}
}

func asStatuses(v any) []order.Status { s, _ := v.([]order.Status); return s }

// TestStorm_200DeliveriesOf20EventsOver10Orders: every delivery at once;
// every order ends right and every winning move ran its effect exactly once.
func TestStorm_200DeliveriesOf20EventsOver10Orders(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			var mu sync.Mutex
			type effect struct {
				id      string
				version int64
			}
			fired := map[effect]int{}
			reached := map[string]map[int64]order.Status{} // order → version → status its effect saw
			e.h = wrapEffects(t, e, func(after order.Order) {
				mu.Lock()
				defer mu.Unlock()
				fired[effect{after.ID, after.Version}]++
				if reached[after.ID] == nil {
					reached[after.ID] = map[int64]order.Status{}
				}
				reached[after.ID][after.Version] = after.Status
			})
			type target struct {
				c    created
				want order.Status
				evs  []delivery
			}
			var targets []target
			for i := 0; i < 10; i++ {
				c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
				evs := []delivery{stripeEv("checkout.session.completed", nil), stripeEv("charge.refunded", func(ev *payloads.Stripe) { ev.Refunded = 1000 })}
				want := order.PartiallyRefunded
				if i%2 == 1 {
					evs = []delivery{stripeEv("payment_intent.payment_failed", nil), stripeEv("checkout.session.expired", nil)}
					want = order.Expired
				}
				targets = append(targets, target{c, want, evs})
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan string, 200)
			for n := 0; n < 200; n++ {
				tg := targets[n%10]
				ev := tg.evs[(n/10)%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if r := ev.send(e, tg.c.OrderID, ""); r.Status != 200 {
						errs <- fmt.Sprintf("%s: %d %s", ev.name, r.Status, r.Body)
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, tg := range targets {
				o := e.get(tg.c.OrderID)
				if o.Status != tg.want {
					t.Errorf("%s ended %s, want %s", o.ID, o.Status, tg.want)
				}
				// Evidence that arrives after a higher one changes nothing
				// (a decline after an expiry), so one or two moves are both
				// right; the latest version must be where the order is.
				// Effects of concurrent moves may run in either order, so
				// they are ordered by the version each one saw.
				moves := reached[o.ID]
				versions := slices.Sorted(maps.Keys(moves))
				if len(versions) == 0 || len(versions) > 2 || moves[versions[len(versions)-1]] != o.Status {
					t.Errorf("%s: effects saw %v, order is %s", o.ID, moves, o.Status)
				}
			}
			for k, n := range fired {
				if n != 1 {
					t.Errorf("effect for %s v%d ran %d times", k.id, k.version, n)
				}
			}
		})
	}
}

func mustLoad(m *sync.Map, k string) any { v, _ := m.Load(k); return v }
