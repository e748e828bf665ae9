package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// statusOf is the one table from an error code to an HTTP status.
var statusOf = map[order.Code]int{
	order.CodeInvalidJSON:          http.StatusBadRequest,
	order.CodeUnknownSKU:           http.StatusBadRequest,
	order.CodeInvalidQuantity:      http.StatusBadRequest,
	order.CodeEmptyCart:            http.StatusBadRequest,
	order.CodeMixedCurrency:        http.StatusBadRequest,
	order.CodeMixedCart:            http.StatusBadRequest,
	order.CodeAmountTooLarge:       http.StatusBadRequest,
	order.CodeInvalidEmail:         http.StatusBadRequest,
	order.CodeUnknownGateway:       http.StatusBadRequest,
	order.CodeInvalidIdempotency:   http.StatusBadRequest,
	order.CodeInvalidSignature:     http.StatusBadRequest,
	order.CodeInvalidPayload:       http.StatusBadRequest,
	order.CodeIdempotencyReused:    http.StatusConflict,
	order.CodeRequestInProgress:    http.StatusConflict,
	order.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	order.CodeUnsupportedMedia:     http.StatusUnsupportedMediaType,
	order.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	order.CodeNotFound:             http.StatusNotFound,
	order.CodeOrderNotFound:        http.StatusNotFound,
	order.CodeSubscriptionNotFound: http.StatusNotFound,
	order.CodeNotCancelable:        http.StatusConflict,
	order.CodeOriginNotAllowed:     http.StatusForbidden,
	order.CodeRateLimited:          http.StatusTooManyRequests,
	order.CodeNotSupported:         http.StatusBadRequest,
	order.CodeGatewayError:         http.StatusBadGateway,
	order.CodeStoreUnavailable:     http.StatusServiceUnavailable,
}

type errorBody struct {
	Error struct {
		Code    order.Code `json:"code"`
		Message string     `json:"message"`
	} `json:"error"`
}

// fail answers err as the contract's JSON error. An *order.Error with a
// known code is shown as it is; a store failure is 503 so the caller (or the
// gateway) retries; anything else is logged for the operator and shown only
// as an internal error.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var body errorBody
	var appErr *order.Error
	var storeErr *order.StoreError
	var limited *shop.RateLimited
	var gwErr *shop.GatewayError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &limited):
		status = statusOf[order.CodeRateLimited]
		w.Header().Set("Retry-After", retryAfterSeconds(limited.RetryAfter))
		body.Error.Code, body.Error.Message = order.CodeRateLimited, "Too many checkouts from your network; try again in a few minutes."
		s.log(r, slog.LevelWarn, "rate limited", "client", clientKey(r.RemoteAddr))
	case errors.As(err, &storeErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		status = http.StatusServiceUnavailable
		body.Error.Code, body.Error.Message = order.CodeStoreUnavailable, "Orders cannot be stored right now; try again shortly."
		s.log(r, slog.LevelError, "store unavailable", "err", err)
	case errors.As(err, &gwErr):
		status = statusOf[order.CodeGatewayError]
		body.Error.Code, body.Error.Message = shop.ErrGateway.Code, shop.ErrGateway.Message
	case errors.As(err, &appErr) && statusOf[appErr.Code] != 0:
		status = statusOf[appErr.Code]
		body.Error.Code, body.Error.Message = appErr.Code, appErr.Message
	default:
		body.Error.Code, body.Error.Message = order.CodeInternal, "Internal error."
		s.log(r, slog.LevelError, "unexpected error", "err", err)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST, OPTIONS")
	}
	s.writeJSON(w, status, body)
}

type ctxKey int

const requestIDKey ctxKey = 0

// log writes one line with the request's id first. (A logger made With
// the id per request would clone the handler on every request.)
func (s *server) log(r *http.Request, level slog.Level, msg string, args ...any) {
	id, _ := r.Context().Value(requestIDKey).(string)
	s.Logger.Log(r.Context(), level, msg, append([]any{"request_id", id}, args...)...)
}
