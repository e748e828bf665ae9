package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/stripeverify"
)

// These tests are invariant 9 (provenance) from an attacker's side: every
// event is genuinely signed by the gateway, and still must move only the
// order it belongs to.

func (e *env) mustBe(id string, want order.Status) *order.Order {
	e.t.Helper()
	o := e.get(id)
	if o.Status != want {
		e.t.Fatalf("order %s is %s, want %s (%+v)", id, o.Status, want, o.Evidence)
	}
	return o
}

func TestRazorpayWebhook_ClientSetNotesNeverChooseTheOrder(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			a, rzpA := e.rzpOrder()
			b, _ := e.rzpOrder() // the same cart: the same amount
			// The customer pays A's Razorpay order, with Checkout notes
			// (set in the browser) naming B.
			e.mustReceiveRzp(payloads.Razorpay{Type: "payment.captured", OrderID: b.OrderID, RazorpayOrderID: rzpA, PaymentID: "pay_onepayment", Amount: 39800,
				PaymentNotes: map[string]string{"order_id": b.OrderID}})
			e.mustBe(b.OrderID, order.Pending)
			e.mustBe(a.OrderID, order.Paid)
			e.mustReceiveRzp(payloads.Razorpay{Type: "order.paid", OrderID: a.OrderID, RazorpayOrderID: rzpA, PaymentID: "pay_onepayment", Amount: 39800})
			e.mustBe(a.OrderID, order.Paid)
			if got := e.mustBe(b.OrderID, order.Pending); got.Version != 1 {
				t.Fatalf("B was written: version %d", got.Version)
			}
		})
	}
}

func TestRazorpayWebhook_AnAttackersOwnOrderCannotTouchAVictim(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			victim, _ := e.rzpOrder()
			attacker := e.checkout("razorpay", `[{"sku":"sticker-in","quantity":1}]`)
			rzpAttacker := e.get(attacker.OrderID).SessionRef
			for _, ev := range []payloads.Razorpay{
				{Type: "payment.failed", PaymentID: "pay_attack1", Reason: "Pay again at evil.example"},
				{Type: "payment.captured", PaymentID: "pay_attack2", Amount: 19900},
				{Type: "refund.processed", PaymentID: "pay_attack2", Amount: 19900, Refunded: 19900},
			} {
				ev.OrderID, ev.RazorpayOrderID = victim.OrderID, rzpAttacker
				ev.PaymentNotes = map[string]string{"order_id": victim.OrderID}
				e.mustReceiveRzp(ev)
			}
			v := e.mustBe(victim.OrderID, order.Pending)
			if v.FailureReason != "" || v.Evidence.Mismatch || v.Version != 1 {
				t.Fatalf("the victim's order was written: %+v", v)
			}
			// A Razorpay order jampay never made, naming the victim: parked
			// (it may be ours later), never applied to the victim.
			e.mustReceiveRzp(payloads.Razorpay{Type: "payment.captured", OrderID: victim.OrderID, RazorpayOrderID: "order_notjampays01", Amount: 39800,
				PaymentNotes: map[string]string{"order_id": victim.OrderID}})
			e.mustBe(victim.OrderID, order.Pending)
			if !strings.Contains(logs.String(), `"msg":"payment without order"`) {
				t.Fatal("money that found no order was not logged for the owner")
			}
		})
	}
}

func TestStripeWebhook_ASessionJampayDidNotMakeNeverPays(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
			// A Payment Link: no metadata of ours, client_reference_id
			// chosen by whoever made the link.
			e.mustReceive(payloads.Stripe{Type: "checkout.session.completed", SessionID: "cs_test_paymentlink", NoMetadata: true,
				ClientReferenceID: c.OrderID, PaymentIntentID: "pi_link", Amount: 4000})
			// Another session of the same account that names the order in
			// its metadata (another integration, or a replayed checkout).
			e.mustReceive(payloads.Stripe{Type: "checkout.session.completed", SessionID: "cs_test_another", OrderID: c.OrderID,
				PaymentIntentID: "pi_other", Amount: 4000})
			e.mustReceive(payloads.Stripe{Type: "checkout.session.expired", SessionID: "cs_test_another", OrderID: c.OrderID})
			if o := e.mustBe(c.OrderID, order.Pending); o.Version != 1 || o.PaymentRef != "" {
				t.Fatalf("the order was written by a session not its own: %+v", o)
			}
			// Its own session still pays it.
			e.mustReceive(completed(c.OrderID, 4000))
			e.mustBe(c.OrderID, order.Paid)
		})
	}
}

func TestStripeWebhook_EventsOfTheOtherModeAreIgnored(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	live := completed(c.OrderID, 4000)
	live.Livemode = true
	e.mustReceive(live)
	e.mustBe(c.OrderID, order.Pending)
	if !strings.Contains(logs.String(), `"msg":"webhook ignored"`) {
		t.Fatal("the ignored event was not logged")
	}

	// A live shop ignores test events, though both secrets are listed.
	store := newStore(t, memory)
	e.store = store
	e.h = api.Handler(api.Deps{
		Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": e.gw},
		Webhooks: map[string]api.WebhookParser{"stripe": &stripeverify.Verifier{Secrets: []string{whsec, whsecNext}, Mode: "live"}},
		Logger:   quietLogger(),
	})
	c = e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	e.mustReceive(completed(c.OrderID, 4000))
	e.mustBe(c.OrderID, order.Pending)
	live = completed(c.OrderID, 4000)
	live.Livemode = true
	e.mustReceive(live)
	e.mustBe(c.OrderID, order.Paid)
}

// TestWebhook_AParkedDisputeSurvivesAReplayCutShort parks a dispute that
// arrives before the completed session, then fails each store call of the
// replay the completed session starts: its redelivery (a duplicate) takes
// the replay up again, and the order ends disputed, not paid.
func TestWebhook_AParkedDisputeSurvivesAReplayCutShort(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			// Delivering the completed session makes these store calls:
			// read, move, read parked, (replayed dispute: find, read,
			// move), unpark, clear. Fail each from the third on.
			for n := int64(3); n <= 9; n++ {
				e := newEnv(t, kind)
				f := &faultyStore{Store: e.store, failAt: -1}
				e.store = f
				e.h = wrapEffects(t, e, func(order.Order) {})
				c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
				e.mustReceive(payloads.Stripe{Type: "charge.dispute.created", OrderID: c.OrderID, Amount: 4000})
				e.mustBe(c.OrderID, order.Pending)
				body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, SessionID: e.checkoutRef(c.OrderID), Amount: 4000}.Payload()
				f.calls.Store(0)
				f.failAt = n
				first := e.signedStripe(body, whsec, time.Now())
				f.failAt = -1
				if first.Status != 200 && first.Status != 503 {
					t.Fatalf("call %d failing: %d %s", n, first.Status, first.Body)
				}
				if again := e.signedStripe(body, whsec, time.Now()); again.Status != 200 {
					t.Fatalf("call %d failing, redelivery: %d %s", n, again.Status, again.Body)
				}
				o := e.mustBe(c.OrderID, order.Disputed)
				if len(o.PendingReplay) != 0 {
					t.Fatalf("call %d failing: the replay mark stayed: %v", n, o.PendingReplay)
				}
				if left, err := f.Store.Parked(context.Background(), "stripe", o.PaymentRef); err != nil || len(left) != 0 {
					t.Fatalf("call %d failing: still parked after the replay: %v %v", n, left, err)
				}
				if got := asStatuses(mustLoad(&e.moves, c.OrderID)); len(got) != 2 {
					t.Fatalf("call %d failing: effects %v, want paid then disputed once each", n, got)
				}
			}
		})
	}
}

func TestRazorpayWebhook_ASecondCaptureIsRecordedAndLogged(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			c, rzp := e.rzpOrder()
			for _, ev := range []payloads.Razorpay{
				{Type: "payment.failed", PaymentID: "pay_declined01"},
				{Type: "payment.captured", PaymentID: "pay_captured01"},
				{Type: "order.paid", PaymentID: "pay_captured01"},
			} {
				ev.OrderID, ev.RazorpayOrderID, ev.Amount = c.OrderID, rzp, 39800
				e.mustReceiveRzp(ev)
			}
			o := e.mustBe(c.OrderID, order.Paid)
			if o.PaymentRef != "pay_captured01" || len(o.Evidence.ExtraPayments) != 0 {
				t.Fatalf("the order's payment is %q (extra %v), want the captured one", o.PaymentRef, o.Evidence.ExtraPayments)
			}
			e.mustReceiveRzp(payloads.Razorpay{Type: "payment.captured", OrderID: c.OrderID, RazorpayOrderID: rzp, PaymentID: "pay_captured02", Amount: 39800})
			o = e.mustBe(c.OrderID, order.Paid)
			if len(o.Evidence.ExtraPayments) != 1 || o.Evidence.ExtraPayments[0] != "pay_captured02" || o.PaymentRef != "pay_captured01" {
				t.Fatalf("a second capture: %+v", o.Evidence)
			}
			if !strings.Contains(logs.String(), "second payment on a paid order") {
				t.Fatal("the double charge was not logged")
			}
			// The owner refunds the double charge: the order stays paid by
			// its own payment.
			e.mustReceiveRzp(payloads.Razorpay{Type: "refund.processed", OrderID: c.OrderID, RazorpayOrderID: rzp, PaymentID: "pay_captured02", Amount: 39800, Refunded: 39800})
			if o = e.mustBe(c.OrderID, order.Paid); len(o.Evidence.ExtraRefunded) != 1 || o.Evidence.Refunded != 0 {
				t.Fatalf("after refunding the second payment: %+v", o.Evidence)
			}
		})
	}
}

// TestStripeWebhook_AdaptivePricingNeverTurnsAPaidOrderMismatched: a
// session paid in the customer's currency (as Stripe reported sessions
// created before 2025-03-30) and refunded on a charge in that currency.
func TestStripeWebhook_AdaptivePricingNeverTurnsAPaidOrderMismatched(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	e.mustReceive(payloads.Stripe{Type: "checkout.session.completed", OrderID: c.OrderID, Amount: 4000, PresentmentCurrency: "eur", PresentmentAmount: 3712})
	e.mustBe(c.OrderID, order.Paid)
	e.mustReceive(payloads.Stripe{Type: "payment_intent.payment_failed", OrderID: c.OrderID, Amount: 3712, Currency: "eur"})
	e.mustReceive(payloads.Stripe{Type: "charge.refunded", OrderID: c.OrderID, Amount: 3712, Currency: "eur", Refunded: 1000})
	e.mustBe(c.OrderID, order.PartiallyRefunded)
	e.mustReceive(payloads.Stripe{Type: "charge.dispute.created", OrderID: c.OrderID, Amount: 3712, Currency: "eur"})
	e.mustReceive(payloads.Stripe{Type: "charge.dispute.closed", OrderID: c.OrderID, Amount: 3712, Currency: "eur", DisputeStatus: "won"})
	e.mustReceive(payloads.Stripe{Type: "charge.refunded", OrderID: c.OrderID, Amount: 3712, Currency: "eur", Refunded: 3712})
	if o := e.mustBe(c.OrderID, order.Refunded); o.Evidence.Mismatch {
		t.Fatalf("flagged a mismatch: %+v", o.Evidence)
	}
	// A session that really took too little in the order's own currency
	// is still flagged.
	d := e.checkout("stripe", `[{"sku":"tee-m","quantity":2}]`)
	e.mustReceive(payloads.Stripe{Type: "checkout.session.completed", OrderID: d.OrderID, Amount: 400, PresentmentCurrency: "eur", PresentmentAmount: 3712})
	e.mustBe(d.OrderID, order.AmountMismatch)
}

func TestVerifiers_AnEmptySecretVerifiesNothing(t *testing.T) {
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: "ord_x", Amount: 4000}.Payload()
	for _, secret := range []string{"", "whsec_"} {
		e := newEnv(t, memory)
		e.h = api.Handler(api.Deps{Store: e.store, Logger: quietLogger(), Webhooks: map[string]api.WebhookParser{
			"stripe":   &stripeverify.Verifier{Secrets: []string{secret}},
			"razorpay": &razorpayhook.Verifier{Secrets: []string{secret}},
		}})
		if r := e.signedStripe(body, secret, time.Now()); r.Status != 400 || r.errorCode(t) != "invalid_signature" {
			t.Fatalf("Stripe, secret %q: %d %s", secret, r.Status, r.Body)
		}
		rbody, id, _ := payloads.Razorpay{Type: "payment.captured", OrderID: "ord_x", Amount: 100}.Payload()
		if r := e.signedRazorpay(rbody, id, secret); secret == "" && (r.Status != 400 || r.errorCode(t) != "invalid_signature") {
			t.Fatalf("Razorpay, secret %q: %d %s", secret, r.Status, r.Body)
		}
	}
}
