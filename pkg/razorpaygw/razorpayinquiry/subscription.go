package razorpayinquiry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
	"github.com/jampay/jampay/pkg/razorpayhook"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

var (
	_ shop.SubscriptionInquirer = (*Inquirer)(nil)
	_ shop.SubscriptionWatcher  = (*Inquirer)(nil)
)

// RenewalType is the type of the event a paid invoice that no webhook
// reported is applied as: what its subscription.charged would have said.
const RenewalType = "subscription.charged"

// maxInvoicePages bounds the invoices read for one subscription (100 a
// page): ten years of weekly billing.
const maxInvoicePages = 10

// snapshotTypes is the webhook Razorpay sends when a subscription enters
// each status: a re-read entity is wrapped in it and decoded by
// razorpayhook, so it reads exactly as that webhook would.
var snapshotTypes = map[string]string{
	"authenticated": "subscription.authenticated",
	"active":        "subscription.activated",
	"pending":       "subscription.pending",
	"halted":        "subscription.halted",
	"cancelled":     "subscription.cancelled",
	"completed":     "subscription.completed",
	"paused":        "subscription.paused",
}

// InquireSubscription says what Razorpay knows of a subscription still
// pending past its checkout deadline (GET /v1/subscriptions/{id}). Still
// created ExpiryGrace after the deadline (the customer never authenticated
// it, and a bank's answer may be on its way until then), it is cancelled
// at Razorpay (POST /v1/subscriptions/{id}/cancel, cancel_at_cycle_end 0;
// not in a dry run), so nobody can authenticate it later, and it ends
// expired. Authenticated or later, what it says is applied as
// WatchSubscription applies it.
func (q *Inquirer) InquireSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error) {
	if s.Status != subscription.Pending || s.Deadline.IsZero() || now.Before(s.Deadline) {
		return nil, nil
	}
	over := now.After(s.Deadline.Add(shop.ExpiryGrace))
	ref := cmp.Or(s.SubscriptionRef, s.SessionRef)
	if ref == "" {
		// Making it at Razorpay failed: nobody can subscribe through it.
		if !over {
			return nil, nil
		}
		return []order.Event{expired(s, "", now)}, nil
	}
	ent, raw, err := q.subscription(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ent.Status == "created" {
		if !over {
			return nil, nil
		}
		if shop.IsDryRun(ctx) {
			return []order.Event{expired(s, ref, now)}, nil
		}
		if ent, raw, err = q.cancel(ctx, ref); err != nil {
			return nil, err
		}
	}
	if neverStarted(ent) {
		return []order.Event{expired(s, ref, now)}, nil
	}
	return q.live(ctx, s, ent, raw, now)
}

// neverStarted reports a subscription that ended without the customer
// ever paying or authenticating it: cancelled by reconcile (or the owner)
// while created, or expired by Razorpay past its expire_by.
func neverStarted(e razorpaysub.Entity) bool {
	return (e.Status == "cancelled" || e.Status == "expired" || e.Status == "created") && e.PaidCount == 0 && e.CurrentStart == 0
}

// cancel cancels a created subscription now, and returns what Razorpay
// says it is after. Razorpay refuses to cancel one no longer cancellable (a
// 400: cancelled by an earlier attempt whose answer was lost, or expired);
// then it is read again, and only one still created makes the refusal an
// error. One authenticated meanwhile is cancellable, and is cancelled: the
// customer authenticated a checkout past its deadline, which, unlike a
// late payment, takes no money yet.
func (q *Inquirer) cancel(ctx context.Context, ref string) (razorpaysub.Entity, json.RawMessage, error) {
	var raw json.RawMessage
	err := q.api.post(ctx, "cancel subscription "+ref, "/v1/subscriptions/"+url.PathEscape(ref)+"/cancel",
		[]byte(`{"cancel_at_cycle_end":0}`), &raw)
	if err == nil {
		var ent razorpaysub.Entity
		if jerr := json.Unmarshal(raw, &ent); jerr != nil || ent.ID != ref {
			return razorpaysub.Entity{}, nil, fmt.Errorf("razorpay: cancel subscription %s: the answer is not that subscription: %.80s", ref, raw)
		}
		return ent, raw, nil
	}
	ent, again, rerr := q.subscription(ctx, ref)
	if rerr != nil {
		return razorpaysub.Entity{}, nil, rerr
	}
	if ent.Status == "created" {
		return razorpaysub.Entity{}, nil, err
	}
	return ent, again, nil
}

// expired is the end of a subscription whose checkout nobody completed.
func expired(s subscription.Subscription, ref string, now time.Time) order.Event {
	return order.Event{Gateway: gateway, ID: "recon_" + cmp.Or(ref, s.ID) + "_expired", Type: CheckoutExpired,
		Kind: order.KindExpired, Source: order.SourceReconcile, OrderID: s.ID, SessionRef: ref,
		Refs: order.Refs(ref), Created: now.UTC(), Sub: &order.SubFacts{Ref: ref}}
}

// WatchSubscription reads a live subscription again (GET
// /v1/subscriptions/{id}): Razorpay has no events API, and sends no
// webhook at all for some changes. Its entity is applied as the snapshot
// its webhook would carry (razorpayhook's decoding of that webhook, read
// at now), under an id stable per state
// ("rzp_sub_<id>_<status>_<current_end>_<paid_count>"), so a state read
// again is a duplicate. When Razorpay counts more paid cycles than the
// subscription has renewals, its invoices (GET /v1/invoices with
// subscription_id, count and skip) give the ones missed: each paid
// invoice's payment is a renewal (its amount, currency and billing period),
// under the id "recon_<invoice>_paid"; the subscription.charged webhook of
// the same payment then records nothing new. Renewals come before the
// snapshot, so a subscription that completed with its last charge has
// that charge recorded first.
func (q *Inquirer) WatchSubscription(ctx context.Context, s subscription.Subscription, now time.Time) ([]order.Event, error) {
	ref := cmp.Or(s.SubscriptionRef, s.SessionRef)
	if s.Status == subscription.Pending || s.Status.Final() || !strings.HasPrefix(ref, "sub_") {
		return nil, nil
	}
	ent, raw, err := q.subscription(ctx, ref)
	if err != nil {
		return nil, err
	}
	return q.live(ctx, s, ent, raw, now)
}

// live is what a subscription past its checkout says: the renewals
// missed, then its snapshot.
func (q *Inquirer) live(ctx context.Context, s subscription.Subscription, ent razorpaysub.Entity, raw json.RawMessage, now time.Time) ([]order.Event, error) {
	var out []order.Event
	if ent.PaidCount > int64(len(s.Evidence.Renewals)) {
		renewals, err := q.renewals(ctx, s, ent, now)
		if err != nil {
			return nil, err
		}
		out = renewals
	}
	snap, err := snapshot(ent, raw, now)
	if err != nil {
		return nil, err
	}
	if snap != nil {
		out = append(out, *snap)
	}
	return out, nil
}

// subscription reads one subscription by id.
func (q *Inquirer) subscription(ctx context.Context, ref string) (razorpaysub.Entity, json.RawMessage, error) {
	var raw json.RawMessage
	if err := q.api.get(ctx, "read subscription "+ref, "/v1/subscriptions/"+url.PathEscape(ref), nil, &raw); err != nil {
		return razorpaysub.Entity{}, nil, err
	}
	var ent razorpaysub.Entity
	if err := json.Unmarshal(raw, &ent); err != nil || ent.ID != ref {
		return razorpaysub.Entity{}, nil, fmt.Errorf("razorpay: read subscription %s: the answer is not that subscription: %.80s", ref, raw)
	}
	return ent, raw, nil
}

// snapshot wraps the entity in the webhook Razorpay sends for its status
// and decodes it with razorpayhook, as of now; nil for a status that has
// no snapshot to give (created: the checkout is still open).
func snapshot(ent razorpaysub.Entity, raw json.RawMessage, now time.Time) (*order.Event, error) {
	if ent.Status == "created" {
		return nil, nil
	}
	typ := cmp.Or(snapshotTypes[ent.Status], "subscription.updated")
	w := webhook{Entity: "event", Event: typ, Contains: []string{"subscription"}, CreatedAt: now.Unix(),
		Payload: map[string]wrappedItem{"subscription": {raw}}}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("razorpay: %s %s: %w", typ, ent.ID, err)
	}
	e, err := razorpayhook.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("razorpay: %s %s: %w", typ, ent.ID, err)
	}
	if e.Kind == order.KindIgnored {
		return nil, nil
	}
	status := ent.Status
	if e.Sub != nil && e.Sub.Status != "" {
		// In the contract's words: an authenticated subscription is
		// trialing until its start, then active, with no new entity.
		status = e.Sub.Status
	}
	e.ID = "rzp_sub_" + ent.ID + "_" + status + "_" + strconv.FormatInt(ent.CurrentEnd, 10) + "_" + strconv.FormatInt(ent.PaidCount, 10)
	e.Gateway, e.Source = gateway, order.SourceReconcile
	return &e, nil
}

// invoice is what reconcile reads of Razorpay's Invoice entity
// ("Invoices → Invoices Entity"; a subscription's are listed by "Fetch All
// Invoices of a Subscription"). Times are Unix seconds, null read as 0.
type invoice struct {
	ID             string `json:"id"`
	Entity         string `json:"entity"`
	SubscriptionID string `json:"subscription_id"`
	PaymentID      string `json:"payment_id"`
	OrderID        string `json:"order_id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	AmountPaid     int64  `json:"amount_paid"`
	Currency       string `json:"currency"`
	PaidAt         int64  `json:"paid_at"`
	BillingStart   int64  `json:"billing_start"`
	BillingEnd     int64  `json:"billing_end"`
}

// renewals lists the subscription's invoices and returns, oldest first,
// a renewal for each paid one whose payment is not recorded yet.
func (q *Inquirer) renewals(ctx context.Context, s subscription.Subscription, ent razorpaysub.Entity, now time.Time) ([]order.Event, error) {
	var paid []invoice
	for page := range maxInvoicePages + 1 {
		if page == maxInvoicePages {
			return nil, fmt.Errorf("razorpay: subscription %s has more than %d invoices", ent.ID, maxInvoicePages*listCount)
		}
		query := url.Values{"subscription_id": {ent.ID}, "count": {strconv.Itoa(listCount)}, "skip": {strconv.Itoa(page * listCount)}}
		var c struct {
			Items []invoice `json:"items"`
		}
		if err := q.api.get(ctx, "invoices of subscription "+ent.ID, "/v1/invoices", query, &c); err != nil {
			return nil, err
		}
		for _, inv := range c.Items {
			// Only the asked subscription's: a stand-in or a change of
			// Razorpay's that ignored the filter must not pay another.
			if inv.Status == "paid" && inv.PaymentID != "" && inv.SubscriptionID == ent.ID {
				paid = append(paid, inv)
			}
		}
		if len(c.Items) < listCount {
			break
		}
	}
	slices.SortFunc(paid, func(a, b invoice) int {
		return cmp.Or(cmp.Compare(a.BillingStart, b.BillingStart), cmp.Compare(a.PaidAt, b.PaidAt), strings.Compare(a.ID, b.ID))
	})
	// The first charge starts the subscription (its mail is the started
	// one), as subscription.charged with paid_count 1 says: the earliest
	// paid invoice, unless a first one is recorded already.
	firstKnown := slices.ContainsFunc(s.Evidence.Renewals, func(r subscription.Renewal) bool { return r.First })
	var out []order.Event
	for i, inv := range paid {
		if s.Evidence.Renewed(inv.PaymentID) {
			continue
		}
		at := time.Unix(cmp.Or(inv.PaidAt, now.Unix()), 0).UTC()
		out = append(out, order.Event{
			Gateway: gateway, ID: "recon_" + inv.ID + "_paid", Type: RenewalType, Kind: order.KindRenewalPaid,
			Source: order.SourceReconcile, OrderID: s.ID, SessionRef: ent.ID,
			Refs:       order.Refs(ent.ID, inv.PaymentID, inv.OrderID),
			PaymentRef: inv.PaymentID, Amount: cmp.Or(inv.AmountPaid, inv.Amount), Currency: strings.ToLower(inv.Currency),
			Created: at,
			Sub: &order.SubFacts{Ref: ent.ID, Renewal: inv.PaymentID, PeriodStart: unixOrZero(inv.BillingStart),
				PeriodEnd: unixOrZero(inv.BillingEnd), FirstInvoice: i == 0 && !firstKnown && int64(len(paid)) >= ent.PaidCount},
		})
	}
	return out, nil
}

func unixOrZero(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
