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

	// History is every event applied to the order, oldest first, kept with
	// it (no Scan, no second request to read it).
	History []Change
	// Outbox is what the order's changes owe people (invariant 10): each
	// effect recorded in the write that owes it, and where its sending
	// stands.
	Outbox []Owed

	// PendingReplay lists gateway references a move indexed whose parked
	// events may not have been applied yet. It is written in the same
	// write as the move and cleared once they are, so a replay cut short
	// (a failed write, a process that died) is taken up again by the next
	// delivery for this order, duplicates included.
	PendingReplay []string

	// Refunds are the refunds the owner asked the gateway for, oldest
	// first: written before the gateway is asked, so what is refundable
	// counts those still pending (see Refund).
	Refunds []Refund
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
	o.History = slices.Clone(o.History)
	o.Outbox = slices.Clone(o.Outbox)
	o.Refunds = slices.Clone(o.Refunds)
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
