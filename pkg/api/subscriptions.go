package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// errSubscriptionNotFound is the one answer to an unknown id, a malformed
// id and a wrong token.
var errSubscriptionNotFound = &order.Error{Code: order.CodeSubscriptionNotFound, Message: "No subscription with that id and token."}

type subscriptionCreatedResponse struct {
	SubscriptionID string          `json:"subscriptionId"`
	StatusToken    string          `json:"statusToken"`
	Gateway        string          `json:"gateway"`
	Amount         int64           `json:"amount"`
	Currency       string          `json:"currency"`
	Interval       string          `json:"interval"`
	IntervalCount  int64           `json:"intervalCount"`
	Checkout       json.RawMessage `json:"checkout"`
}

// subscriptionCreated answers a checkout that made a subscription.
func (s *server) subscriptionCreated(w http.ResponseWriter, r *http.Request, res shop.CheckoutResult) {
	sub := res.Subscription
	switch {
	case res.Replayed:
		s.log(r, slog.LevelInfo, "checkout replayed", "subscription_id", sub.ID)
	case res.Created:
		s.log(r, slog.LevelInfo, "subscription created", "subscription_id", sub.ID, "gateway", sub.Gateway,
			"sku", sub.SKU, "amount", sub.Amount, "currency", sub.Currency, "session", sub.SessionRef)
	}
	s.writeJSON(w, http.StatusCreated, subscriptionCreatedResponse{
		SubscriptionID: sub.ID, StatusToken: res.Token, Gateway: sub.Gateway, Amount: sub.Amount,
		Currency: sub.Currency, Interval: sub.Interval, IntervalCount: sub.IntervalCount,
		Checkout: json.RawMessage(sub.Checkout),
	})
}

type subscriptionResponse struct {
	SubscriptionID    string  `json:"subscriptionId"`
	Status            string  `json:"status"`
	Gateway           string  `json:"gateway"`
	SKU               string  `json:"sku"`
	Name              string  `json:"name"`
	Quantity          int64   `json:"quantity"`
	Amount            int64   `json:"amount"`
	Currency          string  `json:"currency"`
	Interval          string  `json:"interval"`
	IntervalCount     int64   `json:"intervalCount"`
	TrialEnd          *string `json:"trialEnd"`
	CurrentPeriodEnd  *string `json:"currentPeriodEnd"`
	CancelAtPeriodEnd bool    `json:"cancelAtPeriodEnd"`
	Entitled          bool    `json:"entitled"`
	FailureReason     *string `json:"failureReason"`
	UpdatedAt         string  `json:"updatedAt"`
}

func timeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339)
	return &v
}

// subscriptionView is the contract's view of a subscription.
func subscriptionView(sub *subscription.Subscription) subscriptionResponse {
	resp := subscriptionResponse{
		SubscriptionID: sub.ID, Status: string(sub.Status), Gateway: sub.Gateway, SKU: sub.SKU, Name: sub.Name,
		Quantity: sub.Quantity, Amount: sub.Amount, Currency: sub.Currency, Interval: sub.Interval,
		IntervalCount: sub.IntervalCount, TrialEnd: timeOrNull(sub.TrialEnd()),
		CurrentPeriodEnd: timeOrNull(sub.CurrentPeriodEnd()), CancelAtPeriodEnd: sub.CancelAtPeriodEnd(),
		Entitled: sub.Entitled(), UpdatedAt: sub.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if reason := sub.FailureReason(); reason != "" {
		resp.FailureReason = &reason
	}
	return resp
}

// authorizedSubscription reads the subscription named in the path for the
// holder of its status token. An unknown id, a malformed id and a wrong
// token take one path and give one answer.
func (s *server) authorizedSubscription(w http.ResponseWriter, r *http.Request) (*subscription.Subscription, bool) {
	id := r.PathValue("id")
	token := bearerToken(r.Header.Get("Authorization"))
	var sub *subscription.Subscription
	if subscription.ValidID(id) && s.shop.Subs != nil {
		var err error
		sub, err = s.shop.Subs.GetSubscription(r.Context(), id)
		if err != nil && !errors.Is(err, order.ErrNotFound) {
			s.fail(w, r, err)
			return nil, false
		}
	}
	if !subscription.TokenMatches(sub, token) {
		s.fail(w, r, errSubscriptionNotFound)
		return nil, false
	}
	return sub, true
}

// subscriptionStatus answers GET /api/subscriptions/{id}.
func (s *server) subscriptionStatus(w http.ResponseWriter, r *http.Request) {
	if sub, ok := s.authorizedSubscription(w, r); ok {
		s.writeJSON(w, http.StatusOK, subscriptionView(sub))
	}
}

// cancelSubscription answers POST /api/subscriptions/{id}/cancel: the
// gateway is asked to cancel at the end of the period; the stored state
// changes when it confirms.
func (s *server) cancelSubscription(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.authorizedSubscription(w, r)
	if !ok {
		return
	}
	next, err := s.shop.CancelSubscription(r.Context(), shop.CancelRequest{ID: sub.ID, Source: "customer"})
	if err != nil {
		var gwErr *shop.GatewayError
		if errors.As(err, &gwErr) {
			s.log(r, slog.LevelWarn, "gateway error", "subscription_id", sub.ID, "gateway", sub.Gateway, "err", gwErr.Message)
		}
		s.fail(w, r, err)
		return
	}
	s.log(r, slog.LevelInfo, "subscription cancel asked", "subscription_id", sub.ID, "status", next.Status)
	s.writeJSON(w, http.StatusAccepted, struct {
		SubscriptionID    string `json:"subscriptionId"`
		CancelAtPeriodEnd bool   `json:"cancelAtPeriodEnd"`
	}{next.ID, next.CancelAtPeriodEnd() || next.Status.Final()})
}

// billingPortal answers POST /api/subscriptions/{id}/portal.
func (s *server) billingPortal(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.authorizedSubscription(w, r)
	if !ok {
		return
	}
	url, err := s.shop.PortalURL(r.Context(), sub.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		URL string `json:"url"`
	}{url})
}
