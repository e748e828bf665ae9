package order

import (
	"slices"
	"time"
)

// Sources of an event applied to an order: who said so.
const (
	SourceWebhook   = "webhook"   // a verified gateway webhook
	SourceReconcile = "reconcile" // the gateway's API, asked by the reconcile job
	SourceOwner     = "owner"     // the owner's action (CLI, local dashboard)
)

// Change is one entry of an order's history: an event applied to it. It is
// written in the same conditional write as the change itself, so the
// history never misses a move nor records one that did not happen.
type Change struct {
	At        time.Time
	EventID   string
	EventType string
	// Source is SourceWebhook, SourceReconcile or SourceOwner.
	Source string
	// Actor is who acted for an owner's change or a reconcile run: the AWS
	// principal, or "local"; empty for a webhook.
	Actor string
	From  Status
	To    Status
}

// PaidLate reports whether money arrived after the order had ended
// expired: it is paid now, and the owner must hear of it (invariant 11).
func (o Order) PaidLate() bool {
	return o.Evidence.Expired && (o.Evidence.Paid || o.Evidence.Processing) && o.Status != Expired
}

// MaxHistory bounds an order's history on its item: DynamoDB refuses an
// item over 400 KB, and a customer can add an entry with every declined
// attempt. Past it the oldest entries after the first are dropped (the
// creation-side start and the recent story are what an owner reads).
const MaxHistory = 500

// AppendHistory adds c to h, keeping at most MaxHistory entries: the first
// and the most recent.
func AppendHistory(h []Change, c Change) []Change {
	h = append(slices.Clip(h), c)
	if len(h) > MaxHistory {
		h = append(h[:1:1], h[len(h)-MaxHistory+1:]...)
	}
	return h
}
