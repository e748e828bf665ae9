// Package stripeinquiry is what reconcile asks Stripe's API: an order's
// Checkout Session once its deadline has passed (expired first if still
// open), and the events the webhooks may have missed. It reads what Stripe
// answers with stripehook's decoder, so it lives apart from stripegw: the
// checkout function links stripegw and must link no webhook decoder.
package stripeinquiry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	stripe "github.com/stripe/stripe-go/v76"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
	"github.com/jampay/jampay/pkg/stripehook"
)

// gateway is the name events from Stripe carry.
const gateway = "stripe"

// CheckoutExpired is the type of the event Inquire makes for an order past
// its deadline that never got a Checkout Session (creating it failed): no
// one can pay it, and money that still arrives pays it (invariant 11).
const CheckoutExpired = "jampay.checkout_expired"

// Inquirer asks Stripe's API what the webhooks may have missed: an order's
// Checkout Session once its deadline has passed, and the events since a
// cursor. What it hears is wrapped as the event Stripe would have sent and
// decoded by stripehook.Decode, the webhook's own decoder, so one fact reads
// the same whichever way it came.
type Inquirer struct {
	b    stripe.Backend
	key  string
	wait time.Duration
}

var _ shop.Inquirer = (*Inquirer)(nil)

// New returns reconcile's Stripe client, from the checkout's settings
// (key, API base, HTTP client, RetryWait). stripe-go makes each request
// once and call retries it: stripe-go's own retries skip a 429 (unless a
// lock timeout), skip a 5xx on a POST, and sleep without heeding the
// context, which reconcile's Lambda deadline needs.
func New(c stripegw.Config) *Inquirer {
	return &Inquirer{b: c.Backend(0), key: c.SecretKey, wait: cmp.Or(c.RetryWait, 500*time.Millisecond)}
}

// Inquire says what Stripe knows of o's Checkout Session once its deadline
// has passed. A session still open is expired first, so no payment can
// land after this answer; then the session says completed (paid, or
// unpaid while an async method is under way), failed, or expired. At most
// two calls: the session, and its expiry when it is still open.
//
// The event ids are "recon_" + the session + its state: the same state
// read twice is a duplicate, and the webhook of the same fact, arriving
// later under its evt_ id, changes nothing the evidence has not.
func (q *Inquirer) Inquire(ctx context.Context, o order.Order, now time.Time) ([]order.Event, error) {
	if now.Before(o.Deadline) {
		return nil, nil // it can still be paid: nothing to say yet
	}
	if o.SessionRef == "" {
		return []order.Event{neverCheckedOut(o, now)}, nil
	}
	return q.checkout(ctx, o.SessionRef, now)
}

// checkout is what a Checkout Session past its deadline says, expired
// first if it is still open (unless in a dry run): an order's, or a
// subscription's in subscription mode, which stripehook decodes as the
// subscription's.
func (q *Inquirer) checkout(ctx context.Context, id string, now time.Time) ([]order.Event, error) {
	s, err := q.session(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if s.Status == "open" && shop.IsDryRun(ctx) {
		// A dry run changes nothing at the gateway either: say what the
		// run would do, without expiring the session.
		s.Status = "expired"
	} else if s.Status == "open" {
		expired, err := q.session(ctx, id, true)
		switch {
		case err == nil:
			s = expired
		case invalidRequest(err):
			// Stripe refuses to expire a session that is no longer open:
			// it was paid, or expired, between the two calls. Read it
			// again; only a session still open makes the refusal an error.
			again, rerr := q.session(ctx, id, false)
			if rerr != nil {
				return nil, rerr
			}
			if again.Status == "open" {
				return nil, err
			}
			s = again
		default:
			return nil, err
		}
	}
	return s.events(now)
}

// neverCheckedOut is the expiry of an order whose checkout was never made.
func neverCheckedOut(o order.Order, now time.Time) order.Event {
	return order.Event{Gateway: gateway, ID: "recon_" + o.ID + "_expired", Type: CheckoutExpired, Kind: order.KindExpired,
		Source: order.SourceReconcile, OrderID: o.ID, Created: now.UTC()}
}

// checkoutSession is a Checkout Session as Stripe sent it (with its
// PaymentIntent expanded), and what Inquire reads of it to know which event
// it amounts to; stripehook reads the rest.
type checkoutSession struct {
	stripe.APIResource
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	PaymentStatus string          `json:"payment_status"`
	Livemode      bool            `json:"livemode"`
	PaymentIntent json.RawMessage `json:"payment_intent"`
}

// session reads the session, or expires it; either way Stripe answers with
// the session, its PaymentIntent expanded (it holds a decline's reason and
// an async payment's failure) at no extra call.
func (q *Inquirer) session(ctx context.Context, id string, expire bool) (*checkoutSession, error) {
	method, path, op := http.MethodGet, "/v1/checkout/sessions/"+url.PathEscape(id), "retrieve checkout session "+id
	var p stripe.ParamsContainer
	if expire {
		ep := &stripe.CheckoutSessionExpireParams{}
		ep.Context = ctx
		ep.AddExpand("payment_intent")
		method, path, op, p = http.MethodPost, path+"/expire", "expire checkout session "+id, ep
	} else {
		gp := &stripe.CheckoutSessionParams{}
		gp.Context = ctx
		gp.AddExpand("payment_intent")
		p = gp
	}
	var s *checkoutSession
	err := q.call(ctx, op, func() error {
		s = &checkoutSession{}
		return q.b.Call(method, path, q.key, p, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// events is what the session says, as the webhook would have said it.
func (s *checkoutSession) events(now time.Time) ([]order.Event, error) {
	var pi struct {
		ID               string          `json:"id"`
		Status           string          `json:"status"`
		LastPaymentError json.RawMessage `json:"last_payment_error"`
	}
	_ = json.Unmarshal(s.PaymentIntent, &pi) // a bare id, or null: no PaymentIntent to read
	body := s.LastResponse.RawJSON
	switch s.Status {
	case "complete":
		typ, state := "checkout.session.completed", "complete_"+s.PaymentStatus
		if s.PaymentStatus == "unpaid" && (pi.Status == "requires_payment_method" || pi.Status == "canceled") {
			// An async method (a bank debit) that failed after the
			// session completed: checkout.session.async_payment_failed.
			typ, state = "checkout.session.async_payment_failed", "complete_failed"
		}
		e, err := decodeAs("recon_"+s.ID+"_"+state, typ, now.Unix(), s.Livemode, body)
		return []order.Event{e}, err
	case "expired":
		var out []order.Event
		if pi.ID != "" && len(pi.LastPaymentError) > 0 && string(pi.LastPaymentError) != "null" {
			// The last declined attempt, whose webhook may be missing too:
			// the order keeps its reason when it expires (invariant 11).
			e, err := decodeAs("recon_"+pi.ID+"_payment_failed", "payment_intent.payment_failed", now.Unix(), s.Livemode, s.PaymentIntent)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		e, err := decodeAs("recon_"+s.ID+"_expired", "checkout.session.expired", now.Unix(), s.Livemode, body)
		return append(out, e), err
	}
	// Still open (Stripe did not expire it): it can still be paid, and
	// nothing is final to report.
	return nil, nil
}

// envelope is a Stripe event, as a webhook delivers it.
type envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	Type       string `json:"type"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// decodeAs wraps obj, read at the pinned API version, in the event Stripe
// would have sent, and decodes it with the webhook's decoder.
func decodeAs(id, typ string, created int64, live bool, obj []byte) (order.Event, error) {
	env := envelope{ID: id, Object: "event", APIVersion: stripe.APIVersion, Created: created, Livemode: live, Type: typ}
	env.Data.Object = obj
	body, err := json.Marshal(env)
	if err != nil {
		return order.Event{}, fmt.Errorf("stripe: %s %s: %w", typ, id, err)
	}
	e, err := stripehook.Decode(body)
	if err != nil {
		return order.Event{}, fmt.Errorf("stripe: %s %s: %w", typ, id, err)
	}
	e.Gateway, e.Source = gateway, order.SourceReconcile
	return e, nil
}
