package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/shop"
)

var ctx = context.Background()

// checkout opens a sandbox checkout for a test order and returns the order
// as jampay stores it (its session and deadline) and where its buttons post.
func (r *rig) checkout(gateway, id string) (order.Order, string) {
	r.Helper()
	o := testOrder(id)
	var co order.Checkout
	var err error
	var action string
	if gateway == "stripe" {
		co, err = r.sb.Stripe().CreateCheckout(ctx, o)
		action = r.url + "/sandbox/stripe/" + co.SessionRef + "/"
	} else {
		o.Currency = "inr"
		co, err = r.sb.Razorpay().CreateCheckout(ctx, o)
		action = r.url + "/sandbox/razorpay/" + co.SessionRef + "/"
	}
	if err != nil {
		r.Fatal(err)
	}
	o.Gateway, o.SessionRef, o.Deadline = gateway, co.SessionRef, co.Deadline
	return *o, action
}

func (r *rig) inquirer(gateway string) shop.Inquirer {
	if gateway == "stripe" {
		return r.sb.Stripe()
	}
	return r.sb.Razorpay()
}

func (r *rig) refunder(gateway string) shop.Refunder {
	if gateway == "stripe" {
		return r.sb.Stripe()
	}
	return r.sb.Razorpay()
}

// sameFact checks that reconcile's event says what the webhook said: the
// same meaning, order, references and money, under reconcile's own id.
func sameFact(t *testing.T, got, webhook order.Event) {
	t.Helper()
	if got.Source != order.SourceReconcile || !strings.HasPrefix(got.ID, "recon_") || got.Gateway != webhook.Gateway {
		t.Errorf("reconcile's event %+v: want source reconcile, a recon_ id, gateway %s", got, webhook.Gateway)
	}
	type fact struct {
		Type, OrderID, SessionRef, PaymentRef, Currency, Reason string
		Kind                                                    order.Kind
		Amount, Refunded                                        int64
		Refs                                                    string
	}
	of := func(e order.Event) fact {
		return fact{e.Type, e.OrderID, e.SessionRef, e.PaymentRef, e.Currency, e.Reason, e.Kind, e.Amount, e.Refunded, strings.Join(e.Refs, ",")}
	}
	if of(got) != of(webhook) {
		t.Errorf("reconcile read\n %+v\nthe webhook said\n %+v", of(got), of(webhook))
	}
}

// "Pay, but lose the webhook" pays in the sandbox's books and sends the
// customer on, with nothing delivered; Missed hands reconcile exactly the
// webhooks that were lost, each once, under the id the webhook carries.
func TestLoseTheWebhook_MissedHandsOverWhatWasLost(t *testing.T) {
	for _, tc := range []struct {
		gateway string
		types   []string
		kinds   []order.Kind
	}{
		{"stripe", []string{"checkout.session.completed"}, []order.Kind{order.KindPaid}},
		{"razorpay", []string{"payment.authorized", "payment.captured", "order.paid"}, []order.Kind{order.KindProcessing, order.KindPaid, order.KindPaid}},
	} {
		t.Run(tc.gateway, func(t *testing.T) {
			r := newRig(t)
			o, action := r.checkout(tc.gateway, "ord_lose_"+tc.gateway)
			resp, body := r.post(action + "pay-lose-webhook")
			var payment string
			if tc.gateway == "stripe" {
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != r.url+"/success.html" {
					t.Fatalf("pay, but lose the webhook: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
				}
			} else {
				// Checkout hands the page its payment, as after Pay.
				var h map[string]string
				_ = json.Unmarshal([]byte(body), &h)
				payment = h["razorpay_payment_id"]
				if resp.StatusCode != http.StatusOK || h["razorpay_signature"] != razorpayhook.Sign([]byte(o.SessionRef+"|"+payment), "key_secret") {
					t.Fatalf("pay, but lose the webhook: %d %s", resp.StatusCode, body)
				}
			}
			if ev := r.events(); len(ev) != 0 {
				t.Fatalf("a lost webhook was delivered: %v", ev)
			}
			// The checkout is paid: no second payment.
			if resp, _ := r.post(action + "pay"); resp.StatusCode == http.StatusOK || len(r.events()) != 0 {
				t.Fatalf("a paid checkout took another payment: %d", resp.StatusCode)
			}

			inq := r.inquirer(tc.gateway)
			since := time.Now().Add(-time.Hour)
			got, next, err := inq.Missed(ctx, "", since, 2)
			if err != nil || len(got) != min(2, len(tc.types)) || next == "" {
				t.Fatalf("Missed: %d events, next %q, %v", len(got), next, err)
			}
			if len(got) < len(tc.types) {
				// A page of two: the rest follow from its cursor.
				more, after, err := inq.Missed(ctx, next, since, 2)
				if err != nil || after == next {
					t.Fatalf("next page: %v, cursor %q → %q", err, next, after)
				}
				got, next = append(got, more...), after
			}
			ids := map[string]bool{}
			for i, e := range got {
				if e.Type != tc.types[i] || e.Kind != tc.kinds[i] || e.Gateway != tc.gateway || e.Source != order.SourceReconcile ||
					e.SessionRef != o.SessionRef || e.Amount != o.Amount || !strings.HasPrefix(e.ID, "evt_") || ids[e.ID] {
					t.Errorf("missed event %d: %+v", i, e)
				}
				if tc.gateway == "razorpay" && e.PaymentRef != payment {
					t.Errorf("missed event %d names payment %s, Checkout gave %s", i, e.PaymentRef, payment)
				}
				ids[e.ID] = true
			}
			if again, after, err := inq.Missed(ctx, next, since, 10); err != nil || len(again) != 0 || after != next {
				t.Fatalf("Missed after the last cursor: %d events, cursor %q → %q, %v", len(again), next, after, err)
			}
			// Each gateway hands over its own lost webhooks only.
			other := r.inquirer(map[string]string{"stripe": "razorpay", "razorpay": "stripe"}[tc.gateway])
			if ev, _, _ := other.Missed(ctx, "", since, 10); len(ev) != 0 {
				t.Fatalf("the other gateway's Missed: %+v", ev)
			}
			// A sweep that starts after the loss does not see it.
			if ev, _, _ := inq.Missed(ctx, "", time.Now().Add(time.Hour), 10); len(ev) != 0 {
				t.Fatalf("Missed since after the loss: %+v", ev)
			}
		})
	}
}

// Past its deadline, the Stripe sandbox answers reconcile as stripeinquiry
// reads a Checkout Session: paid is the webhook's completed event; an open
// session is expired first, so nothing can be paid after, and keeps its
// last decline.
func TestStripe_InquireReadsTheSessionAsItsWebhook(t *testing.T) {
	r := newRig(t)
	paid, action := r.checkout("stripe", "ord_inq_paid")
	r.post(action + "pay")
	webhook := r.decoded()
	if len(webhook) != 1 {
		t.Fatalf("pay delivered %d webhooks", len(webhook))
	}
	inq := r.sb.Stripe()
	if got, err := inq.Inquire(ctx, paid, paid.Deadline.Add(-time.Second)); err != nil || got != nil {
		t.Fatalf("before the deadline: %+v %v", got, err)
	}
	got, err := inq.Inquire(ctx, paid, paid.Deadline.Add(time.Minute))
	if err != nil || len(got) != 1 {
		t.Fatalf("a paid session: %+v %v", got, err)
	}
	sameFact(t, got[0], webhook[0])

	open, action := r.checkout("stripe", "ord_inq_open")
	r.post(action + "decline")
	decline := r.decoded()
	got, err = inq.Inquire(ctx, open, open.Deadline.Add(time.Minute))
	if err != nil || len(got) != 2 || got[1].Kind != order.KindExpired || got[1].SessionRef != open.SessionRef || got[1].OrderID != open.ID {
		t.Fatalf("an open session past its deadline: %+v %v", got, err)
	}
	sameFact(t, got[0], decline[0])
	// Expired at the sandbox: the page takes no more payments.
	r.post(action + "pay")
	if ev := r.events(); len(ev) != 0 {
		t.Fatalf("a session reconcile expired was paid: %v", ev)
	}
	if html := r.page(strings.TrimSuffix(action, "/")); !strings.Contains(html, "This checkout has expired") {
		t.Fatalf("expired session page:\n%s", html)
	}
	// A session the sandbox no longer has cannot be paid either.
	gone := open
	gone.ID, gone.SessionRef = "ord_inq_gone", "cs_sandbox_gone"
	if got, err := inq.Inquire(ctx, gone, gone.Deadline.Add(time.Minute)); err != nil || len(got) != 1 || got[0].Kind != order.KindExpired || got[0].OrderID != gone.ID {
		t.Fatalf("a forgotten session: %+v %v", got, err)
	}
}

// Razorpay sends nothing when a customer walks away: the sandbox answers
// reconcile with the order's payments as razorpayinquiry reads them, and
// an expiry only shop.ExpiryGrace past the deadline, and only if nothing
// was captured.
func TestRazorpay_InquireExpiresAfterTheGraceOnly(t *testing.T) {
	r := newRig(t)
	o, action := r.checkout("razorpay", "ord_inq_rzp")
	inq := r.sb.Razorpay()
	at := func(d time.Duration) []order.Event {
		t.Helper()
		got, err := inq.Inquire(ctx, o, o.Deadline.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := at(shop.ExpiryGrace + time.Minute); len(got) != 1 || got[0].Kind != order.KindExpired ||
		got[0].OrderID != o.ID || got[0].SessionRef != o.SessionRef || got[0].Source != order.SourceReconcile {
		t.Fatalf("walked away, past the grace: %+v", got)
	}
	r.post(action + "decline")
	decline := r.decoded()
	if got := at(-time.Second); got != nil {
		t.Fatalf("before the deadline: %+v", got)
	}
	got := at(shop.ExpiryGrace - time.Minute)
	if len(got) != 1 {
		t.Fatalf("declined, within the grace: %+v", got)
	}
	sameFact(t, got[0], decline[0])
	if got := at(shop.ExpiryGrace + time.Minute); len(got) != 2 || got[1].Kind != order.KindExpired {
		t.Fatalf("declined, past the grace: %+v", got)
	}
	// A payment made late still pays it, and nothing expires it.
	r.post(action + "pay")
	var captured order.Event
	for _, e := range r.decoded() {
		if e.Type == "payment.captured" {
			captured = e
		}
	}
	got = at(shop.ExpiryGrace + time.Minute)
	if len(got) != 2 || got[1].Kind != order.KindPaid {
		t.Fatalf("paid late: %+v", got)
	}
	sameFact(t, got[1], captured)
}

// A refund is booked once per idempotency key, never past what was paid,
// and confirmed as the gateway confirms it: by its refund webhook, sent
// after the refund is answered, with the cumulative amount refunded; a
// webhook that cannot be delivered is one Missed hands over.
func TestRefund_ConfirmedByTheGatewaysWebhook(t *testing.T) {
	for _, tc := range []struct{ gateway, typ, paymentPrefix string }{
		{"stripe", "charge.refunded", "pi_sandbox_"},
		{"razorpay", "refund.processed", "pay_"},
	} {
		t.Run(tc.gateway, func(t *testing.T) {
			r := newRig(t)
			o, action := r.checkout(tc.gateway, "ord_refund_"+tc.gateway)
			refunder := r.refunder(tc.gateway)
			if _, err := refunder.Refund(ctx, o, 1000, "k0"); order.ErrorCode(err) != order.CodeRefundRefused || !strings.Contains(err.Error(), "never paid") {
				t.Fatalf("refund of an unpaid order: %v", err)
			}
			r.post(action + "pay")
			var paidBy string
			for _, e := range r.decoded() {
				paidBy = e.PaymentRef
			}

			id, err := refunder.Refund(ctx, o, 1000, "k1")
			if err != nil || id == "" {
				t.Fatalf("refund: %q %v", id, err)
			}
			r.sb.Wait()
			heard := r.decoded()
			if len(heard) != 1 || heard[0].Type != tc.typ || heard[0].Kind != order.KindRefunded || heard[0].Refunded != 1000 ||
				heard[0].PaymentRef != paidBy || !strings.HasPrefix(paidBy, tc.paymentPrefix) {
				t.Fatalf("the refund's webhook: %+v (paid by %s)", heard, paidBy)
			}
			// The same key is the same refund: nothing more happens.
			if again, err := refunder.Refund(ctx, o, 1000, "k1"); err != nil || again != id {
				t.Fatalf("the same key again: %q %v, want %q", again, err, id)
			}
			r.sb.Wait()
			if ev := r.events(); len(ev) != 0 {
				t.Fatalf("the same key refunded again: %v", ev)
			}
			second, err := refunder.Refund(ctx, o, 3000, "k2")
			if err != nil || second == id {
				t.Fatalf("a second refund: %q %v", second, err)
			}
			r.sb.Wait()
			raw := r.events()
			if len(raw) != 1 {
				t.Fatalf("the second refund sent %d webhooks", len(raw))
			}
			if tc.gateway == "stripe" && get(raw[0], "data.object.amount_refunded") != 4000.0 {
				t.Fatalf("charge.refunded amount_refunded %v, want the cumulative 4000", get(raw[0], "data.object.amount_refunded"))
			}
			if tc.gateway == "razorpay" && (get(raw[0], "payload.refund.entity.amount") != 3000.0 ||
				get(raw[0], "payload.refund.entity.id") != second || get(raw[0], "payload.payment.entity.amount_refunded") != 4000.0) {
				t.Fatalf("refund.processed: %v", raw[0])
			}
			// A refusal for good: the shop stops counting the request.
			if _, err := refunder.Refund(ctx, o, 1, "k3"); order.ErrorCode(err) != order.CodeRefundRefused || !strings.Contains(err.Error(), "more than") {
				t.Fatalf("refund past what was paid: %v", err)
			}

			// jampay down when the webhook is sent: reconcile finds it.
			o2, action2 := r.checkout(tc.gateway, "ord_refund2_"+tc.gateway)
			r.post(action2 + "pay")
			r.events()
			r.down.Store(true)
			if _, err := refunder.Refund(ctx, o2, 4000, "k4"); err != nil {
				t.Fatal(err)
			}
			r.sb.Wait()
			missed, _, err := r.inquirer(tc.gateway).Missed(ctx, "", time.Now().Add(-time.Hour), 10)
			if err != nil || len(missed) != 1 || missed[0].Type != tc.typ || missed[0].Refunded != 4000 || missed[0].Source != order.SourceReconcile {
				t.Fatalf("the undelivered refund webhook: %+v %v", missed, err)
			}
		})
	}
}
