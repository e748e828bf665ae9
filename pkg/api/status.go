package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

type statusResponse struct {
	OrderID       string           `json:"orderId"`
	Status        order.Status     `json:"status"`
	Amount        int64            `json:"amount"`
	Currency      string           `json:"currency"`
	Items         []order.LineItem `json:"items"`
	FailureReason *string          `json:"failureReason"`
	UpdatedAt     string           `json:"updatedAt"`
}

// status answers GET /api/orders/{orderId} for the holder of its status
// token. An unknown id, a malformed id and a wrong token take one path and
// give one answer, so the endpoint tells nothing about which orders exist.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("orderId")
	token := bearerToken(r.Header.Get("Authorization"))
	var o *order.Order
	if order.ValidID(id) {
		var err error
		o, err = s.Store.GetOrder(r.Context(), id)
		if err != nil && !errors.Is(err, order.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
	}
	if !order.TokenMatches(o, token) {
		s.fail(w, r, order.ErrNotFound)
		return
	}
	resp := statusResponse{
		OrderID: o.ID, Status: o.Status, Amount: o.Amount, Currency: o.Currency,
		Items: o.Items, UpdatedAt: o.UpdatedAt.UTC().Format(time.RFC3339),
	}
	if o.FailureReason != "" && o.Status != order.Paid {
		resp.FailureReason = &o.FailureReason
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive, RFC 9110), or "".
func bearerToken(h string) string {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
