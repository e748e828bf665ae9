package shop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// CheckoutRequest is what a customer may ask for: a gateway, products and
// quantities, an email. No field of it is a price (invariant 1).
type CheckoutRequest struct {
	Gateway string
	Lines   []catalog.Line
	Email   string
	// IdempotencyKey, when set, makes a retried request answer the same
	// order and token.
	IdempotencyKey string
	// Client is who the rate limit counts the checkout against (an IP, or
	// an IPv6 /64), as the host saw it.
	Client string
}

// CheckoutResult is the order a checkout made (or made before, for a
// replay), with its checkout recorded, and its status token.
type CheckoutResult struct {
	// Order is what a one-off cart made; Subscription what a subscription
	// cart made (one of the two is set).
	Order        *order.Order
	Subscription *subscription.Subscription
	Token        string
	// Replayed: an earlier request with the same Idempotency-Key made it.
	Replayed bool
	// Created: this call asked the gateway for the checkout.
	Created bool
}

// GatewayError is a checkout the gateway could not make. The order is kept,
// with the error (emails taken out); a retry asks the gateway again.
type GatewayError struct {
	OrderID, Gateway string
	// Message is what the gateway said, with email addresses removed.
	Message string
	// NotRecorded, when set, is why the error could not be kept on the order.
	NotRecorded error
}

func (e *GatewayError) Error() string { return "gateway error: " + e.Message }

// Is makes a GatewayError the contract's gateway_error.
func (e *GatewayError) Is(target error) bool {
	t, ok := target.(*order.Error)
	return ok && t.Code == order.CodeGatewayError
}

// ErrGateway is what errors.Is matches a *GatewayError with.
var ErrGateway = &order.Error{Code: order.CodeGatewayError, Message: "The payment gateway could not start the checkout; the order is kept, try again."}

// inProgressFor is how long a claimed Idempotency-Key whose checkout is not
// yet made is taken to be in flight in another request.
const inProgressFor = 30 * time.Second

// Checkout prices the cart from the catalog, stores the order, asks the
// gateway for its checkout and records it. With an Idempotency-Key, the
// same key and cart answer the same order and token.
func (s *Service) Checkout(ctx context.Context, req CheckoutRequest) (CheckoutResult, error) {
	gw, ok := s.Gateways[req.Gateway]
	if !ok {
		return CheckoutResult{}, order.Errorf(order.CodeUnknownGateway, "Gateway %q is not available; use one of: %s.", order.Clip(req.Gateway, 32), strings.Join(s.gatewayNames(), ", "))
	}
	if s.Catalog == nil {
		return CheckoutResult{}, errors.New("shop: checkout without a catalog")
	}
	if plan, ok, err := s.Catalog.Subscription(req.Lines); err != nil {
		return CheckoutResult{}, err
	} else if ok {
		return s.checkoutSubscription(ctx, req, gw, plan)
	}
	items, total, currency, err := s.Catalog.Price(req.Lines)
	if err != nil {
		return CheckoutResult{}, err
	}
	now := s.Now()
	o := &order.Order{
		ID: s.NewID(), Gateway: req.Gateway, Status: order.Pending, Items: items,
		Amount: total, Currency: currency, Email: req.Email, CreatedAt: now, UpdatedAt: now,
	}
	token, hash := s.NewToken()
	o.TokenHash = hash
	if req.IdempotencyKey != "" {
		replay, id, claimedToken, err := claimKey(ctx, s, req.IdempotencyKey, o.ID, requestHash(o), token, now, s.claimedOrder)
		if err != nil {
			return CheckoutResult{}, err
		}
		if claimedToken != token {
			o.TokenHash = order.HashToken(claimedToken)
		}
		o.ID, token = id, claimedToken
		if replay != nil {
			// A replay of a checkout that was made answers it again and is
			// not counted against the rate limit. One whose first attempt
			// ended in a 502 asks the gateway again for the same order,
			// and that counts: a key must not buy unlimited gateway calls.
			if replay.Checkout == "" {
				if err := s.takeRate(ctx, req.Client, now); err != nil {
					return CheckoutResult{}, err
				}
			}
			res, err := s.finish(ctx, gw, replay, token)
			res.Replayed = true
			return res, err
		}
	}
	if err := s.takeRate(ctx, req.Client, now); err != nil {
		return CheckoutResult{}, err
	}
	// Invariant 2: the order is stored before the gateway hears of it.
	if err := s.Store.CreateOrder(ctx, o); err != nil {
		return CheckoutResult{}, err
	}
	return s.finish(ctx, gw, o, token)
}

// claimed is what claimKey reads of the order or subscription an earlier
// request with the same key made.
type claimed struct {
	checkout, gatewayError string
	createdAt              time.Time
}

// claimKey ties an Idempotency-Key to the id of what the request makes (an
// order, a subscription) and, sealed, to its status token, in one write.
// It returns what an earlier request with the same key and body made and
// that request's token, to answer again; or nothing, and the id and token
// to make it with (those an earlier request claimed but never stored, if
// one did); or an error for a key reused with another body or still being
// served. get reads what an id names.
func claimKey[T any](ctx context.Context, s *Service, key, id, reqHash, token string, now time.Time,
	get func(ctx context.Context, id string) (*T, claimed, error)) (prev *T, newID, newToken string, err error) {
	if len(key) < 16 || len(key) > 255 || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return nil, "", "", order.Errorf(order.CodeInvalidIdempotency, "Idempotency-Key must be 16 to 255 visible ASCII characters, such as a UUID.")
	}
	sealed, err := sealToken(key, id, token)
	if err != nil {
		return nil, "", "", err
	}
	rec := order.IdempotencyRecord{
		KeyHash: sha256Hex([]byte(key)), RequestHash: reqHash, OrderID: id, SealedToken: sealed,
		CreatedAt: now, ExpiresAt: now.Add(order.IdempotencyRetention),
	}
	old, err := s.Store.ClaimIdempotencyKey(ctx, rec)
	if err == nil {
		return nil, id, token, nil
	}
	if !errors.Is(err, order.ErrIdempotencyKeyExists) {
		return nil, "", "", err
	}
	if old.RequestHash != rec.RequestHash {
		return nil, "", "", order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key was used for a different checkout; use a new key for a new cart.")
	}
	inProgress := order.Errorf(order.CodeRequestInProgress, "A checkout with this Idempotency-Key is still being made; retry in a moment.")
	// The key hashes the same, so it is the same key: its seal opens unless
	// an earlier release wrote the record (it sealed nothing).
	oldToken, opened := openToken(key, old.OrderID, old.SealedToken)
	prev, c, err := get(ctx, old.OrderID)
	if errors.Is(err, order.ErrNotFound) {
		// Also the answer, for a while, to a retry of a request the rate
		// limit refused after it claimed the key: the two look the same.
		if now.Sub(old.CreatedAt) < inProgressFor {
			return nil, "", "", inProgress
		}
		// The first request died between claiming the key and storing what
		// it made: nothing was sent to a gateway, so make it now, under the
		// id and token the key already holds.
		if opened {
			token = oldToken
		}
		return nil, old.OrderID, token, nil
	}
	if err != nil {
		return nil, "", "", err
	}
	if c.checkout == "" && c.gatewayError == "" && now.Sub(c.createdAt) < inProgressFor {
		return nil, "", "", inProgress
	}
	if !opened {
		return nil, "", "", order.Errorf(order.CodeIdempotencyReused, "This Idempotency-Key cannot be answered again; use a new key.")
	}
	return prev, old.OrderID, oldToken, nil
}

// claimedOrder reads an order for claimKey.
func (s *Service) claimedOrder(ctx context.Context, id string) (*order.Order, claimed, error) {
	o, err := s.Store.GetOrder(ctx, id)
	if err != nil {
		return nil, claimed{}, err
	}
	return o, claimed{checkout: o.Checkout, gatewayError: o.GatewayError, createdAt: o.CreatedAt}, nil
}

// finish asks the gateway for the order's checkout, unless it has one
// already, and records it.
func (s *Service) finish(ctx context.Context, gw Gateway, o *order.Order, token string) (CheckoutResult, error) {
	if o.Checkout != "" {
		return CheckoutResult{Order: o, Token: token}, nil
	}
	c, err := gw.CreateCheckout(ctx, o)
	if err != nil {
		return CheckoutResult{}, s.recordGatewayError(ctx, o, err)
	}
	if o, err = s.attach(ctx, o, c); err != nil {
		return CheckoutResult{}, err
	}
	return CheckoutResult{Order: o, Token: token, Created: true}, nil
}

// attach records the gateway's checkout on the order (and indexes its
// reference) with a conditional write, rereading if a webhook got there
// first.
func (s *Service) attach(ctx context.Context, o *order.Order, c order.Checkout) (*order.Order, error) {
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

// recordGatewayError keeps the failure on the order, best effort: the
// error goes back whether or not this write lands. What a gateway says can
// quote the request (Stripe's messages quote the customer_email they
// refuse), so email addresses are taken out before it is stored or logged.
func (s *Service) recordGatewayError(ctx context.Context, o *order.Order, gwErr error) error {
	e := &GatewayError{OrderID: o.ID, Gateway: o.Gateway, Message: redactEmails(gwErr.Error(), o.Email)}
	next := o.Clone()
	next.GatewayError = order.Clip(e.Message, 500)
	next.Version, next.UpdatedAt = o.Version+1, s.Now()
	e.NotRecorded = s.Store.Move(ctx, order.Move{Next: next, From: o.Status, FromVersion: o.Version})
	return e
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

func (s *Service) gatewayNames() []string {
	names := make([]string, 0, len(s.Gateways))
	for n := range s.Gateways {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
