package order

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// LineItem is one product line of an order, priced from the catalog.
type LineItem struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unitAmount"`
}

// Order is what a customer asked to buy and what the gateways have said
// about paying for it.
type Order struct {
	ID       string
	Gateway  string
	Status   Status
	Version  int64 // grows by one with every write; conditional writes check it
	Items    []LineItem
	Amount   int64  // total in minor units of Currency
	Currency string // lower-case ISO 4217
	Email    string

	// TokenHash is the hex SHA-256 of the status token; the token itself is
	// given to the customer once and never stored.
	TokenHash string

	CreatedAt time.Time
	UpdatedAt time.Time
	// Deadline is when the gateway's checkout expires; the reconcile job asks
	// the gateway about pending orders past it.
	Deadline time.Time

	// SessionRef is the gateway's checkout object (Stripe Checkout Session
	// cs_…, Razorpay order order_…); PaymentRef its payment (pi_…, pay_…).
	SessionRef string
	PaymentRef string
	// Checkout is the JSON the site needs to send the customer to pay, kept
	// so a retried request with the same Idempotency-Key gets it back.
	Checkout string
	// GatewayError says why creating the checkout failed, if it did.
	GatewayError string

	FailureReason string
	Evidence      Evidence

	// PendingReplay lists gateway references a move indexed whose parked
	// events may not have been applied yet. It is written in the same
	// write as the move and cleared once they are, so a replay cut short
	// (a failed write, a process that died) is taken up again by the next
	// delivery for this order, duplicates included.
	PendingReplay []string
}

// ExpiredRetention is how long an order that ended expired with no money
// evidence is kept before the table's TTL deletes it.
const ExpiredRetention = 30 * 24 * time.Hour

// ExpiresAt is when the store may delete o: 30 days after it ended expired
// with no money evidence. An order the gateways ever said money moved for
// is the shop's record of it and never expires (zero time).
func (o Order) ExpiresAt() time.Time {
	if o.Status != Expired || o.Evidence.money() || o.Evidence.Processing {
		return time.Time{}
	}
	return o.UpdatedAt.Add(ExpiredRetention)
}

// Evidence is what verified gateway events have established about an
// order's money. It only ever grows, and the status is derived from it, so
// applying the same events in any order, any number of times, ends in the
// same status.
type Evidence struct {
	Processing   bool   // a payment is under way (async method, authorized)
	Paid         bool   // the gateway says the money was taken
	PaidAmount   int64  // what the gateway said it took
	PaidCurrency string //
	Mismatch     bool   // some event's amount or currency differed from the order's
	Declined     bool   // an attempt failed; the customer may retry
	FailedFinal  bool   // the payment failed for good (an async method failed)
	Expired      bool   // the checkout expired unpaid
	Refunded     int64  // the largest cumulative refunded amount reported
	// Disputes maps a dispute id to DisputeOpen, DisputeWon or DisputeLost.
	Disputes map[string]string
	// PaidRef is the gateway's id of the payment that paid the order.
	PaidRef string
	// ExtraPayments are other captured payments on an order already paid:
	// a double charge the owner should refund.
	ExtraPayments []string
	// ExtraRefunded are payments other than PaidRef refunded in full: a
	// double charge put right.
	ExtraRefunded []string
}

// money reports whether the gateways ever said money moved for the order.
func (ev Evidence) money() bool {
	return ev.Paid || len(ev.Disputes) > 0 || ev.Refunded > 0 || ev.Mismatch || len(ev.ExtraPayments) > 0
}

// Dispute states in Evidence.Disputes.
const (
	DisputeOpen = "open"
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// derive is the status the evidence amounts to for an order of amount.
// Read top to bottom: the first line that holds wins.
func (ev Evidence) derive(amount int64) Status {
	var open, lost bool
	for _, s := range ev.Disputes {
		open = open || s == DisputeOpen
		lost = lost || s == DisputeLost
	}
	switch {
	case lost || (ev.Refunded > 0 && ev.Refunded >= amount):
		return Refunded
	case open:
		return Disputed
	case ev.Refunded > 0:
		return PartiallyRefunded
	case ev.Mismatch:
		return AmountMismatch
	case ev.Paid || len(ev.Disputes) > 0:
		// A dispute, even one already closed, is the gateway's word that
		// the money was taken: a customer can only dispute a charge.
		return Paid
	case ev.FailedFinal:
		return Failed
	case ev.Processing:
		return Processing
	case ev.Expired:
		return Expired
	default:
		// A decline (ev.Declined) leaves the order open: the customer may
		// try again on the same checkout (invariant 11).
		return Pending
	}
}

func (ev Evidence) equal(o Evidence) bool {
	if ev.Processing != o.Processing || ev.Paid != o.Paid || ev.PaidAmount != o.PaidAmount ||
		ev.PaidCurrency != o.PaidCurrency || ev.Mismatch != o.Mismatch || ev.Declined != o.Declined ||
		ev.FailedFinal != o.FailedFinal || ev.Expired != o.Expired || ev.Refunded != o.Refunded ||
		len(ev.Disputes) != len(o.Disputes) || ev.PaidRef != o.PaidRef || !slices.Equal(ev.ExtraPayments, o.ExtraPayments) ||
		!slices.Equal(ev.ExtraRefunded, o.ExtraRefunded) {
		return false
	}
	for k, v := range ev.Disputes {
		if o.Disputes[k] != v {
			return false
		}
	}
	return true
}

func (ev Evidence) clone() Evidence {
	c := ev
	if ev.Disputes != nil {
		c.Disputes = make(map[string]string, len(ev.Disputes))
		for k, v := range ev.Disputes {
			c.Disputes[k] = v
		}
	}
	c.ExtraPayments = slices.Clone(ev.ExtraPayments)
	c.ExtraRefunded = slices.Clone(ev.ExtraRefunded)
	return c
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a fresh order id: "ord_" and 26 characters of base32 from
// 128 random bits, so ids cannot be guessed or enumerated.
func NewID() string {
	return "ord_" + strings.ToLower(idEncoding.EncodeToString(randomBytes(16)))
}

// NewToken returns a fresh status token (256 random bits, URL-safe) and the
// hash to store for it.
func NewToken() (token, hash string) {
	token = base64.RawURLEncoding.EncodeToString(randomBytes(32))
	return token, HashToken(token)
}

// HashToken is how a status token is stored: hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// noOrderHash is compared against when there is no order, so a lookup of an
// unknown id does the same work as a lookup with a wrong token.
var noOrderHash = HashToken("jampay: no such order")

// TokenMatches reports, in constant time, whether token is the status token
// of o. A nil o is compared too (and never matches), so that unknown ids and
// wrong tokens take the same path.
func TokenMatches(o *Order, token string) bool {
	want := noOrderHash
	if o != nil {
		want = o.TokenHash
	}
	got := HashToken(token)
	eq := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	return eq && o != nil && token != ""
}

// ValidID reports whether id has the shape NewID makes, so malformed ids
// never reach the store.
func ValidID(id string) bool {
	if len(id) != 30 || !strings.HasPrefix(id, "ord_") {
		return false
	}
	for _, c := range id[4:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error since Go 1.24; it crashes the
	// program rather than hand out predictable bytes.
	_, _ = rand.Read(b)
	return b
}

// Clone returns a copy of o that shares no slice or map with it.
func (o Order) Clone() Order {
	o.Items = append([]LineItem(nil), o.Items...)
	o.Evidence = o.Evidence.clone()
	o.PendingReplay = slices.Clone(o.PendingReplay)
	return o
}

// Checkout is what a gateway made for an order so the customer can pay.
type Checkout struct {
	// SessionRef is the gateway's id for it (cs_…, order_…).
	SessionRef string
	// Data is the JSON the site needs to send the customer to pay: the 201
	// response's "checkout".
	Data []byte
	// Deadline is when the checkout stops accepting payment.
	Deadline time.Time
}
