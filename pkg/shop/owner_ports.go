package shop

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Refunder asks one gateway to refund part or all of an order's payment:
// Stripe's Refunds API, Razorpay's refund API, the local sandbox.
type Refunder interface {
	// Refund asks the gateway to refund amount (minor units of the order's
	// currency) of o's payment, idempotently under key: the same key asks
	// once, however often it is sent. It returns the gateway's refund id.
	// The order does not move here: it moves when the gateway confirms,
	// by its webhook or reconcile's sweep.
	Refund(ctx context.Context, o order.Order, amount int64, key string) (refundID string, err error)
}

// RefundRequest is the owner asking for a refund.
type RefundRequest struct {
	OrderID string
	// Amount in minor units; 0 refunds all that is still refundable.
	Amount int64
	// Actor is who asks: the AWS principal, or "local".
	Actor string
}

// RefundResult is a refund asked of the gateway.
type RefundResult struct {
	Order    *order.Order
	Amount   int64
	RefundID string
	// Seq numbers the order's refund requests from 1; the gateway's
	// idempotency key is made from the order id and it.
	Seq int
	// Retried: the order held a request the gateway never answered (a
	// timeout, a process that died), and this call asked again for that
	// one, under its key, rather than reserving a new refund.
	Retried bool
	// Unrecorded, when set, is why the gateway's refund id could not be
	// stored on the order afterwards. The refund was asked all the same:
	// it is not a reason to ask again (doing so reuses the same key).
	Unrecorded error
}

// OrderFilter chooses orders for the owner's listing.
type OrderFilter struct {
	Status  order.Status // "" for any
	Gateway string       // "" for any
	// Since and Until bound CreatedAt (zero for no bound).
	Since, Until time.Time
}

// OrderLister lists orders for the owner (the CLI, the local dashboard):
// newest first, at most limit, paged with after/next like OpenPastDeadline.
// It is the owner's occasional look, not a request path: on DynamoDB its
// cost follows the table.
type OrderLister interface {
	ListOrders(ctx context.Context, f OrderFilter, limit int, after string) (orders []order.Order, next string, err error)
}
