package order

// Status is an order's place in its life, as the status endpoint reports it.
type Status string

// The statuses of the HTTP contract.
const (
	Pending           Status = "pending"
	Processing        Status = "processing"
	Paid              Status = "paid"
	Failed            Status = "failed"
	Expired           Status = "expired"
	PartiallyRefunded Status = "partially_refunded"
	Refunded          Status = "refunded"
	Disputed          Status = "disputed"
	AmountMismatch    Status = "amount_mismatch"
)

// Statuses lists every status, in the contract's order.
var Statuses = []Status{Pending, Processing, Paid, Failed, Expired, PartiallyRefunded, Refunded, Disputed, AmountMismatch}

// moves is the one table of allowed status changes: moves[from] holds every
// status an order in from may go to. Nothing goes back to pending; nothing
// leaves refunded. Money evidence (paid, refunds, disputes) may arrive after
// a decline or an expiry, because gateways deliver out of order and the
// gateway, not our clock, says whether money moved. A disputed order returns
// to what it was when the dispute is won, or becomes refunded when it is lost.
//
// One move goes back to pending: failed → pending, for an order that
// releases before invariant 11 stored as failed after a mere decline (no
// FailedFinal evidence): it was open all along. CheckMove refuses it for an
// order that failed for good.
var moves = map[Status][]Status{
	Pending:           {Processing, Paid, Failed, Expired, AmountMismatch, PartiallyRefunded, Refunded, Disputed},
	Failed:            {Pending, Processing, Paid, Expired, AmountMismatch, PartiallyRefunded, Refunded, Disputed},
	Expired:           {Processing, Paid, Failed, AmountMismatch, PartiallyRefunded, Refunded, Disputed},
	Processing:        {Paid, Failed, AmountMismatch, PartiallyRefunded, Refunded, Disputed},
	Paid:              {AmountMismatch, PartiallyRefunded, Refunded, Disputed},
	AmountMismatch:    {PartiallyRefunded, Refunded, Disputed},
	PartiallyRefunded: {Refunded, Disputed},
	Disputed:          {Paid, AmountMismatch, PartiallyRefunded, Refunded},
	Refunded:          {},
}

// CanMove reports whether an order in from may change to to. A status never
// "moves" to itself: a write that keeps the status is an update, not a move.
func CanMove(from, to Status) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is one of the contract's statuses.
func (s Status) Valid() bool {
	_, ok := moves[s]
	return ok
}
