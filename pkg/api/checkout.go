package api

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	token, hash := order.NewToken()
	o.TokenHash = hash
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		var replay *order.Order
		replay, token, err = s.claimKey(r.Context(), key, o, token, now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if replay != nil {
			// A replay of a checkout that was made answers it again and is
			// not counted against the rate limit. One whose first attempt
			// ended in a 502 asks the gateway again for the same order,
			// and that counts: a key must not buy unlimited gateway calls.
			if replay.Checkout == "" {
				if err := s.takeRate(r, now); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			s.log(r, slog.LevelInfo, "checkout replayed", "order_id", replay.ID)
			s.finishCheckout(w, r, gw, replay, token, http.StatusCreated)
			return
		}
	}
	if err := s.takeRate(r, now); err != nil {
		s.fail(w, r, err)
		return
	}
	// Invariant 2: the order is stored before the gateway hears of it.
	if err := s.Store.CreateOrder(r.Context(), o); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log(r, slog.LevelInfo, "order created", "order_id", o.ID, "gateway", o.Gateway, "amount", o.Amount, "currency", o.Currency)
	s.finishCheckout(w, r, gw, o, token, http.StatusCreated)
}

// claimKey ties an Idempotency-Key to o's id and, sealed, to its status
// token, in one write. It returns the order an earlier request with the
// same key and body made and that request's token, to answer again; or no
// order and the token to make o with (o's id and token are then those an
// earlier request claimed but never stored, if one did); or an error for a
// key reused with another body or still being served.
func (s *server) claimKey(ctx context.Context, key string, o *order.Order, token string, now time.Time) (*order.Order, string, error) {
	if len(key) < 16 || len(key) > 255 || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return nil, "", order.Errorf(order.CodeInvalidIdempotency, "Idempotency-Key must be 16 to 255 visible ASCII characters, such as a UUID.")
	}
	sealed, err := sealToken(key, o.ID, token)
	if err != nil {
		return nil, "", err
	}
	rec := order.IdempotencyRecord{
		KeyHash: sha256Hex([]byte(key)), RequestHash: requestHash(o), OrderID: o.ID, SealedToken: sealed,
		CreatedAt: now, ExpiresAt: now.Add(order.IdempotencyRetention),
	}
	old, err := s.Store.ClaimIdempotencyKey(ctx, rec)
	if err == nil {
		return nil, token, nil
	}
	if !errors.Is(err, order.ErrIdempotencyKeyExists) {
		return nil, "", err
	}
	if old.RequestHash != rec.RequestHash {
		return nil, "", order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key was used for a different checkout; use a new key for a new cart.")
	}
	// The key hashes the same, so it is the same key: its seal opens unless
	// an earlier release wrote the record (it sealed nothing).
	oldToken, opened := openToken(key, old.OrderID, old.SealedToken)
	prev, err := s.Store.GetOrder(ctx, old.OrderID)
	if errors.Is(err, order.ErrNotFound) {
		// Also the answer, for a while, to a retry of a request the rate
		// limit refused after it claimed the key: the two look the same.
		if now.Sub(old.CreatedAt) < inProgressFor {
			return nil, "", order.Errorf(order.CodeRequestInProgress, "A checkout with this Idempotency-Key is still being made; retry in a moment.")
		}
		// The first request died between claiming the key and storing its
		// order: nothing was sent to a gateway, so make the order now,
		// under the id and token the key already holds.
		o.ID = old.OrderID
		if opened {
			token, o.TokenHash = oldToken, order.HashToken(oldToken)
		}
		return nil, token, nil
	}
	if err != nil {
		return nil, "", err
	}
	if prev.Checkout == "" && prev.GatewayError == "" && now.Sub(prev.CreatedAt) < inProgressFor {
		return nil, "", order.Errorf(order.CodeRequestInProgress, "A checkout with this Idempotency-Key is still being made; retry in a moment.")
	}
	if !opened {
		return nil, "", order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key cannot be answered again; use a new key.")
	}
	return prev, oldToken, nil
}

// replayInfo names what the key sealing a status token for replays is for.
const replayInfo = "jampay status token for Idempotency-Key replays\x00"

// sealToken seals a status token for replays of an Idempotency-Key:
// AES-256-GCM under a key derived with HKDF-SHA256 from the Idempotency-Key
// and the order id, the order id as associated data. Only a request
// holding the Idempotency-Key opens it: a copy of the table does not, and
// the token itself stays random, whatever the key.
func sealToken(idempotencyKey, orderID, token string) ([]byte, error) {
	aead, err := replayAEAD(idempotencyKey, orderID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	_, _ = rand.Read(nonce) // never fails since Go 1.24
	return aead.Seal(nonce, nonce, []byte(token), []byte(orderID)), nil
}

// openToken opens what sealToken sealed; false for any other key, order id
// or bytes.
func openToken(idempotencyKey, orderID string, sealed []byte) (string, bool) {
	aead, err := replayAEAD(idempotencyKey, orderID)
	if err != nil || len(sealed) < aead.NonceSize() {
		return "", false
	}
	n := aead.NonceSize()
	token, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(orderID))
	return string(token), err == nil
}

func replayAEAD(idempotencyKey, orderID string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, []byte(idempotencyKey), nil, replayInfo+orderID, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
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
// goes out whether or not this write lands. What a gateway says can quote
// the request (Stripe's messages quote the customer_email they refuse), so
// email addresses are taken out before the message is logged or stored.
func (s *server) recordGatewayError(r *http.Request, o *order.Order, gwErr error) {
	msg := redactEmails(gwErr.Error(), o.Email)
	s.log(r, slog.LevelWarn, "gateway error", "order_id", o.ID, "gateway", o.Gateway, "err", msg)
	next := o.Clone()
	next.GatewayError = truncate(msg, 500)
	next.Version, next.UpdatedAt = o.Version+1, s.Now()
	if err := s.Store.Move(r.Context(), order.Move{Next: next, From: o.Status, FromVersion: o.Version}); err != nil {
		s.log(r, slog.LevelWarn, "could not record the gateway error", "order_id", o.ID, "err", err)
	}
}

// emailLike is anything around an '@' up to a space, quote, bracket or
// separator: broader than any address, as a redaction should be. It is
// compiled on the first gateway error, not at every cold start.
var emailLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[^\s"'<>()\[\]{},;:\\]*@[^\s"'<>()\[\]{},;:\\]+`)
})

// redactEmails replaces the customer's email, and anything shaped like an
// address, in a gateway's message.
func redactEmails(msg, email string) string {
	if email != "" {
		msg = strings.ReplaceAll(msg, email, "[email]")
	}
	return emailLike().ReplaceAllString(msg, "[email]")
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
