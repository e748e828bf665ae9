package order

import (
	"slices"
	"time"
)

// Effect is something a person should hear of, owed by one winning write
// of an order (invariant 10): the owner's event, and the customer's email
// when Mail names one. It is recorded in the same transaction as the write
// that owes it, so it is never lost, and keyed by the order, the version
// that owes it and its type, so it is never owed twice.
type Effect struct {
	OrderID string
	// Version is the order's version after the write that owes it: per
	// order, effects go out in version order.
	Version int64
	// Type is the owner event's detail-type: order.paid, order.refunded,
	// order.duplicate_payment, order.late_payment, …
	Type string
	// Mail is the customer email it owes ("receipt", "refund",
	// "late_payment"), or "" for none.
	Mail   string
	OwedAt time.Time
}

// The mails an effect may owe the customer.
const (
	MailReceipt     = "receipt"
	MailRefund      = "refund"
	MailLatePayment = "late_payment"
)

// OwedEffects lists what the write from before to after owes: a new status
// (its event, and the customer's receipt or refund mail), a second payment,
// a late payment, a mismatch. A write that adds nothing a person should
// hear of (a decline, the record of a refund request) owes nothing.
func OwedEffects(before, after Order, now time.Time) []Effect {
	var out []Effect
	owe := func(typ, mail string) {
		out = append(out, Effect{OrderID: after.ID, Version: after.Version, Type: typ, Mail: mail, OwedAt: now})
	}
	if after.Status != before.Status {
		switch after.Status {
		case Paid:
			mail := MailReceipt
			if before.Status == Disputed || before.Status == AmountMismatch {
				mail = "" // a dispute won: the customer had their receipt
			}
			owe("order.paid", mail)
		case PartiallyRefunded, Refunded:
			owe("order."+string(after.Status), MailRefund)
		default:
			owe("order."+string(after.Status), "")
		}
	}
	for _, p := range after.Evidence.ExtraPayments {
		if !slices.Contains(before.Evidence.ExtraPayments, p) {
			owe("order.duplicate_payment", "")
		}
	}
	if after.PaidLate() && !before.PaidLate() {
		// The receipt above tells the customer; the owner must decide to
		// fulfil or refund an order that had been given up.
		owe("order.late_payment", MailLatePayment)
	}
	return out
}

// The states of an effect in an order's outbox.
const (
	EffectOwed    = "owed"    // recorded, not yet sent
	EffectClaimed = "claimed" // a dispatcher is sending it until ClaimedUntil
	EffectSent    = "sent"
	EffectSkipped = "skipped" // nothing to send (no address, no MAIL_FROM)
	EffectFailed  = "failed"  // kept failing: listed for the owner to retry
)

// Owed is an effect in an order's outbox, with where its sending stands.
// The outbox rides on the order item, written in the same conditional
// write as the change that owes it: a webhook makes no extra request for
// its effects, and per order they are in version order by construction.
type Owed struct {
	Effect
	State        string
	Attempts     int
	ClaimedUntil time.Time
	Holder       string
	LastError    string
}

// keepSent is how many effects already sent or skipped an outbox keeps
// (for the owner's look), besides every one still owed.
const keepSent = 20

// AppendOwed adds what a write owes to an order's outbox, dropping the
// oldest effects already done past keepSent so the item stays small.
func AppendOwed(outbox []Owed, owed []Effect) []Owed {
	out := slices.Clip(outbox)
	for _, e := range owed {
		out = append(out, Owed{Effect: e, State: EffectOwed})
	}
	done := 0
	for _, o := range out {
		if o.State == EffectSent || o.State == EffectSkipped {
			done++
		}
	}
	if done <= keepSent {
		return out
	}
	kept := make([]Owed, 0, len(out))
	for _, o := range out {
		if (o.State == EffectSent || o.State == EffectSkipped) && done > keepSent {
			done--
			continue
		}
		kept = append(kept, o)
	}
	return kept
}
