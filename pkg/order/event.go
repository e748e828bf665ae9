package order

import (
	"cmp"
	"math/bits"
	"slices"
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

	// The kinds of subscription events (Event.Sub is set). A completed or
	// expired subscription checkout is KindPaid or KindExpired with Sub
	// set; a declined first payment KindDeclined.
	//
	// KindSubscription: a snapshot of the gateway's subscription object
	// (Stripe customer.subscription.*, Razorpay subscription.*).
	KindSubscription Kind = "subscription"
	// KindRenewalPaid: a billing period was paid (Stripe invoice.paid,
	// Razorpay subscription.charged): Sub.Renewal names the payment.
	KindRenewalPaid Kind = "renewal_paid"
	// KindRenewalFailed: a renewal's payment failed; the gateway may retry.
	KindRenewalFailed Kind = "renewal_failed"
	// KindTrialEnding: the trial ends at Sub.TrialEnd (Stripe
	// customer.subscription.trial_will_end; the reconcile job for Razorpay).
	KindTrialEnding Kind = "trial_ending"
)

// SubFacts is what a subscription event says beyond the money fields of
// Event: the gateway's subscription, the status of the snapshot it
// carries, and the billing period. Times are the gateway's, in whole
// seconds; zero when the event does not say. The JSON names are the ones
// a parked event is stored under: they never change.
type SubFacts struct {
	// Ref is the gateway's subscription id (Stripe sub_…, Razorpay sub_…).
	Ref string `json:"ref,omitzero"`
	// Status is the subscription's status in the snapshot the event
	// carries, in the contract's words (trialing, active, past_due,
	// halted, paused, canceled, completed, expired, or pending for a
	// subscription whose first payment is not made); "" when it carries
	// no snapshot.
	Status string `json:"status,omitzero"`
	// PeriodStart and PeriodEnd bound the current billing period (a
	// renewal: the period it paid for). TrialEnd is when the trial ends.
	PeriodStart time.Time `json:"periodStart,omitzero"`
	PeriodEnd   time.Time `json:"periodEnd,omitzero"`
	TrialEnd    time.Time `json:"trialEnd,omitzero"`
	// CancelAtPeriodEnd: the subscription is set to end with the period.
	CancelAtPeriodEnd bool `json:"cancelAtPeriodEnd,omitzero"`
	// Renewal is the payment a renewal event is about: Stripe's invoice
	// in_…, Razorpay's payment pay_….
	Renewal string `json:"renewal,omitzero"`
	// FirstInvoice: the renewal is the subscription's first invoice (a
	// zero one during a trial is expected, not a mismatch).
	FirstInvoice bool `json:"firstInvoice,omitzero"`
}

// Event is a verified gateway event, reduced to what jampay acts on.
// Stores keep events parked until their order is found; the DynamoDB store
// names every field under a versioned encoding of its own (its parkedV1),
// and stops compiling until a field added here is named there.
type Event struct {
	Gateway string // "stripe", "razorpay"
	ID      string // the gateway's event id, unique per gateway
	Type    string // the gateway's event type, e.g. checkout.session.completed
	Kind    Kind

	// Source says who reported the event (SourceWebhook when empty) and
	// Actor who acted for it (reconcile and owner events), for the history.
	Source string
	Actor  string

	// Ignore, when set, says why this verified event is dropped before any
	// order is looked for (a Stripe event of the other mode). It is
	// recorded so a redelivery is a duplicate, and logged.
	Ignore string

	// OrderID is our order id when the payload carries it in a field only
	// the gateway account's keys can set (Stripe metadata set at creation,
	// Razorpay's receipt). Fields a customer can set (Razorpay Checkout
	// notes on a payment, Stripe client_reference_id) never fill it.
	OrderID string
	// Refs are gateway references the order can be found by when the
	// payload carries no order id (payment intent, Razorpay order id).
	Refs []string
	// SessionRef is the checkout object the event is about (Stripe Checkout
	// Session cs_…, Razorpay order order_…). When set, the event belongs
	// only to the order whose own SessionRef it is: provenance, whatever
	// else the payload names.
	SessionRef string
	// PaymentRef is the payment the event is about (pi_…, pay_…); a
	// processing or paid event records it on the order.
	PaymentRef string

	Amount   int64  // the amount the payment or charge was for, minor units
	Currency string // lower-case ISO 4217
	Refunded int64  // KindRefunded: cumulative amount refunded so far, in Currency
	Reason   string // KindDeclined, KindFailed: why, in the gateway's words
	Dispute  string // dispute kinds: the dispute's id

	PayloadHash string    // hex SHA-256 of the raw body
	Created     time.Time // when the gateway says it happened

	// Sub is set for subscription events, and only for them: the event
	// goes to a subscription, never to an order.
	Sub *SubFacts
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

	// A refund or dispute of a payment other than the one that paid the
	// order (a double charge being put right) is not the order's: the
	// order stays paid by its own payment. Orders paid before PaidRef was
	// kept cannot tell, and count every refund as theirs.
	otherPayment := ev.PaidRef != "" && e.PaymentRef != "" && e.PaymentRef != ev.PaidRef
	if mismatched(o, e) && !(e.Kind == KindRefunded && otherPayment) {
		// Invariant 6: an amount or currency that is not the order's is
		// never paid; it is kept as evidence and flagged.
		ev.Mismatch = true
	}
	// Evidence of an open checkout (processing, expired, declined) that
	// the ranking already puts below what is known can never decide the
	// status again (evidence only grows), so it is not written: an
	// "expired" after "paid" costs no order write. Money and a final
	// failure are the gateway's word on an outcome, and always kept.
	couldStillBe := func(s Status) bool { return o.Evidence.couldStillBe(s, o.Amount) }
	switch e.Kind {
	case KindProcessing:
		ev.Processing = ev.Processing || couldStillBe(Processing)
		if next.PaymentRef == "" {
			next.PaymentRef = e.PaymentRef
		}
	case KindPaid:
		switch {
		case !ev.Paid:
			ev.Paid, ev.PaidAmount, ev.PaidCurrency = true, e.Amount, strings.ToLower(e.Currency)
			ev.PaidRef = e.PaymentRef
			// The captured payment is the order's payment, whatever
			// declined attempt was recorded before it.
			next.PaymentRef = cmp.Or(e.PaymentRef, next.PaymentRef)
		case ev.PaidRef == "":
			// Paid before PaidRef was kept, when PaymentRef could be a
			// declined attempt's: take this payment as the one that paid
			// rather than raise a false double charge.
			ev.PaidRef = e.PaymentRef
		case e.PaymentRef != "" && e.PaymentRef != ev.PaidRef && !slices.Contains(ev.ExtraPayments, e.PaymentRef):
			// A second, distinct payment captured for an order already
			// paid: the customer was charged twice. Kept for the owner.
			ev.ExtraPayments = append(ev.ExtraPayments, e.PaymentRef)
			slices.Sort(ev.ExtraPayments)
		}
	case KindDeclined:
		ev.Declined = ev.Declined || couldStillBe(Pending)
	case KindFailed:
		ev.FailedFinal = true
	case KindExpired:
		ev.Expired = ev.Expired || couldStillBe(Expired)
	case KindRefunded:
		if otherPayment {
			if e.Amount > 0 && e.Refunded >= e.Amount && !slices.Contains(ev.ExtraRefunded, e.PaymentRef) {
				ev.ExtraRefunded = append(ev.ExtraRefunded, e.PaymentRef)
				slices.Sort(ev.ExtraRefunded)
			}
			break
		}
		if r := refundedInOrderUnits(o, e); r > ev.Refunded {
			ev.Refunded = r
		}
	case KindDisputeOpened, KindDisputeWon, KindDisputeLost:
		if e.Dispute != "" && !otherPayment {
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
	if next.SessionRef == "" && e.SessionRef != "" {
		next.SessionRef = e.SessionRef
	}
	next.Status = ev.derive(o.Amount)
	if (e.Kind == KindDeclined || e.Kind == KindFailed) && e.Reason != "" && !o.Evidence.money() {
		// The last reason an attempt failed stays with the order, open or
		// expired, until money arrives.
		next.FailureReason = e.Reason
	}
	changed := next.Status != o.Status || !ev.equal(o.Evidence) ||
		next.PaymentRef != o.PaymentRef || next.SessionRef != o.SessionRef || next.FailureReason != o.FailureReason
	if !changed {
		return o, false
	}
	return next, true
}

// mismatched reports whether e's money contradicts the order's amount or
// currency (invariant 6). A paid event must carry both; one without a
// currency is a mismatch, never paid. Other events are checked when they
// say what they are in.
func mismatched(o Order, e Event) bool {
	switch e.Kind {
	case KindPaid:
		return e.Currency == "" || e.Amount != o.Amount || !strings.EqualFold(e.Currency, o.Currency)
	case KindProcessing:
		return e.Currency != "" && (e.Amount != o.Amount || !strings.EqualFold(e.Currency, o.Currency))
	case KindRefunded:
		// A refund is reported on the charge, in the charge's currency.
		// With Stripe's Adaptive Pricing on sessions created before
		// 2025-03-30 that is the customer's (presentment) currency, not
		// the order's: a charge in another currency says nothing about
		// the order's amount, and only the share refunded is read from it.
		return strings.EqualFold(e.Currency, o.Currency) && e.Amount != o.Amount
	}
	return false
}

// refundedInOrderUnits is the cumulative refund e reports, in the order's
// minor units. In the order's currency it is the refund itself; in another
// (a presentment currency) it is the same share of the order's amount, so
// a charge refunded in full refunds the order in full.
func refundedInOrderUnits(o Order, e Event) int64 {
	if e.Currency == "" || strings.EqualFold(e.Currency, o.Currency) || e.Amount <= 0 || e.Refunded <= 0 || o.Amount <= 0 {
		return e.Refunded
	}
	if e.Refunded >= e.Amount {
		return o.Amount
	}
	// Rounded down, so a partial refund never reads as a full one; the
	// 128-bit product cannot overflow, and the quotient is below o.Amount.
	hi, lo := bits.Mul64(uint64(o.Amount), uint64(e.Refunded))
	q, _ := bits.Div64(hi, lo, uint64(e.Amount))
	return int64(q)
}

// Refs lists the references an event names, leaving out empty ones: a
// charge made without a PaymentIntent names none, and an empty reference
// must not look like a place to park.
func Refs(refs ...string) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

// IndexTypes indexes a gateway's table of event types by type, for its
// decoder, and lists the types in the table's order.
func IndexTypes[R any](rows []R, typeOf func(R) string) (map[string]R, []string) {
	by, types := make(map[string]R, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		by[typeOf(r)], types[i] = r, typeOf(r)
	}
	return by, types
}
