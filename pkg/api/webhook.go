package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// received is the answer to every accepted webhook, marshaled once.
var received = json.RawMessage(`{"received":true}`)

// webhook handles POST /api/webhooks/{gateway}: verify the signature on the
// raw bytes, then apply the event with a conditional write that records it.
// 200 for a processed, duplicate or ignored event; 400 for a bad signature
// or payload (nothing written); 503 when the store fails, so the gateway
// retries.
func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("gateway")
	parser, ok := s.Webhooks[name]
	if !ok {
		s.fail(w, r, order.Errorf(order.CodeNotFound, "No webhook for gateway %q here.", order.Clip(name, 32)))
		return
	}
	body, err := readBody(w, r, maxWebhookBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := parser.ParseWebhook(r.Context(), r.Header, body)
	if err != nil {
		s.log(r, slog.LevelWarn, "webhook rejected", "gateway", name, "code", order.ErrorCode(err))
		s.fail(w, r, err)
		return
	}
	e.Gateway = name
	sum := sha256.Sum256(body)
	e.PayloadHash = hex.EncodeToString(sum[:])
	applied, err := s.shop.Apply(r.Context(), e)
	outcome, o := applied.Outcome, applied.Order
	attrs := []any{"gateway", name, "event_id", e.ID, "event_type", e.Type}
	if o != nil {
		attrs = append(attrs, "order_id", o.ID, "status", o.Status)
	}
	if sub := applied.Subscription; sub != nil {
		attrs = append(attrs, "subscription_id", sub.ID, "status", sub.Status)
	}
	if err != nil {
		s.log(r, slog.LevelError, "webhook not applied; the gateway will retry", append(attrs, "err", err)...)
		s.fail(w, r, err)
		return
	}
	attrs = append(attrs, "outcome", outcome)
	switch {
	case e.Ignore != "":
		s.log(r, slog.LevelWarn, "webhook ignored", append(attrs, "reason", e.Ignore)...)
	case (outcome == shop.NoOrder || outcome == shop.Parked || outcome == shop.Foreign) &&
		(e.Kind == order.KindPaid || e.Kind == order.KindProcessing):
		// Money the gateway took that moves no order of ours: the owner
		// must hear of it (a payment without order).
		s.log(r, slog.LevelError, "payment without order", append(attrs, "payment", e.PaymentRef, "checkout", e.SessionRef, "amount", e.Amount, "currency", e.Currency)...)
	case applied.Subscription != nil && e.Kind == order.KindRenewalPaid && slices.Contains(applied.Subscription.Evidence.Mismatched, e.Sub.Renewal) && outcome != shop.Duplicate:
		s.log(r, slog.LevelError, "renewal paid in another amount than the subscription's", append(attrs, "renewal", e.Sub.Renewal, "amount", e.Amount, "currency", e.Currency)...)
	case outcome == shop.Foreign:
		s.log(r, slog.LevelWarn, "webhook names another checkout than the order's; not applied", append(attrs, "checkout", e.SessionRef)...)
	case o != nil && outcome == shop.Moved && o.PaidLate() && (e.Kind == order.KindPaid || e.Kind == order.KindProcessing):
		s.log(r, slog.LevelWarn, "late payment: money arrived for an order that had expired", append(attrs, "payment", e.PaymentRef)...)
	case o != nil && e.Kind == order.KindPaid && slices.Contains(o.Evidence.ExtraPayments, e.PaymentRef) && (outcome == shop.Updated || outcome == shop.Moved):
		s.log(r, slog.LevelError, "second payment on a paid order: the customer was charged twice", append(attrs, "payment", e.PaymentRef, "paid_by", o.Evidence.PaidRef)...)
	default:
		s.log(r, slog.LevelInfo, "webhook", attrs...)
	}
	s.writeJSON(w, http.StatusOK, received)
}
