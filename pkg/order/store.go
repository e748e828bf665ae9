package order

import (
	"context"
	"errors"
	"time"
)

// EventRetention is how long a webhook event record is kept: past every
// gateway's redelivery window (Stripe retries for 3 days, Razorpay for 24 h).
const EventRetention = 30 * 24 * time.Hour

// IdempotencyRetention is how long a checkout Idempotency-Key is honoured.
const IdempotencyRetention = 24 * time.Hour

// EventRecord is what the store keeps of a gateway event, so a redelivery is
// recognised. It is written in the same atomic write as the move it caused.
type EventRecord struct {
	Gateway     string
	ID          string
	Type        string
	OrderID     string
	PayloadHash string
	ReceivedAt  time.Time
	ProcessedAt time.Time
	ExpiresAt   time.Time
}

// IdempotencyRecord ties a checkout Idempotency-Key to the order it made.
type IdempotencyRecord struct {
	KeyHash     string // hex SHA-256 of the key; the key is not stored
	RequestHash string // hex SHA-256 of the normalised request
	OrderID     string
	// SealedToken is the order's status token sealed (AES-GCM) under a key
	// derived from the Idempotency-Key and OrderID, so a replay can answer
	// the same token while the server keeps only its hash and a copy no one
	// without the key can open. Empty in records of earlier releases.
	SealedToken []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Move is one conditional write of an order: it succeeds only if the stored
// order still has From status and FromVersion, and (when Event is set) the
// event was never recorded. Next.Version must be FromVersion+1.
type Move struct {
	Next        Order
	From        Status
	FromVersion int64
	// Event, when set, is recorded in the same atomic write.
	Event *EventRecord
	// Refs are gateway references to index the order under, in the same write.
	Refs []string
}

// Store keeps orders, event records and idempotency keys. Every change is a
// conditional write; implementations return the sentinel errors of this
// package (ErrConflict, ErrNotFound, ErrDuplicateEvent, ErrForbiddenMove,
// ErrIdempotencyKeyExists) and wrap failures of the storage system itself
// in *StoreError.
type Store interface {
	// CreateOrder writes a new order; ErrConflict if its id is taken.
	CreateOrder(ctx context.Context, o *Order) error
	// GetOrder reads an order; ErrNotFound if there is none.
	GetOrder(ctx context.Context, id string) (*Order, error)
	// GetForEvent reads, in one request, an order (nil if there is none)
	// and whether the gateway event is already recorded, so a redelivery
	// costs a single read.
	GetForEvent(ctx context.Context, orderID, gateway, eventID string) (*Order, bool, error)
	// FindByRef finds the order indexed under a gateway reference:
	// ErrNotFound if none is, and an *ElsewhereError if the reference
	// belongs to a subscription (references are shared by both kinds).
	FindByRef(ctx context.Context, gateway, ref string) (*Order, error)
	// Move writes m.Next if the stored order is still m.From at
	// m.FromVersion: ErrConflict if not, ErrDuplicateEvent if m.Event was
	// recorded before, ErrForbiddenMove if the status change is not in the
	// table (checked before anything is written).
	Move(ctx context.Context, m Move) error
	// RecordEvent records an event that moved nothing; ErrDuplicateEvent if
	// it was recorded before.
	RecordEvent(ctx context.Context, r EventRecord) error
	// ClaimIdempotencyKey stores r unless its key is taken; then it returns
	// the stored record and ErrIdempotencyKeyExists.
	ClaimIdempotencyKey(ctx context.Context, r IdempotencyRecord) (*IdempotencyRecord, error)
	// Park keeps an event whose order cannot be found yet under a gateway
	// reference it names, for EventRetention (with the event records).
	// Parking an event already parked there keeps one copy.
	Park(ctx context.Context, gateway, ref string, e Event) error
	// Parked returns the events parked under a gateway reference.
	Parked(ctx context.Context, gateway, ref string) ([]Event, error)
	// Unpark removes the events with these ids from under a reference,
	// once they are applied.
	Unpark(ctx context.Context, gateway, ref string, eventIDs []string) error
	// ClearReplay takes refs off the order's PendingReplay, once their
	// parked events are applied. It changes nothing else and no version:
	// a move from an older read may write a cleared ref back, which costs
	// one more replay and nothing else.
	ClearReplay(ctx context.Context, orderID string, refs []string) error
}

// CheckMove validates a Move before any store writes it, so both stores
// refuse the same things the same way.
func CheckMove(m Move) error {
	if m.Next.Version != m.FromVersion+1 {
		return Errorf(CodeConflict, "move of %s must write version %d, not %d", m.Next.ID, m.FromVersion+1, m.Next.Version)
	}
	if m.Next.Status != m.From && !CanMove(m.From, m.Next.Status) ||
		m.From == Failed && m.Next.Status == Pending && m.Next.Evidence.FailedFinal {
		return &Error{Code: CodeForbiddenMove, Message: "cannot move from " + string(m.From) + " to " + string(m.Next.Status)}
	}
	return nil
}

// MoveIndexing writes m; if one of its references already belongs to
// another order (ErrRefTaken), it writes the move without indexing them:
// a taken reference is not a race to retry, and the order must still move.
func MoveIndexing(ctx context.Context, s Store, m Move) error {
	err := s.Move(ctx, m)
	if errors.Is(err, ErrRefTaken) {
		m.Refs = nil
		err = s.Move(ctx, m)
	}
	return err
}
