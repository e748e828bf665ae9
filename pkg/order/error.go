package order

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code from the HTTP contract. The api
// package maps each code to an HTTP status in one place.
type Code string

// The contract's error codes, and the few the store speaks in.
const (
	CodeInvalidJSON          Code = "invalid_json"
	CodeUnknownSKU           Code = "unknown_sku"
	CodeInvalidQuantity      Code = "invalid_quantity"
	CodeEmptyCart            Code = "empty_cart"
	CodeMixedCurrency        Code = "mixed_currency"
	CodeNotSupported         Code = "not_supported"
	CodeMixedCart            Code = "mixed_cart" // a subscription with anything else
	CodeAmountTooLarge       Code = "amount_too_large"
	CodeInvalidEmail         Code = "invalid_email"
	CodeUnknownGateway       Code = "unknown_gateway"
	CodeInvalidIdempotency   Code = "invalid_idempotency_key"
	CodeIdempotencyReused    Code = "idempotency_key_reused"
	CodeRequestInProgress    Code = "request_in_progress"
	CodeRateLimited          Code = "rate_limited"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeUnsupportedMedia     Code = "unsupported_media_type"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeNotFound             Code = "not_found"
	CodeOrderNotFound        Code = "order_not_found"
	CodeInvalidSignature     Code = "invalid_signature"
	CodeInvalidPayload       Code = "invalid_payload"
	CodeGatewayError         Code = "gateway_error"
	CodeStoreUnavailable     Code = "store_unavailable"
	CodeOriginNotAllowed     Code = "origin_not_allowed"
	CodeInternal             Code = "internal"
	CodeConflict             Code = "conflict"
	CodeDuplicateEvent       Code = "duplicate_event"
	CodeForbiddenMove        Code = "forbidden_move"
	CodeIdempotencyKeyExists Code = "idempotency_key_exists"
	CodeRefTaken             Code = "ref_taken"
	// The owner's refunds (jampay refund, the local dashboard).
	CodeNotRefundable Code = "not_refundable" // unpaid, refunded in full, disputed
	CodeOverRefund    Code = "over_refund"    // more than is left, pending refunds counted
	CodeInvalidAmount Code = "invalid_amount"
	// CodeRefundPending: an earlier request the gateway never answered
	// must be asked again (same key) before a refund of another amount.
	CodeRefundPending Code = "refund_pending"
	// CodeRefundRefused: the gateway made no refund for the request and
	// would answer the same under its key (a refunder's answer); the
	// request is let go, and a new one may be asked.
	CodeRefundRefused Code = "refund_refused"
	// CodeNotCancelable: a subscription whose checkout was never completed
	// has nothing at the gateway to cancel.
	CodeNotCancelable Code = "not_cancelable"
	// CodeSubscriptionNotFound: no subscription with that id and token.
	CodeSubscriptionNotFound Code = "subscription_not_found"
)

// Error is jampay's one application error: a code a program can act on and
// a sentence a person can read. Anything that is not an *Error is unexpected
// and is answered as an internal error, never shown.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is lets errors.Is match on the code alone, so the sentinels below match
// errors that carry a more specific message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else
// CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels the store returns; test them with errors.Is.
var (
	// ErrNotFound: no such order, or a status token that does not match it.
	ErrNotFound = &Error{Code: CodeOrderNotFound, Message: "No order with that id and token."}
	// ErrConflict: the order changed since it was read (or its id is taken);
	// this caller's conditional write lost.
	ErrConflict = &Error{Code: CodeConflict, Message: "The order changed concurrently."}
	// ErrDuplicateEvent: the gateway event was already recorded.
	ErrDuplicateEvent = &Error{Code: CodeDuplicateEvent, Message: "The event was already recorded."}
	// ErrForbiddenMove: the status change is not in the table of moves.
	ErrForbiddenMove = &Error{Code: CodeForbiddenMove, Message: "That status change is not allowed."}
	// ErrRefTaken: a gateway reference in the move already belongs to
	// another order; nothing was written.
	ErrRefTaken = &Error{Code: CodeRefTaken, Message: "A gateway reference already belongs to another order."}
	// ErrIdempotencyKeyExists: the checkout idempotency key is already claimed.
	ErrIdempotencyKeyExists = &Error{Code: CodeIdempotencyKeyExists, Message: "The idempotency key is already claimed."}
)

// ElsewhereError is a store's answer to a lookup of one kind of target
// (an order) by a gateway reference that belongs to another kind (a
// subscription): ID is the one it belongs to, so the caller can take the
// event there.
type ElsewhereError struct{ ID string }

func (e *ElsewhereError) Error() string { return "the reference belongs to " + e.ID }

// StoreError marks a failure of the storage system itself (throttling, a
// network error, a timeout): the request may succeed if retried, so the
// handlers answer 5xx and the gateway redelivers.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "store unavailable: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// Clip shortens a value quoted in an error message or a log line to n
// bytes, so a hostile request cannot make either as long as it likes.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
