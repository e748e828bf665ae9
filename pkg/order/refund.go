package order

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Refund is a refund the owner asked a gateway for (jampay refund, the
// local dashboard). It is written on the order, in a conditional write,
// before the gateway is called: what is refundable then counts the refunds
// still pending, and of two terminals asking at once only one wins the
// write for a given version. It never moves the status: only the gateway's
// word does, by its webhook or reconcile (invariant 3).
type Refund struct {
	// Seq numbers the order's refund requests from 1; the gateway's
	// idempotency key is RefundKey(order id, Seq).
	Seq    int
	Amount int64 // minor units of the order's currency
	At     time.Time
	Actor  string // who asked: the AWS principal, or "local"
	// RefundedBefore is Evidence.Refunded when it was asked: what the
	// gateway had reported refunded by then (dashboard refunds included),
	// which this refund comes on top of.
	RefundedBefore int64
	// RefundID is the gateway's refund (re_…, rfnd_…) once it answered.
	// A request without one may never have reached the gateway: it is
	// asked again, under the same key, before any new refund is reserved.
	RefundID string
	// Refused is why the gateway refused it: it made no refund for it,
	// and would answer the same under its key (more than the payment has
	// left, a disputed charge, a balance too low). A refused request no
	// longer counts against what is refundable; asking again is a new
	// request, under a new key.
	Refused string
}

// History event types of the owner's refunds.
const (
	EventRefundRequested = "jampay.refund_requested"
	EventRefundRefused   = "jampay.refund_refused"
)

// RefundKey is the gateway idempotency key of an order's refund seq: the
// same request always asks under the same key, from any terminal, so the
// gateway refunds it once however often it is sent. Its characters suit
// both gateways (Razorpay takes letters, digits, - and _, at least 10).
func RefundKey(orderID string, seq int) string {
	return "jampay-refund-" + orderID + "-" + strconv.Itoa(seq)
}

// PaidPayment is the gateway's id of the payment a refund goes to: the one
// that paid the order, or for orders paid before that was kept, the
// order's payment.
func (o Order) PaidPayment() string {
	return cmp.Or(o.Evidence.PaidRef, o.PaymentRef)
}

// committedRefunds is how much of the payment is refunded or on its way
// back, in the order's minor units: the gateway's cumulative figure, or
// more while requests it has not confirmed are counted on top of what it
// had reported when each was asked. It never exceeds what will have been
// refunded once every request counted goes through, so it never holds back
// a refund the payment could still take.
func (o Order) committedRefunds() int64 {
	var c int64
	for _, r := range o.Refunds {
		if r.Refused == "" {
			c = max(c, r.RefundedBefore) + r.Amount
		}
	}
	return max(c, o.Evidence.Refunded)
}

// Refundable is what may still be refunded of o's payment, in the order's
// minor units: the amount paid less what is refunded or asked for. A
// refund made in the gateway's dashboard while one of jampay's is still
// unconfirmed is counted only once its event arrives; until then the
// gateway itself refuses a refund past the payment.
func (o Order) Refundable() int64 {
	return max(0, o.Evidence.PaidAmount-o.committedRefunds())
}

// CheckRefundable says why o cannot be refunded at all, or nil.
func (o Order) CheckRefundable() error {
	switch o.Status {
	case Paid, PartiallyRefunded:
	case Refunded:
		return Errorf(CodeNotRefundable, "Order %s is already refunded in full.", o.ID)
	case Disputed:
		// The card network holds the disputed money; a refund now could
		// pay the customer twice if the dispute is lost, and Stripe
		// refuses to refund a disputed charge anyway.
		return Errorf(CodeNotRefundable, "Order %s is disputed: the money is with the card network until the dispute closes. Answer the dispute in the gateway's dashboard; a refund can be asked once it is won.", o.ID)
	case AmountMismatch:
		return Errorf(CodeNotRefundable, "Order %s was paid an amount or currency other than its own; refund it in the gateway's dashboard, which shows what was taken.", o.ID)
	default:
		return Errorf(CodeNotRefundable, "Order %s is %s: nothing was paid, so there is nothing to refund.", o.ID, o.Status)
	}
	switch {
	case o.Evidence.Mismatch:
		return Errorf(CodeNotRefundable, "Order %s has a payment or refund whose amount or currency is not the order's; refund it in the gateway's dashboard, which shows what was taken.", o.ID)
	case !o.Evidence.Paid || o.Evidence.PaidAmount <= 0 || o.PaidPayment() == "":
		// Paid on a dispute's word alone: the amount and the payment to
		// refund are not known yet.
		return Errorf(CodeNotRefundable, "Order %s has no record yet of the payment and amount the gateway took; run reconcile, then try again.", o.ID)
	}
	return nil
}

// UnansweredRefund is o's earliest refund request the gateway has neither
// answered nor refused, if any.
func (o Order) UnansweredRefund() (Refund, bool) {
	for _, r := range o.Refunds {
		if r.RefundID == "" && r.Refused == "" {
			return r, true
		}
	}
	return Refund{}, false
}

// RefundBySeq is o's refund request seq, if there is one.
func (o Order) RefundBySeq(seq int) (Refund, bool) {
	i := slices.IndexFunc(o.Refunds, func(r Refund) bool { return r.Seq == seq })
	if i < 0 {
		return Refund{}, false
	}
	return o.Refunds[i], true
}

// RequestRefund returns o with a new refund request of amount (0: all that
// is refundable) by actor at now, and its history entry, as the write after
// o; and the request. It refuses an order that cannot be refunded, and an
// amount past what is refundable, pending requests counted.
func (o Order) RequestRefund(amount int64, actor string, now time.Time) (Order, Refund, error) {
	if err := o.CheckRefundable(); err != nil {
		return o, Refund{}, err
	}
	left := o.Refundable()
	switch {
	case amount < 0:
		return o, Refund{}, Errorf(CodeInvalidAmount, "A refund amount must be positive, not %d.", amount)
	case left == 0:
		return o, Refund{}, Errorf(CodeOverRefund, "Nothing of order %s is left to refund: its %d (%s minor units) paid are refunded or asked for already, pending refunds included.", o.ID, o.Evidence.PaidAmount, o.Currency)
	case amount == 0:
		amount = left
	case amount > left:
		return o, Refund{}, Errorf(CodeOverRefund, "Order %s has %d (%s minor units) left to refund, pending refunds counted; %d is more.", o.ID, left, o.Currency, amount)
	}
	seq := 1
	if n := len(o.Refunds); n > 0 {
		seq = o.Refunds[n-1].Seq + 1
	}
	r := Refund{Seq: seq, Amount: amount, At: now, Actor: actor, RefundedBefore: o.Evidence.Refunded}
	next := o.Clone()
	next.Version, next.UpdatedAt = o.Version+1, now
	next.Refunds = append(next.Refunds, r)
	next.History = append(next.History, Change{
		At: now, EventID: refundEventID(seq, ""), EventType: EventRefundRequested,
		Source: SourceOwner, Actor: actor, From: o.Status, To: o.Status,
	})
	return next, r, nil
}

// RecordRefundID returns o with the gateway's refund id on request seq, as
// the write after o, and whether that changed anything.
func (o Order) RecordRefundID(seq int, refundID string, now time.Time) (Order, bool) {
	return o.editRefund(seq, now, func(r *Refund, _ *Order) bool {
		if r.RefundID != "" || r.Refused != "" || refundID == "" {
			return false
		}
		r.RefundID = refundID
		return true
	})
}

// RefuseRefund returns o with request seq refused by the gateway for
// reason, and its history entry, as the write after o; and whether that
// changed anything. A request the gateway answered with a refund is never
// refused afterwards.
func (o Order) RefuseRefund(seq int, reason, actor string, now time.Time) (Order, bool) {
	return o.editRefund(seq, now, func(r *Refund, next *Order) bool {
		if r.RefundID != "" || r.Refused != "" {
			return false
		}
		r.Refused = cmp.Or(reason, "refused")
		next.History = append(next.History, Change{
			At: now, EventID: refundEventID(seq, "refused"), EventType: EventRefundRefused,
			Source: SourceOwner, Actor: actor, From: o.Status, To: o.Status,
		})
		return true
	})
}

func (o Order) editRefund(seq int, now time.Time, edit func(*Refund, *Order) bool) (Order, bool) {
	i := slices.IndexFunc(o.Refunds, func(r Refund) bool { return r.Seq == seq })
	if i < 0 {
		return o, false
	}
	next := o.Clone()
	if !edit(&next.Refunds[i], &next) {
		return o, false
	}
	next.Version, next.UpdatedAt = o.Version+1, now
	return next, true
}

// refundEventID names a refund request's entry in the history.
func refundEventID(seq int, suffix string) string {
	id := fmt.Sprintf("refund_%d", seq)
	if suffix != "" {
		id += "_" + suffix
	}
	return id
}
