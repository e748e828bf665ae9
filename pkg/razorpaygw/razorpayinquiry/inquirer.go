// Package razorpayinquiry is what reconcile asks Razorpay's API: an
// order's payments once its deadline has passed, and the payments, refunds
// and disputes the webhooks may have missed. It reads what Razorpay
// answers with razorpayhook's decoder, so it lives apart from razorpaygw:
// the checkout function links razorpaygw and must link no webhook decoder.
package razorpayinquiry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/shop"
)

// gateway is the name events from Razorpay carry.
const gateway = "razorpay"

// CheckoutExpired is the type of the event Inquire makes for an order no
// payment was authorised for, ExpiryGrace past its deadline: Razorpay
// orders do not expire and no webhook says a customer walked away.
const CheckoutExpired = "jampay.checkout_expired"

// lateAuthWindow is how long after a payment is made Razorpay keeps asking
// the bank about one it marked failed: a late authorisation turns it
// authorized within it. Its reference says 5 days (3 in newer pages).
const lateAuthWindow = 5 * 24 * time.Hour

// releasedReason is the failure recorded for an authorisation nobody
// captured, which Razorpay gave back.
const releasedReason = "The payment was authorised but not captured, so Razorpay refunded it."

// Inquirer asks Razorpay's API what the webhooks may have missed: an
// order's payments once its deadline has passed, and the payments, refunds
// and disputes made since a cursor. Razorpay has no events API: each
// entity is wrapped in the webhook Razorpay would have sent for its state
// and decoded by razorpayhook.Decode, the webhook's own decoder, under an
// id "recon_" + the entity's id + its state, so reading the same state
// again is a duplicate, and the webhook of the same fact (under Razorpay's
// event id) changes nothing the evidence has not.
type Inquirer struct {
	api *api
	now func() time.Time
}

var _ shop.Inquirer = (*Inquirer)(nil)

// New returns reconcile's Razorpay client, from the checkout's settings
// (key id and secret, API base, Transport, Now, RetryWait).
func New(c razorpaygw.Config) *Inquirer {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Inquirer{
		api: &api{rest: c.REST(), wait: c.FirstWait()},
		now: c.Now,
	}
}

// Inquire says what Razorpay knows of o's payments once its deadline has
// passed, in one call (GET /v1/orders/{id}/payments): a captured payment
// is paid (amount and currency checked where it is applied), an authorized
// one processing, a failed one a decline with its reason. An order with no
// payment authorised or captured ends expired ExpiryGrace after its
// deadline (a bank's answer may still be on its way until then); a late
// authorisation after that still pays it (invariant 11).
//
// Capture is the owner's setting at Razorpay, never jampay's: an
// authorisation left uncaptured stays processing — money held, not taken,
// and never paid — and is read again on every run while the order is
// open (and by Missed's watch otherwise) until Razorpay captures it (paid)
// or, as it does within 5 days, refunds it: then it is a decline with
// releasedReason, and the order keeps its evidence of the authorisation.
func (q *Inquirer) Inquire(ctx context.Context, o order.Order, now time.Time) ([]order.Event, error) {
	if now.Before(o.Deadline) {
		return nil, nil // Checkout may still be paid: nothing to say yet
	}
	var payments []entity
	if o.SessionRef != "" {
		var c collection
		if err := q.api.get(ctx, "payments of order "+o.SessionRef, "/v1/orders/"+url.PathEscape(o.SessionRef)+"/payments", nil, &c); err != nil {
			return nil, err
		}
		var err error
		if payments, err = c.entities(); err != nil {
			return nil, fmt.Errorf("razorpay: payments of order %s: %w", o.SessionRef, err)
		}
	}
	slices.SortStableFunc(payments, func(a, b entity) int { return cmp.Compare(a.CreatedAt, b.CreatedAt) })
	var out []order.Event
	held := false
	for _, p := range payments {
		held = held || p.Status == "authorized" || p.Captured
	}
	for _, p := range payments {
		e, err := eventOf(p, readingOf(p, now), nil, p.CreatedAt)
		if err != nil {
			return nil, err
		}
		if e != nil && e.Kind == order.KindFailed && held {
			// One authorisation given back while another payment on the
			// same order is still held or taken: that one decides, and
			// this is only a decline.
			e.Kind = order.KindDeclined
		}
		if e != nil {
			out = append(out, *e)
		}
	}
	if !held && now.After(o.Deadline.Add(shop.ExpiryGrace)) {
		out = append(out, order.Event{Gateway: gateway, ID: "recon_" + cmp.Or(o.SessionRef, o.ID) + "_expired", Type: CheckoutExpired,
			Kind: order.KindExpired, Source: order.SourceReconcile, OrderID: o.ID, SessionRef: o.SessionRef,
			Refs: order.Refs(o.SessionRef), Created: now.UTC()})
	}
	return out, nil
}

// collection is a Razorpay list: {"entity":"collection","count":…,"items":[…]}.
type collection struct {
	Items []json.RawMessage `json:"items"`
}

func (c collection) entities() ([]entity, error) {
	out := make([]entity, 0, len(c.Items))
	for _, raw := range c.Items {
		e, err := parseEntity(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// entity is a Payment, Refund or Dispute as Razorpay sent it (raw, for
// razorpayhook), and what reconcile reads of it to know its state.
type entity struct {
	raw       json.RawMessage
	ID        string `json:"id"`
	Entity    string `json:"entity"` // payment, refund, dispute
	Status    string `json:"status"`
	Captured  bool   `json:"captured"`
	PaymentID string `json:"payment_id"`
	CreatedAt int64  `json:"created_at"`
}

func parseEntity(raw json.RawMessage) (entity, error) {
	var e entity
	if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" || e.Entity == "" {
		return entity{}, fmt.Errorf("an item is not a Razorpay entity: %.80s", raw)
	}
	e.raw = raw
	return e, nil
}

// reading is what an entity amounts to as it stands: the webhook Razorpay
// sends for that state (empty: none, yet), the state the reconcile id
// names, and whether it can still change.
type reading struct {
	typ, state string
	final      bool
}

// readingOf is the one table of what Razorpay's states mean, for Inquire,
// the sweep and the watch alike.
func readingOf(e entity, now time.Time) reading {
	switch e.Entity {
	case "payment":
		switch e.Status {
		case "captured":
			return reading{"payment.captured", "captured", true}
		case "refunded":
			if e.Captured {
				// Paid, then refunded in full: the payment paid; its
				// refunds are read from the refunds list.
				return reading{"payment.captured", "captured", true}
			}
			// An authorisation nobody captured, given back by Razorpay.
			return reading{"payment.failed", "released", true}
		case "authorized":
			return reading{"payment.authorized", "authorized", false}
		case "failed":
			return reading{"payment.failed", "failed", now.Sub(time.Unix(e.CreatedAt, 0)) > lateAuthWindow}
		case "created":
			return reading{"", "created", false} // the bank has not answered
		}
	case "refund":
		switch e.Status {
		case "processed":
			return reading{"refund.processed", "processed", true}
		case "pending":
			return reading{"", "pending", false}
		}
	case "dispute":
		switch e.Status {
		case "open", "under_review":
			// Under review is still open: the money is in question.
			return reading{"payment.dispute.created", "open", false}
		case "won":
			return reading{"payment.dispute.won", "won", true}
		case "lost":
			return reading{"payment.dispute.lost", "lost", true}
		case "closed":
			// Razorpay closes a fraud dispute once the business answered
			// or refunded; razorpayhook decides what its webhook means.
			return reading{"payment.dispute.closed", "closed", true}
		}
	}
	// A failed refund, or a state Razorpay added later: nothing to report,
	// nothing to wait for.
	return reading{"", e.Status, true}
}

// webhook is a Razorpay webhook body, as its reference shows it.
type webhook struct {
	Entity    string                 `json:"entity"`
	Event     string                 `json:"event"`
	Contains  []string               `json:"contains"`
	Payload   map[string]wrappedItem `json:"payload"`
	CreatedAt int64                  `json:"created_at"`
}

type wrappedItem struct {
	Entity json.RawMessage `json:"entity"`
}

// eventOf wraps e (and, for a refund or dispute, its payment) in the
// webhook Razorpay sends for r, and decodes it with the webhook's decoder.
// It is nil when the state has no webhook jampay acts on.
func eventOf(e entity, r reading, payment json.RawMessage, at int64) (*order.Event, error) {
	if r.typ == "" {
		return nil, nil
	}
	w := webhook{Entity: "event", Event: r.typ, CreatedAt: at, Payload: map[string]wrappedItem{e.Entity: {e.raw}}}
	if e.Entity != "payment" {
		w.Payload["payment"] = wrappedItem{payment}
	}
	for k := range w.Payload {
		w.Contains = append(w.Contains, k)
	}
	slices.Sort(w.Contains)
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("razorpay: %s %s: %w", r.typ, e.ID, err)
	}
	ev, err := razorpayhook.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("razorpay: %s %s: %w", r.typ, e.ID, err)
	}
	if ev.Kind == order.KindIgnored {
		return nil, nil
	}
	ev.ID, ev.Gateway, ev.Source = "recon_"+e.ID+"_"+r.state, gateway, order.SourceReconcile
	if r.state == "released" {
		// Failed for good: the money held is back with the customer, and
		// the checkout it was made in is long over. A decline would leave
		// the order processing (the authorisation's evidence outranks it)
		// and asked about at every run, for ever.
		ev.Kind, ev.Reason = order.KindFailed, releasedReason
	}
	return &ev, nil
}
