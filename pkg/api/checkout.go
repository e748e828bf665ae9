package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"strconv"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// checkoutRequest is the whole of what a browser may say: which gateway,
// which products, how many, and an email. No field of it is a price.
type checkoutRequest struct {
	Gateway string `json:"gateway"`
	Items   []struct {
		SKU string `json:"sku"`
		// Quantity is read raw: a JSON integer only, not "2", not 2.0.
		Quantity json.RawMessage `json:"quantity"`
	} `json:"items"`
	Email string `json:"email"`
}

type checkoutResponse struct {
	OrderID     string          `json:"orderId"`
	StatusToken string          `json:"statusToken"`
	Gateway     string          `json:"gateway"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Checkout    json.RawMessage `json:"checkout"`
}

func (s *server) checkout(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.fail(w, r, order.Errorf(order.CodeUnsupportedMedia, "Send the checkout as Content-Type: application/json."))
		return
	}
	body, err := readBody(w, r, maxCheckoutBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, lines, err := decodeCheckout(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.shop.Checkout(r.Context(), shop.CheckoutRequest{
		Gateway: req.Gateway, Lines: lines, Email: req.Email,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Client: clientKey(r.RemoteAddr),
	})
	var gwErr *shop.GatewayError
	if errors.As(err, &gwErr) {
		s.log(r, slog.LevelWarn, "gateway error", "order_id", gwErr.OrderID, "gateway", gwErr.Gateway, "err", gwErr.Message)
		if gwErr.NotRecorded != nil {
			s.log(r, slog.LevelWarn, "could not record the gateway error", "order_id", gwErr.OrderID, "err", gwErr.NotRecorded)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sub := res.Subscription; sub != nil {
		s.subscriptionCreated(w, r, res)
		return
	}
	o := res.Order
	switch {
	case res.Replayed:
		s.log(r, slog.LevelInfo, "checkout replayed", "order_id", o.ID)
	case res.Created:
		s.log(r, slog.LevelInfo, "order created", "order_id", o.ID, "gateway", o.Gateway, "amount", o.Amount, "currency", o.Currency)
	}
	if res.Created {
		s.log(r, slog.LevelInfo, "checkout created", "order_id", o.ID, "gateway", o.Gateway, "session", o.SessionRef)
	}
	s.writeJSON(w, http.StatusCreated, checkoutResponse{
		OrderID: o.ID, StatusToken: res.Token, Gateway: o.Gateway, Amount: o.Amount,
		Currency: o.Currency, Checkout: json.RawMessage(o.Checkout),
	})
}

func decodeCheckout(body []byte) (checkoutRequest, []catalog.Line, error) {
	var req checkoutRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, nil, order.Errorf(order.CodeInvalidJSON, "The body is not a checkout request: %s.", jsonProblem(err))
	}
	// Only JSON whitespace may follow the value. (dec.More is no test of
	// that: it reports false before a stray ']' or '}'.)
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return req, nil, order.Errorf(order.CodeInvalidJSON, "The body holds more than one JSON value.")
	}
	lines := make([]catalog.Line, 0, len(req.Items))
	for _, it := range req.Items {
		q, err := strconv.ParseInt(string(it.Quantity), 10, 64)
		if err != nil {
			return req, nil, order.Errorf(order.CodeInvalidQuantity, "The quantity of %q must be a whole number from 1 to %d.", order.Clip(it.SKU, 64), catalog.MaxQuantity)
		}
		lines = append(lines, catalog.Line{SKU: it.SKU, Quantity: q})
	}
	if req.Email != "" {
		a, err := mail.ParseAddress(req.Email)
		if err != nil || a.Address != req.Email || len(req.Email) > 254 {
			return req, nil, order.Errorf(order.CodeInvalidEmail, "The email address is not valid.")
		}
	}
	return req, lines, nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	default:
		return "invalid JSON"
	}
}

// readBody reads at most limit bytes: more is 413, and nothing is stored.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	// io.ReadAll, but starting at the declared length: from 512 bytes it
	// would copy a 3 KB webhook five times. The length is only a hint; the
	// limit holds whatever the client declared.
	size := int64(512)
	if r.ContentLength > 0 && r.ContentLength <= limit {
		size = r.ContentLength + 1 // room to read EOF without growing
	}
	body, src := make([]byte, 0, size), http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := src.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		var tooLarge *http.MaxBytesError
		switch {
		case err == io.EOF:
			return body, nil
		case errors.As(err, &tooLarge):
			return nil, order.Errorf(order.CodeBodyTooLarge, "The body is larger than %d KiB.", limit>>10)
		case err != nil:
			return nil, order.Errorf(order.CodeInvalidJSON, "The body could not be read.")
		}
	}
}
