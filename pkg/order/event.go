package order

import (
	"strings"
	"time"
)

// Kind is what a gateway event means for an order, whatever the gateway.
type Kind string

// The kinds of event a gateway adapter turns its payloads into.
const (
	// KindProcessing: a payment is under way but not final (Stripe's
	// completed session with payment_status unpaid; Razorpay's authorized).
	KindProcessing Kind = "processing"
	// KindPaid: the money was taken. Amount and Currency say how much.
	KindPaid Kind = "paid"
	// KindDeclined: one attempt failed; the customer may try again.
	KindDeclined Kind = "declined"
	// KindFailed: the payment failed for good.
	KindFailed Kind = "failed"
	// KindExpired: the checkout expired unpaid.
	KindExpired Kind = "expired"
	// KindRefunded: money went back; Refunded is the cumulative amount.
	KindRefunded Kind = "refunded"
	// KindDisputeOpened, KindDisputeWon, KindDisputeLost: a chargeback.
	KindDisputeOpened Kind = "dispute_opened"
	KindDisputeWon    Kind = "dispute_won"
	KindDisputeLost   Kind = "dispute_lost"
	// KindIgnored: a verified event jampay has nothing to do with.
	KindIgnored Kind = "ignored"
)

// Event is a verified gateway event, reduced to what jampay acts on.
type Event struct {
	Gateway string // "stripe", "razorpay"
	ID      string // the gateway's event id, unique per gateway
	Type    string // the gateway's event type, e.g. checkout.session.completed
	Kind    Kind

	// OrderID is our order id when the payload carries it (metadata, notes).
	OrderID string
	// Refs are gateway references the order can be found by when the
	// payload carries no order id (payment intent, Razorpay order id).
	Refs []string
	// SessionRef and PaymentRef, when set, are recorded on the order.
	SessionRef string
	PaymentRef string

	Amount   int64  // the amount the payment or charge was for, minor units
	Currency string // lower-case ISO 4217
	Refunded int64  // KindRefunded: cumulative amount refunded so far
	Reason   string // KindDeclined, KindFailed: why, in the gateway's words
	Dispute  string // dispute kinds: the dispute's id

	PayloadHash string    // hex SHA-256 of the raw body
	Created     time.Time // when the gateway says it happened
}

// HasMoney reports whether e carries an amount to check against the order.
func (e Event) hasMoney() bool {
	switch e.Kind {
	case KindProcessing, KindPaid, KindRefunded, KindDisputeOpened, KindDisputeWon, KindDisputeLost:
		return e.Currency != ""
	}
	return false
}

// Apply returns the order as it stands once e is taken into account, and
// whether anything changed. It is pure: the same order and event always
// give the same result, applying an event twice changes nothing the second
// time, and because evidence only grows the final status does not depend on
// the order events arrive in.
func Apply(o Order, e Event) (Order, bool) {
	next := o
	next.Evidence = o.Evidence.clone()
	ev := &next.Evidence

	if e.hasMoney() && (e.Amount != o.Amount || !strings.EqualFold(e.Currency, o.Currency)) {
		// Invariant 6: an amount or currency that is not the order's is
		// never paid; it is kept as evidence and flagged.
		ev.Mismatch = true
	}
	// Evidence below what is already known can never change the status
	// again (evidence only grows), so it is not written: an "expired" after
	// "paid" costs no order write.
	money := ev.Paid || len(ev.Disputes) > 0 || ev.Refunded > 0 || ev.Mismatch
	switch e.Kind {
	case KindProcessing:
		ev.Processing = ev.Processing || !(money || ev.FailedFinal)
	case KindPaid:
		if !ev.Paid {
			ev.Paid, ev.PaidAmount, ev.PaidCurrency = true, e.Amount, strings.ToLower(e.Currency)
		}
	case KindDeclined:
		ev.Declined = ev.Declined || !(money || ev.FailedFinal || ev.Processing || ev.Expired)
	case KindFailed:
		ev.FailedFinal = true
	case KindExpired:
		ev.Expired = ev.Expired || !(money || ev.FailedFinal || ev.Processing)
	case KindRefunded:
		if e.Refunded > ev.Refunded {
			ev.Refunded = e.Refunded
		}
	case KindDisputeOpened, KindDisputeWon, KindDisputeLost:
		if e.Dispute != "" {
			// A closed dispute stays closed: an "opened" that arrives after
			// the close is old news.
			state := map[Kind]string{KindDisputeOpened: DisputeOpen, KindDisputeWon: DisputeWon, KindDisputeLost: DisputeLost}[e.Kind]
			if cur := ev.Disputes[e.Dispute]; cur == "" || cur == DisputeOpen {
				if ev.Disputes == nil {
					ev.Disputes = map[string]string{}
				}
				ev.Disputes[e.Dispute] = state
			}
		}
	}
	if next.PaymentRef == "" && e.PaymentRef != "" {
		next.PaymentRef = e.PaymentRef
	}
	if next.SessionRef == "" && e.SessionRef != "" {
		next.SessionRef = e.SessionRef
	}
	next.Status = ev.derive(o.Amount)
	if (e.Kind == KindDeclined || e.Kind == KindFailed) && next.Status == Failed && e.Reason != "" {
		next.FailureReason = e.Reason
	}
	changed := next.Status != o.Status || !ev.equal(o.Evidence) ||
		next.PaymentRef != o.PaymentRef || next.SessionRef != o.SessionRef || next.FailureReason != o.FailureReason
	if !changed {
		return o, false
	}
	return next, true
}
