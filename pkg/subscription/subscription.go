// Package subscription is jampay's domain for recurring billing: a
// subscription to one catalog product, the contract's subscription
// statuses, the evidence verified gateway events establish about it, the
// status derived from that evidence, and the Store it is kept in. Like
// package order, whose events, history, outbox and errors it shares, it
// imports no AWS, Stripe or Razorpay package.
package subscription

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Status is a subscription's place in its life, as the status endpoint
// reports it.
type Status string

// The statuses of the HTTP contract.
const (
	Pending   Status = "pending"   // the checkout is not completed
	Trialing  Status = "trialing"  // in its free trial
	Active    Status = "active"    // paid up
	PastDue   Status = "past_due"  // a renewal failed; the gateway is retrying
	Halted    Status = "halted"    // retries exhausted (Stripe unpaid, Razorpay halted)
	Paused    Status = "paused"    // paused by the owner at the gateway
	Canceled  Status = "canceled"  // ended by a cancellation
	Completed Status = "completed" // every billing cycle done
	Expired   Status = "expired"   // the checkout was never completed
)

// Statuses lists every status, in the contract's order.
var Statuses = []Status{Pending, Trialing, Active, PastDue, Halted, Paused, Canceled, Completed, Expired}

// Valid reports whether s is one of the contract's statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Final reports whether nothing moves a subscription out of s.
func (s Status) Final() bool { return s == Canceled || s == Completed || s == Expired }

// Entitled reports whether a subscriber in s gets what they subscribe to:
// during a trial, while paid up, and while a failed renewal is retried.
func (s Status) Entitled() bool { return s == Trialing || s == Active || s == PastDue }

// CanMove reports whether a subscription in from may change to to. The
// final statuses are left by nothing; nothing goes back to pending (the
// checkout, once completed, stays completed); every other change follows
// what the gateway says, since subscriptions move back and forth between
// active, past_due, halted and paused. A status never "moves" to itself.
func CanMove(from, to Status) bool {
	return from != to && from.Valid() && to.Valid() && !from.Final() && to != Pending
}

// Subscription is a customer's subscription to one catalog product, and
// what the gateways have said about it.
type Subscription struct {
	ID      string
	Gateway string
	Status  Status
	Version int64 // grows by one with every write; conditional writes check it

	// The plan, from the catalog when the subscription was created: later
	// catalog changes price only new checkouts.
	SKU           string
	Name          string
	Quantity      int64
	UnitAmount    int64
	Amount        int64  // per billing period: UnitAmount × Quantity, minor units
	Currency      string // lower-case ISO 4217
	Interval      string // day, week, month, year
	IntervalCount int64
	TrialDays     int64
	TotalCount    int64 // billing cycles (Razorpay's total_count); 0 on Stripe: open-ended

	Email     string
	TokenHash string // hex SHA-256 of the status token
	// AccessTokenHashes are the hashes of tokens sent in access links (a
	// subscriber on another device), oldest first, at most MaxAccessTokens:
	// each opens the subscription like the checkout's token.
	AccessTokenHashes []string
	// LinkSentAt is when the last access link was sent, so a flood of
	// requests sends at most one per AccessLinkEvery.
	LinkSentAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
	// Deadline is when the checkout stops accepting the customer: past it
	// the reconcile job asks the gateway, and ends the subscription
	// expired if the checkout was never completed.
	Deadline time.Time

	// SessionRef is the checkout jampay made: a Stripe Checkout Session
	// (cs_…), or the Razorpay subscription itself (sub_…), whose events
	// alone may move it. SubscriptionRef is the gateway's subscription
	// (Stripe learns it from the completed session; on Razorpay it is
	// SessionRef). PlanRef is the Razorpay plan it was made on.
	SessionRef      string
	SubscriptionRef string
	PlanRef         string
	// Customer is the gateway's customer (Stripe cus_…), for the billing
	// portal.
	Customer string
	// PaymentLink is the gateway's own page where the subscriber pays the
	// subscription (Razorpay's short_url): a failed renewal's mail gives
	// it. Stripe's subscribers update their card in the billing portal.
	PaymentLink string
	// Checkout is the JSON the site needs to send the customer to
	// subscribe, kept for Idempotency-Key replays.
	Checkout     string
	GatewayError string

	Evidence Evidence

	History       []order.Change
	Outbox        []order.Owed
	PendingReplay []string
}

// Entitled reports whether the subscriber gets what they subscribe to.
func (s Subscription) Entitled() bool { return s.Status.Entitled() }

// IntervalText is a billing interval as a price tag says it: "month",
// "3 months". The CLI, the dashboard, the mails and the Razorpay checkout's
// description all say it so.
func IntervalText(interval string, count int64) string {
	if count <= 1 {
		return interval
	}
	return strconv.FormatInt(count, 10) + " " + interval + "s"
}

// FailureReason is why the latest payment failed, while it matters: the
// checkout is open, or a renewal is failing. Paid up again, it is history.
func (s Subscription) FailureReason() string {
	switch s.Status {
	case Pending, PastDue, Halted, Expired:
		return s.Evidence.FailureReason
	}
	return ""
}

// CurrentPeriodEnd is the end of the period paid for (or of the trial),
// which never moves backwards; zero if no gateway said yet.
func (s Subscription) CurrentPeriodEnd() time.Time { return unix(s.Evidence.PeriodEnd) }

// TrialEnd is when the trial ends, or zero for none.
func (s Subscription) TrialEnd() time.Time { return unix(s.Evidence.Snapshot.TrialEnd) }

// CancelAtPeriodEnd reports whether the subscription ends with its period:
// as its latest snapshot says (Stripe's carry it both ways: a subscriber
// may undo it in the billing portal), or as Razorpay's API confirmed
// (its entity has no field for it, and it cannot be undone).
func (s Subscription) CancelAtPeriodEnd() bool {
	scheduled := s.Evidence.CancelScheduled && s.Gateway == "razorpay"
	return (s.Evidence.Snapshot.CancelAtPeriodEnd || scheduled) && !s.Status.Final()
}

func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// Clone returns a copy of s that shares no slice or map with it.
func (s Subscription) Clone() Subscription {
	s.Evidence = s.Evidence.clone()
	s.History = slices.Clone(s.History)
	s.Outbox = slices.Clone(s.Outbox)
	s.PendingReplay = slices.Clone(s.PendingReplay)
	s.AccessTokenHashes = slices.Clone(s.AccessTokenHashes)
	return s
}

// MaxAccessTokens is how many access-link tokens a subscription keeps;
// a new link past it retires the oldest.
const MaxAccessTokens = 10

// AccessLinkEvery is the least time between two access links for one
// subscription: asking again sooner sends nothing (the 202 tells nothing).
const AccessLinkEvery = 5 * time.Minute

// IDPrefix starts every subscription id; order ids start "ord_".
const IDPrefix = "sbn_"

// NewID returns a fresh subscription id: IDPrefix and 26 characters of
// base32 from 128 random bits, so ids cannot be guessed or enumerated.
func NewID() string { return IDPrefix + strings.TrimPrefix(order.NewID(), "ord_") }

// ValidID reports whether id has the shape NewID makes, so malformed ids
// never reach the store.
func ValidID(id string) bool {
	rest, ok := strings.CutPrefix(id, IDPrefix)
	return ok && order.ValidID("ord_"+rest)
}

// noSubscriptionHash is compared against when there is no subscription, so
// an unknown id costs what a wrong token does.
var noSubscriptionHash = order.HashToken("jampay: no such subscription")

// TokenMatches reports, in constant time, whether token is s's status
// token or one of its access links'; a nil s is compared too (with as many
// hashes as a subscription can hold), and never matches.
func TokenMatches(s *Subscription, token string) bool {
	hashes := []string{noSubscriptionHash}
	if s != nil {
		hashes = append([]string{s.TokenHash}, s.AccessTokenHashes...)
	}
	match := false
	for i := range MaxAccessTokens + 1 {
		h := noSubscriptionHash
		if i < len(hashes) {
			h = hashes[i]
		}
		// Every slot is compared, so the time taken tells nothing.
		m := order.TokenMatches(&order.Order{TokenHash: h}, token)
		match = match || m && i < len(hashes)
	}
	return match && s != nil
}

// Checkout is what a gateway made so the customer can subscribe.
type Checkout struct {
	// SessionRef is the checkout's id (Stripe cs_…, Razorpay sub_…);
	// SubscriptionRef the gateway's subscription when it exists already
	// (Razorpay: the same sub_…; Stripe: empty until the session completes).
	SessionRef      string
	SubscriptionRef string
	// PlanRef is the Razorpay plan the subscription is on.
	PlanRef string
	// PaymentLink is the gateway's own page where the subscriber pays it
	// (Razorpay's short_url), for a failed renewal's mail.
	PaymentLink string
	// Data is the 201 response's "checkout".
	Data []byte
	// Deadline is when the checkout stops accepting the customer.
	Deadline time.Time
}
