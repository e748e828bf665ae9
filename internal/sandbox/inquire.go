package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpayinquiry"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw/stripeinquiry"
	"github.com/jampay/jampay/pkg/stripehook"
)

// Both gateways answer reconcile from the sandbox's books as the real
// ones answer it from their APIs: what they say is written as the webhook
// the gateway sends for it (internal/payloads) and read with that
// webhook's own decoder, so a fact reads the same whichever way it came.
// Event ids follow stripeinquiry's and razorpayinquiry's ("recon_" + the
// object + its state), so asking twice, or a webhook of the same fact
// arriving later, changes nothing the evidence has not.
var (
	_ shop.Inquirer = (*StripeGateway)(nil)
	_ shop.Inquirer = (*RazorpayGateway)(nil)
)

// Inquire says what the sandbox's Checkout Session for o says once o's
// deadline has passed: a session still open is expired first, as reconcile
// expires a real one, so nothing can be paid after; then it is completed
// (paid) or expired, with its last decline. A session the sandbox no longer
// has (jampay serve restarted: its books live in memory) can no longer be
// paid, and reads as expired.
func (g *StripeGateway) Inquire(ctx context.Context, o order.Order, now time.Time) ([]order.Event, error) {
	if now.Before(o.Deadline) {
		return nil, nil // it can still be paid: nothing to say yet
	}
	ss, ok := g.s.byOrderID("stripe", o.ID)
	if !ok || ss.Ref != o.SessionRef {
		return []order.Event{{Gateway: "stripe", ID: "recon_" + o.ID + "_expired", Type: stripeinquiry.CheckoutExpired,
			Kind: order.KindExpired, Source: order.SourceReconcile, OrderID: o.ID, Created: now.UTC()}}, nil
	}
	g.s.mu.Lock()
	if ss.Closed == "" {
		ss.Closed, ss.Declined = "expired", ""
	}
	closed, lastDecline := ss.Closed, ss.LastDecline
	g.s.mu.Unlock()

	ev := payloads.Stripe{OrderID: ss.Order.ID, Amount: ss.Order.Amount, Currency: ss.Order.Currency,
		SessionID: ss.Ref, PaymentIntentID: ss.PaymentRef, Created: now}
	if closed == "paid" {
		ev.Type, ev.EventID = "checkout.session.completed", "recon_"+ss.Ref+"_complete_paid"
		e, err := decodeStripe(ev)
		return []order.Event{e}, err
	}
	var out []order.Event
	if lastDecline != "" {
		// The last declined attempt, whose webhook may be missing too: the
		// order keeps its reason when it expires (invariant 11).
		d := ev
		d.Type, d.EventID, d.Reason, d.DeclineCode = "payment_intent.payment_failed", "recon_"+ss.PaymentRef+"_payment_failed", lastDecline, "generic_decline"
		e, err := decodeStripe(d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	ev.Type, ev.EventID = "checkout.session.expired", "recon_"+ss.Ref+"_expired"
	e, err := decodeStripe(ev)
	return append(out, e), err
}

// Missed lists the Stripe webhooks the sandbox made and never delivered,
// after cursor, as Stripe's events API lists them: each keeps its evt_ id,
// so the webhook, should it come after all, is a duplicate.
func (g *StripeGateway) Missed(ctx context.Context, cursor string, since time.Time, limit int) ([]order.Event, string, error) {
	return g.s.missed("stripe", cursor, since, limit, func(l lostEvent) (order.Event, error) {
		e, err := stripehook.Decode(l.Body)
		e.Gateway = "stripe"
		return e, err
	})
}

// decodeStripe writes ev as Stripe's webhook and reads it back with the
// webhook's decoder, as reconcile's.
func decodeStripe(ev payloads.Stripe) (order.Event, error) {
	body, err := ev.Payload()
	if err != nil {
		return order.Event{}, err
	}
	e, err := decodeStripeBody(body)
	if err != nil {
		return order.Event{}, fmt.Errorf("sandbox: %s %s: %w", ev.Type, ev.EventID, err)
	}
	return e, nil
}

// decodeStripeBody reads a Stripe webhook body as reconcile's event.
func decodeStripeBody(body []byte) (order.Event, error) {
	e, err := stripehook.Decode(body)
	e.Gateway, e.Source = "stripe", order.SourceReconcile
	return e, err
}

// Inquire says what the sandbox's Razorpay order for o says once o's
// deadline has passed, as razorpayinquiry reads Razorpay's payments of an
// order: a captured payment is paid, a failed one a decline with its
// reason; with none captured, the order ends expired shop.ExpiryGrace past
// its deadline (Razorpay sends nothing when a customer walks away).
func (g *RazorpayGateway) Inquire(ctx context.Context, o order.Order, now time.Time) ([]order.Event, error) {
	if now.Before(o.Deadline) {
		return nil, nil // Checkout may still be paid: nothing to say yet
	}
	var payments []payment
	if ss, ok := g.s.byOrderID("razorpay", o.ID); ok && ss.Ref == o.SessionRef {
		g.s.mu.Lock()
		payments = append(payments, ss.Payments...)
		g.s.mu.Unlock()
	}
	var out []order.Event
	held := false
	for _, p := range payments {
		held = held || p.Status == "captured"
		ev := payloads.Razorpay{Type: paymentReading[p.Status],
			OrderID: o.ID, RazorpayOrderID: o.SessionRef, PaymentID: p.ID, Amount: o.Amount, Currency: o.Currency, Reason: p.Reason, Created: p.Created}
		e, err := decodeRazorpay(ev, "recon_"+p.ID+"_"+p.Status)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if !held && now.After(o.Deadline.Add(shop.ExpiryGrace)) {
		out = append(out, order.Event{Gateway: "razorpay", ID: "recon_" + cmp.Or(o.SessionRef, o.ID) + "_expired",
			Type: razorpayinquiry.CheckoutExpired, Kind: order.KindExpired, Source: order.SourceReconcile,
			OrderID: o.ID, SessionRef: o.SessionRef, Refs: order.Refs(o.SessionRef), Created: now.UTC()})
	}
	return out, nil
}

// paymentReading is the webhook a payment's state reads as, as
// razorpayinquiry reads Razorpay's.
var paymentReading = map[string]string{"captured": "payment.captured", "failed": "payment.failed"}

// Missed lists the Razorpay webhooks the sandbox made and never delivered,
// after cursor, each under the event id its X-Razorpay-Event-Id would have
// carried, so the webhook, should it come after all, is a duplicate.
func (g *RazorpayGateway) Missed(ctx context.Context, cursor string, since time.Time, limit int) ([]order.Event, string, error) {
	return g.s.missed("razorpay", cursor, since, limit, func(l lostEvent) (order.Event, error) {
		e, err := razorpayhook.Decode(l.Body)
		e.Gateway, e.ID = "razorpay", l.ID
		return e, err
	})
}

// decodeRazorpay writes ev as Razorpay's webhook and reads it back with
// the webhook's decoder, under reconcile's id.
func decodeRazorpay(ev payloads.Razorpay, id string) (order.Event, error) {
	body, _, err := ev.Payload()
	if err != nil {
		return order.Event{}, err
	}
	e, err := decodeRazorpayBody(body)
	if err != nil {
		return order.Event{}, fmt.Errorf("sandbox: %s %s: %w", ev.Type, id, err)
	}
	e.ID = id
	return e, nil
}

// decodeRazorpayBody reads a Razorpay webhook body as reconcile's event.
func decodeRazorpayBody(body []byte) (order.Event, error) {
	e, err := razorpayhook.Decode(body)
	e.Gateway, e.Source = "razorpay", order.SourceReconcile
	return e, err
}

// missed pages through the gateway's lost webhooks, oldest first. The
// cursor is the sequence number of the last one returned; with none, the
// sweep starts at since.
func (s *Sandbox) missed(gateway, cursor string, since time.Time, limit int, decode func(lostEvent) (order.Event, error)) ([]order.Event, string, error) {
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("sandbox: %s cursor %q is not one the sandbox gave", gateway, cursor)
		}
		after = n
	}
	s.mu.Lock()
	var page []lostEvent
	for _, l := range s.lost {
		if l.Gateway == gateway && l.Seq > after && (cursor != "" || !l.At.Before(since)) && len(page) < limit {
			page = append(page, l)
		}
	}
	s.mu.Unlock()
	out := make([]order.Event, 0, len(page))
	next := cursor
	for _, l := range page {
		e, err := decode(l)
		if err != nil {
			return nil, "", fmt.Errorf("sandbox: a lost %s webhook: %w", gateway, err)
		}
		e.Source = order.SourceReconcile
		out = append(out, e)
		next = strconv.FormatInt(l.Seq, 10)
	}
	return out, next, nil
}
