package razorpaygw

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw/razorpaysub"
	"github.com/jampay/jampay/pkg/subscription"
)

// Subscriptions are made with the REST client (rest.go), not razorpay-go's
// Plan and Subscription resources, which exist but share the faults of its
// request layer: no context (a call cannot be bounded by the Lambda's
// deadline), a 5xx without Razorpay's JSON reads as a BadRequestError and a
// 400 with it as an empty map and no error — so neither "Razorpay refused"
// nor "Razorpay failed, maybe after making it" could be told apart, and
// telling them apart is what keeps a replay from making a second
// subscription.

// gatewayName is how jampay names Razorpay, in events and the PlanStore.
const gatewayName = "razorpay"

// periods are Razorpay's plan periods for the catalog's intervals.
var periods = map[string]string{"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}

// listPageSize is the most subscriptions Razorpay lists at once; at most
// listPages pages are looked through for one made by an earlier attempt.
const listPageSize, listPages = 100, 10

// clockSkew is how much earlier than our record of a subscription
// Razorpay's clock may stamp the subscription made for it.
const clockSkew = 10 * time.Minute

// PlanKey is the key a subscription's Razorpay plan is kept under in the
// PlanStore: sku|unit amount|currency|interval|interval count. A plan is
// what one unit costs per period; the quantity is the subscription's.
func PlanKey(s *subscription.Subscription) string {
	return strings.Join([]string{s.SKU, strconv.FormatInt(s.UnitAmount, 10), strings.ToLower(s.Currency),
		s.Interval, strconv.FormatInt(s.IntervalCount, 10)}, "|")
}

// CreateSubscriptionCheckout makes the Razorpay subscription the customer
// authenticates in Checkout.js (jampay's checkout is the subscription
// itself), on the plan for s's product, price and interval, made once
// and kept in Config.Plans. s.ID goes to Razorpay in the subscription's
// notes (subscription_id), which only the account's keys can set.
//
// It is safe to call again for the same s: before making a subscription
// it looks for one an earlier call made (Razorpay lists subscriptions by
// plan and creation time, not by notes, so the plan's subscriptions since
// s was created are looked through for notes.subscription_id), unless the
// plan was made by this very call, when there can be none; and a create
// that timed out is looked for before it is made once more. A 5xx or a
// timeout is an error: the caller records it and a replay looks again.
func (g *Gateway) CreateSubscriptionCheckout(ctx context.Context, s *subscription.Subscription) (subscription.Checkout, error) {
	if g.c.Plans == nil {
		return subscription.Checkout{}, errors.New("razorpay: no plan store: subscriptions are not configured")
	}
	if _, ok := periods[s.Interval]; !ok || s.IntervalCount <= 0 || s.TotalCount <= 0 || s.Quantity <= 0 || s.UnitAmount <= 0 {
		return subscription.Checkout{}, fmt.Errorf("razorpay: subscription %s cannot be sold on Razorpay: every %d %s, %d cycles, quantity %d, unit amount %d",
			s.ID, s.IntervalCount, s.Interval, s.TotalCount, s.Quantity, s.UnitAmount)
	}
	rest := g.c.REST()
	planID, madeNow, err := g.plan(ctx, rest, s)
	if err != nil {
		return subscription.Checkout{}, err
	}
	now := g.c.Now()
	var sub *razorpaysub.Entity
	if !madeNow {
		sub, err = findSubscription(ctx, rest, planID, s)
	}
	if sub == nil && err == nil {
		sub, err = createSubscription(ctx, rest, planID, s, now, now.Add(g.c.TTL))
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() && ctx.Err() == nil {
			// Timed out: Razorpay may have made it. Find it, or make it
			// once more.
			if sub, err = findSubscription(ctx, rest, planID, s); sub == nil && err == nil {
				sub, err = createSubscription(ctx, rest, planID, s, now, now.Add(g.c.TTL))
			}
		}
	}
	if err != nil {
		return subscription.Checkout{}, err
	}
	deadline := now.Add(g.c.TTL)
	if sub.ExpireBy > 0 {
		// A subscription an earlier call made keeps its own expiry.
		deadline = time.Unix(sub.ExpireBy, 0).UTC()
	}
	data, _ := json.Marshal(subscriptionCheckoutData{
		KeyID: g.c.KeyID, SubscriptionID: sub.ID, Name: g.c.ShopName, Description: describe(s),
		Amount: s.Amount, Currency: strings.ToUpper(s.Currency), Prefill: prefill{Email: s.Email},
		Timeout: max(int64(deadline.Sub(now)/time.Second), 0),
	})
	return subscription.Checkout{SessionRef: sub.ID, SubscriptionRef: sub.ID, PlanRef: planID, PaymentLink: sub.ShortURL,
		Data: data, Deadline: deadline}, nil
}

// subscriptionCheckoutData is the 201 response's checkout for a Razorpay
// subscription: the options of `new Razorpay(options)` with
// subscription_id instead of order_id.
type subscriptionCheckoutData struct {
	KeyID          string  `json:"keyId"`
	SubscriptionID string  `json:"subscriptionId"`
	Name           string  `json:"name"`
	Description    string  `json:"description"`
	Amount         int64   `json:"amount"`
	Currency       string  `json:"currency"`
	Prefill        prefill `json:"prefill"`
	// Timeout is Checkout.js's timeout, in seconds: until the deadline.
	Timeout int64 `json:"timeout,omitempty"`
}

// plan returns the Razorpay plan for s, making it if the PlanStore has
// none, and whether this call made the plan that is used. Two first
// checkouts at once may each make one: the one stored first is used by
// both, and the other is left unused at Razorpay (its API deletes no plan).
func (g *Gateway) plan(ctx context.Context, rest *REST, s *subscription.Subscription) (string, bool, error) {
	key := PlanKey(s)
	id, err := g.c.Plans.Plan(ctx, gatewayName, key)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, order.ErrNotFound) {
		return "", false, fmt.Errorf("razorpay: read plan %s: %w", key, err)
	}
	body, _ := json.Marshal(planBody{
		Period: periods[s.Interval], Interval: s.IntervalCount,
		Item:  planItem{Name: s.Name, Amount: s.UnitAmount, Currency: strings.ToUpper(s.Currency), Description: every(s)},
		Notes: map[string]string{"sku": s.SKU},
	})
	var made struct {
		ID string `json:"id"`
	}
	if err := rest.Do(ctx, http.MethodPost, "/v1/plans", body, nil, &made); err != nil {
		return "", false, fmt.Errorf("razorpay: create plan: %w", err)
	}
	if !strings.HasPrefix(made.ID, "plan_") {
		return "", false, errors.New("razorpay: create plan: no plan in the answer")
	}
	stored, err := g.c.Plans.PutPlan(ctx, gatewayName, key, made.ID)
	if err != nil {
		return "", false, fmt.Errorf("razorpay: keep plan %s: %w", key, err)
	}
	return stored, stored == made.ID, nil
}

// planBody is "Create a Plan", POST /v1/plans.
type planBody struct {
	Period   string            `json:"period"`
	Interval int64             `json:"interval"`
	Item     planItem          `json:"item"`
	Notes    map[string]string `json:"notes"`
}

type planItem struct {
	Name        string `json:"name"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

// subscriptionBody is "Create a Subscription", POST /v1/subscriptions.
type subscriptionBody struct {
	PlanID     string `json:"plan_id"`
	TotalCount int64  `json:"total_count"`
	Quantity   int64  `json:"quantity"`
	// CustomerNotify 0: jampay mails the customer, Razorpay does not.
	CustomerNotify int `json:"customer_notify"`
	// StartAt, in the future, is a trial: Razorpay authenticates the card
	// now and charges from then.
	StartAt int64 `json:"start_at,omitempty"`
	// ExpireBy is the checkout deadline: the last moment the customer can
	// authenticate.
	ExpireBy int64             `json:"expire_by"`
	Notes    map[string]string `json:"notes"`
}

func createSubscription(ctx context.Context, rest *REST, planID string, s *subscription.Subscription, now, deadline time.Time) (*razorpaysub.Entity, error) {
	b := subscriptionBody{PlanID: planID, TotalCount: s.TotalCount, Quantity: s.Quantity, ExpireBy: deadline.Unix(),
		Notes: map[string]string{razorpaysub.NoteSubscriptionID: s.ID}}
	if s.TrialDays > 0 {
		b.StartAt = now.Add(time.Duration(s.TrialDays) * 24 * time.Hour).Unix()
	}
	body, _ := json.Marshal(b)
	var made razorpaysub.Entity
	if err := rest.Do(ctx, http.MethodPost, "/v1/subscriptions", body, nil, &made); err != nil {
		return nil, fmt.Errorf("razorpay: create subscription: %w", err)
	}
	if !strings.HasPrefix(made.ID, "sub_") {
		return nil, errors.New("razorpay: create subscription: no subscription in the answer")
	}
	return &made, nil
}

// findSubscription looks through the plan's subscriptions created since s
// was (less clockSkew) for the one whose notes name s: "Fetch All
// Subscriptions", GET /v1/subscriptions with plan_id, from, count and skip.
// nil if there is none.
func findSubscription(ctx context.Context, rest *REST, planID string, s *subscription.Subscription) (*razorpaysub.Entity, error) {
	q := url.Values{"plan_id": {planID}, "count": {strconv.Itoa(listPageSize)}}
	if !s.CreatedAt.IsZero() {
		q.Set("from", strconv.FormatInt(s.CreatedAt.Add(-clockSkew).Unix(), 10))
	}
	for page := range listPages {
		q.Set("skip", strconv.Itoa(page*listPageSize))
		var list struct {
			Items []razorpaysub.Entity `json:"items"`
		}
		if err := rest.Do(ctx, http.MethodGet, "/v1/subscriptions?"+q.Encode(), nil, nil, &list); err != nil {
			return nil, fmt.Errorf("razorpay: list subscriptions: %w", err)
		}
		for i, it := range list.Items {
			if it.Notes[razorpaysub.NoteSubscriptionID] == s.ID && strings.HasPrefix(it.ID, "sub_") {
				return &list.Items[i], nil
			}
		}
		if len(list.Items) < listPageSize {
			return nil, nil
		}
	}
	// More subscriptions on one plan since s was made than are looked
	// through: making another could make a second one for s.
	return nil, fmt.Errorf("razorpay: list subscriptions: more than %d on plan %s since %s; not making another", listPages*listPageSize, planID, s.ID)
}

// CancelSubscription asks Razorpay to cancel s, at the end of its billing
// cycle or now ("Cancel a Subscription", POST
// /v1/subscriptions/:id/cancel with cancel_at_cycle_end 1 or 0), and
// returns Razorpay's answer as evidence, read by the same mapping as the
// webhooks. Razorpay sends no webhook when it accepts a cancel at the
// cycle's end and its answer has no field that says one is scheduled (the
// status stays as it was until the cycle ends): that the answer is a 2xx
// to that request is what sets CancelAtPeriodEnd. Asking twice is fine: a
// subscription Razorpay refuses to cancel because it has already ended is
// answered with its current state.
func (g *Gateway) CancelSubscription(ctx context.Context, s *subscription.Subscription, atPeriodEnd bool) (order.Event, error) {
	id := cmp.Or(s.SubscriptionRef, s.SessionRef)
	if !strings.HasPrefix(id, "sub_") {
		return order.Event{}, fmt.Errorf("razorpay: subscription %s has no Razorpay subscription to cancel", s.ID)
	}
	rest := g.c.REST()
	path := "/v1/subscriptions/" + url.PathEscape(id)
	flag := 0
	if atPeriodEnd {
		flag = 1
	}
	body, _ := json.Marshal(map[string]int{"cancel_at_cycle_end": flag})
	var ent razorpaysub.Entity
	err := rest.Do(ctx, http.MethodPost, path+"/cancel", body, nil, &ent)
	if apiErr := (*APIError)(nil); errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		// "Subscription is not cancellable in cancelled status": what has
		// ended stays ended, and that is the answer to a second request.
		var cur razorpaysub.Entity
		if rest.Do(ctx, http.MethodGet, path, nil, nil, &cur) == nil && cur.ID == id &&
			(cur.Status == "cancelled" || cur.Status == "completed" || cur.Status == "expired") {
			ent, err = cur, nil
		}
	}
	if err != nil {
		return order.Event{}, fmt.Errorf("razorpay: cancel subscription: %w", err)
	}
	if ent.ID != id {
		return order.Event{}, fmt.Errorf("razorpay: cancel subscription: the answer is about %q, not %s", ent.ID, id)
	}
	now := g.c.Now().UTC()
	facts := ent.Facts(now, atPeriodEnd)
	return order.Event{
		Gateway: gatewayName, ID: "api_" + id + "_" + strconv.FormatInt(now.UnixNano(), 10),
		Type: "subscription.cancel_requested", Kind: order.KindSubscription, Source: order.SourceOwner,
		SessionRef: id, Refs: []string{id}, Created: now, Sub: &facts,
	}, nil
}

// describe is what the customer is subscribing to, for Checkout.js.
func describe(s *subscription.Subscription) string {
	name := s.Name
	if s.Quantity > 1 {
		name = strconv.FormatInt(s.Quantity, 10) + " × " + name
	}
	return name + ", " + every(s)
}

// every is how often s is billed: "every month", "every 3 weeks".
func every(s *subscription.Subscription) string {
	return "every " + subscription.IntervalText(s.Interval, s.IntervalCount)
}
