// Package order is jampay's domain: orders and their line items in minor
// units, the status values of the HTTP contract, the one table of allowed
// status moves, how a verified gateway event changes an order, and the Store
// the handlers keep orders in. It imports no AWS, Stripe or Razorpay package.
package order
