// Package razorpaysub reads Razorpay's Subscription entity — as a webhook
// carries it under payload.subscription.entity, or as the Subscriptions API
// answers with it — into jampay's words: one mapping, so a webhook and the
// API's answer to the owner's cancel say the same thing about the same
// state. It imports neither razorpay-go nor the webhook verifier, so both
// the webhook function (razorpayhook) and the checkout and cancel function
// (razorpaygw) link it alone.
package razorpaysub

import (
	"encoding/json"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// Entity is the fields jampay reads of Razorpay's Subscription entity
// ("Subscriptions → Subscription Entity"). Times are Unix seconds; Razorpay
// sends null for the ones that do not apply yet (current_start and
// current_end before the first billing cycle), read as 0.
type Entity struct {
	ID     string `json:"id"`
	Entity string `json:"entity"`
	PlanID string `json:"plan_id"`
	// Status is created, authenticated, active, pending, halted, paused,
	// cancelled, completed or expired.
	Status       string `json:"status"`
	CurrentStart int64  `json:"current_start"`
	CurrentEnd   int64  `json:"current_end"`
	EndedAt      int64  `json:"ended_at"`
	// StartAt is when billing starts: a future start_at is how a Razorpay
	// subscription gets a trial (jampay's catalog trialDays).
	StartAt  int64 `json:"start_at"`
	ChargeAt int64 `json:"charge_at"`
	ExpireBy int64 `json:"expire_by"`
	// ShortURL is Razorpay's hosted page for the subscription, where the
	// subscriber pays (or authorises a card for) it: the payment link a
	// failed renewal's mail gives.
	ShortURL   string `json:"short_url"`
	CreatedAt  int64  `json:"created_at"`
	Quantity   int64  `json:"quantity"`
	TotalCount int64  `json:"total_count"`
	// PaidCount is how many invoices have been paid, this one included
	// when the entity comes with subscription.charged.
	PaidCount int64 `json:"paid_count"`
	// HasScheduledChanges and ChangeScheduledAt describe an update
	// scheduled for the end of the cycle (Update a Subscription with
	// schedule_change_at=cycle_end), not a cancellation: see Facts.
	HasScheduledChanges bool  `json:"has_scheduled_changes"`
	ChangeScheduledAt   int64 `json:"change_scheduled_at"`
	// Notes were set by jampay when it created the subscription, with its
	// keys (notes.subscription_id); Checkout.js cannot change them.
	Notes Notes `json:"notes"`
}

// Notes is Razorpay's notes: an object of strings, or [] when empty. Every
// Razorpay entity carries them alike, so the webhook reads a payment's,
// an order's or a refund's notes with this type too.
type Notes map[string]string

// UnmarshalJSON reads an object's string values and takes anything else
// ([] for no notes, null) as no notes.
func (n *Notes) UnmarshalJSON(b []byte) error {
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		*n = nil
		return nil
	}
	*n = Notes{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			(*n)[k] = s
		}
	}
	return nil
}

// NoteSubscriptionID is the note jampay sets on every Razorpay subscription
// it creates: its own subscription id.
const NoteSubscriptionID = "subscription_id"

// Status maps Razorpay's subscription status, as it stood at the time at,
// to the contract's words; "" for a status Razorpay does not document.
// An authenticated subscription whose billing starts after at is in its
// trial (a Razorpay trial is a future start_at); one authenticated to
// start at once is active.
func Status(status string, startAt int64, at time.Time) string {
	switch status {
	case "created":
		return "pending"
	case "authenticated":
		if startAt > at.Unix() {
			return "trialing"
		}
		return "active"
	case "active":
		return "active"
	case "pending":
		// A renewal's charge failed; Razorpay retries it.
		return "past_due"
	case "halted":
		return "halted"
	case "paused":
		return "paused"
	case "cancelled":
		return "canceled"
	case "completed":
		return "completed"
	case "expired":
		return "expired"
	}
	return ""
}

// Facts is what the entity says, as it stood at the time at (the event's
// created_at, or when the API answered), in jampay's words.
//
// cancelAtCycleEnd is whether the owner's cancel asked Razorpay to cancel
// at the end of the cycle and Razorpay accepted it: Razorpay's entity has
// no field that says so (has_scheduled_changes and change_scheduled_at are
// for scheduled updates of plan or quantity, the status stays as it was
// until the cycle ends, and no webhook is sent), so only the API's answer
// to that request can set CancelAtPeriodEnd, and webhooks never do. A
// subscription already ended is not "ending".
func (e Entity) Facts(at time.Time, cancelAtCycleEnd bool) order.SubFacts {
	f := order.SubFacts{
		Ref:         e.ID,
		Status:      Status(e.Status, e.StartAt, at),
		PeriodStart: unix(e.CurrentStart),
		PeriodEnd:   unix(e.CurrentEnd),
	}
	if f.Status == "trialing" {
		f.TrialEnd = unix(e.StartAt)
	}
	switch f.Status {
	case "canceled", "completed", "expired":
	default:
		f.CancelAtPeriodEnd = cancelAtCycleEnd
	}
	return f
}

// unix is a Razorpay time; 0 (null, or never) is the zero time.
func unix(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
