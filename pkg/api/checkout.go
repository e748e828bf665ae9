package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
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

// inProgressFor is how long a claimed Idempotency-Key whose checkout is not
// yet made is taken to be in flight in another request.
const inProgressFor = 30 * time.Second

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
	gw, ok := s.Gateways[req.Gateway]
	if !ok {
		s.fail(w, r, order.Errorf(order.CodeUnknownGateway, "Gateway %q is not available; use one of: %s.", truncate(req.Gateway, 32), strings.Join(s.gatewayNames(), ", ")))
		return
	}
	if s.Catalog == nil {
		s.fail(w, r, errors.New("checkout handler has no catalog"))
		return
	}
	items, total, currency, err := s.Catalog.Price(lines)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.Now()
	o := &order.Order{
		ID: order.NewID(), Gateway: req.Gateway, Status: order.Pending, Items: items,
		Amount: total, Currency: currency, Email: req.Email, CreatedAt: now, UpdatedAt: now,
	}
	var token string
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		replay, err := s.claimKey(r.Context(), key, o, now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		token = idempotentToken(key, o.ID)
		if replay != nil {
			token = idempotentToken(key, replay.ID)
			s.log(r, slog.LevelInfo, "checkout replayed", "order_id", replay.ID)
			s.finishCheckout(w, r, gw, replay, token, http.StatusCreated)
			return
		}
	} else {
		token, _ = order.NewToken()
	}
	o.TokenHash = order.HashToken(token)
	// Invariant 2: the order is stored before the gateway hears of it.
	if err := s.Store.CreateOrder(r.Context(), o); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log(r, slog.LevelInfo, "order created", "order_id", o.ID, "gateway", o.Gateway, "amount", o.Amount, "currency", o.Currency)
	s.finishCheckout(w, r, gw, o, token, http.StatusCreated)
}

// claimKey ties an Idempotency-Key to o's id. It returns the order an
// earlier request with the same key and body made (to answer again), or an
// error for a key reused with another body or still being served.
func (s *server) claimKey(ctx context.Context, key string, o *order.Order, now time.Time) (*order.Order, error) {
	if len(key) < 16 || len(key) > 255 || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return nil, order.Errorf(order.CodeInvalidIdempotency, "Idempotency-Key must be 16 to 255 visible ASCII characters, such as a UUID.")
	}
	rec := order.IdempotencyRecord{
		KeyHash: sha256Hex([]byte(key)), RequestHash: requestHash(o), OrderID: o.ID,
		CreatedAt: now, ExpiresAt: now.Add(order.IdempotencyRetention),
	}
	old, err := s.Store.ClaimIdempotencyKey(ctx, rec)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, order.ErrIdempotencyKeyExists) {
		return nil, err
	}
	if old.RequestHash != rec.RequestHash {
		return nil, order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key was used for a different checkout; use a new key for a new cart.")
	}
	prev, err := s.Store.GetOrder(ctx, old.OrderID)
	if errors.Is(err, order.ErrNotFound) {
		if now.Sub(old.CreatedAt) < inProgressFor {
			return nil, order.Errorf(order.CodeRequestInProgress, "A checkout with this Idempotency-Key is still being made; retry in a moment.")
		}
		// The first request died between claiming the key and storing its
		// order: nothing was sent to a gateway, so make the order now,
		// under the id the key already names.
		o.ID = old.OrderID
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if prev.Checkout == "" && prev.GatewayError == "" && now.Sub(prev.CreatedAt) < inProgressFor {
		return nil, order.Errorf(order.CodeRequestInProgress, "A checkout with this Idempotency-Key is still being made; retry in a moment.")
	}
	return prev, nil
}

// finishCheckout asks the gateway for the order's checkout, unless it has
// one already, records it, and answers.
func (s *server) finishCheckout(w http.ResponseWriter, r *http.Request, gw Gateway, o *order.Order, token string, status int) {
	if o.Checkout == "" {
		c, err := gw.CreateCheckout(r.Context(), o)
		if err != nil {
			s.recordGatewayError(r, o, err)
			s.fail(w, r, order.Errorf(order.CodeGatewayError, "The payment gateway could not start the checkout; the order is kept, try again."))
			return
		}
		if o, err = s.attach(r.Context(), o, c); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log(r, slog.LevelInfo, "checkout created", "order_id", o.ID, "gateway", o.Gateway, "session", o.SessionRef)
	}
	s.writeJSON(w, status, checkoutResponse{
		OrderID: o.ID, StatusToken: token, Gateway: o.Gateway, Amount: o.Amount,
		Currency: o.Currency, Checkout: json.RawMessage(o.Checkout),
	})
}

// attach records the gateway's checkout on the order (and indexes its
// reference) with a conditional write, rereading if a webhook got there
// first.
func (s *server) attach(ctx context.Context, o *order.Order, c order.Checkout) (*order.Order, error) {
	for attempt := 0; attempt < 5; attempt++ {
		next := o.Clone()
		next.SessionRef, next.Checkout, next.Deadline, next.GatewayError = c.SessionRef, string(c.Data), c.Deadline, ""
		next.Version, next.UpdatedAt = o.Version+1, s.Now()
		var refs []string
		if c.SessionRef != "" && c.SessionRef != o.SessionRef {
			refs = []string{c.SessionRef}
		}
		err := order.MoveIndexing(ctx, s.Store, order.Move{Next: next, From: o.Status, FromVersion: o.Version, Refs: refs})
		if err == nil {
			return &next, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, err
		}
		if o, err = s.Store.GetOrder(ctx, o.ID); err != nil {
			return nil, err
		}
	}
	return nil, &order.StoreError{Err: fmt.Errorf("order %s kept changing while its checkout was recorded", o.ID)}
}

// recordGatewayError keeps the failure on the order, best effort: the 502
// goes out whether or not this write lands.
func (s *server) recordGatewayError(r *http.Request, o *order.Order, gwErr error) {
	s.log(r, slog.LevelWarn, "gateway error", "order_id", o.ID, "gateway", o.Gateway, "err", gwErr)
	next := o.Clone()
	next.GatewayError = truncate(gwErr.Error(), 500)
	next.Version, next.UpdatedAt = o.Version+1, s.Now()
	if err := s.Store.Move(r.Context(), order.Move{Next: next, From: o.Status, FromVersion: o.Version}); err != nil {
		s.log(r, slog.LevelWarn, "could not record the gateway error", "order_id", o.ID, "err", err)
	}
}

func decodeCheckout(body []byte) (checkoutRequest, []catalog.Line, error) {
	var req checkoutRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, nil, order.Errorf(order.CodeInvalidJSON, "The body is not a checkout request: %s.", jsonProblem(err))
	}
	if dec.More() {
		return req, nil, order.Errorf(order.CodeInvalidJSON, "The body holds more than one JSON value.")
	}
	lines := make([]catalog.Line, 0, len(req.Items))
	for _, it := range req.Items {
		q, err := strconv.ParseInt(string(it.Quantity), 10, 64)
		if err != nil {
			return req, nil, order.Errorf(order.CodeInvalidQuantity, "The quantity of %q must be a whole number from 1 to %d.", truncate(it.SKU, 64), catalog.MaxQuantity)
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

// requestHash identifies a checkout request by what it asks for, after
// pricing and merging, so the same cart sent twice hashes the same.
func requestHash(o *order.Order) string {
	items := append([]order.LineItem(nil), o.Items...)
	sort.Slice(items, func(i, j int) bool { return items[i].SKU < items[j].SKU })
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", o.Gateway, o.Email)
	for _, it := range items {
		fmt.Fprintf(&b, "%s\x00%d\n", it.SKU, it.Quantity)
	}
	return sha256Hex([]byte(b.String()))
}

// idempotentToken derives the status token from the Idempotency-Key, so a
// replay can hand the same token back while only its hash is stored. Who
// holds the key could replay the request and read the token anyway.
func idempotentToken(key, orderID string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("jampay status token\x00" + orderID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *server) gatewayNames() []string {
	names := make([]string, 0, len(s.Gateways))
	for n := range s.Gateways {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
