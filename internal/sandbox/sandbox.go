// Package sandbox is the local stand-in for Stripe and Razorpay that `jampay
// serve` uses when a gateway has no keys: checkout returns a local hosted
// page whose Pay, Decline and Abandon buttons send the webhook the real
// gateway would send, in its wire format and signed with the gateway's own
// scheme, to jampay's webhook route, through the real verification path.
// "Pay, but lose the webhook" pays without telling jampay, and each gateway
// answers reconcile (shop.Inquirer) and refunds (shop.Refunder) from the
// sandbox's books, so reconcile can be watched recovering the order.
// It is linked only into the jampay CLI, never into a Lambda function.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
)

// Config configures the sandbox.
type Config struct {
	// BaseURL is where jampay serve listens (http://127.0.0.1:8787): the
	// hosted pages live under it and webhooks are sent to it.
	BaseURL string
	// SiteURL is where the shop's success and cancel pages are.
	SiteURL  string
	ShopName string
	// StripeSecret and RazorpaySecret sign the webhooks.
	StripeSecret   string
	RazorpaySecret string
	// RazorpayKeySecret signs the Checkout handler's payment signature.
	RazorpayKeySecret string
	// Expire ends an order or subscription (by jampay's id) whose customer
	// walked away from Razorpay's Checkout: Razorpay sends no event for that, so jampay's reconcile job
	// does it in production, and the sandbox at once.
	Expire func(ctx context.Context, orderID string) error
	Client *http.Client
	// Now is the clock the sandbox's books and events read. Signatures
	// are dated by the wall clock whatever Now says: stripe-go checks
	// their tolerance against it.
	Now func() time.Time
	// TTL is how long a checkout may be paid (CHECKOUT_TTL), as the real
	// gateways are told; zero is the contract's default.
	TTL time.Duration
}

func (c Config) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return razorpaygw.CheckoutLifetime
}

// Sandbox is a running sandbox.
type Sandbox struct {
	cfg      Config
	mu       sync.Mutex
	sessions map[string]*session // by SessionRef
	byOrder  map[string]*session // by order id
	// lost are the webhooks the sandbox made but never delivered, in the
	// order they were lost: what its Missed hands reconcile.
	lost []lostEvent
	seq  int64
	// subs are the subscriptions, by jampay's id; subRefs the gateway's
	// references to them (checkout, subscription) → jampay's id.
	subs    map[string]*subBook
	subRefs map[string]string
	// sending counts webhooks sent after their answer (refunds'), so Wait
	// and tests can tell when they are out.
	sending sync.WaitGroup
}

type session struct {
	Gateway    string
	Ref        string // cs_sandbox_… or order_…
	PaymentRef string // pi_… or pay_…
	Order      order.Order
	Attempts   int
	// Closed is "" while the customer can still pay, then "paid" or
	// "expired": like the gateways' own pages, a closed checkout takes no
	// more payments.
	Closed string
	// Declined is the last attempt's decline message, shown on the page
	// until the customer pays or walks away.
	Declined string
	// LastDecline outlives Declined: Stripe's PaymentIntent keeps its
	// last_payment_error after the session closes, and reconcile reads it.
	LastDecline string
	// Payments are the Razorpay payments made on the order, one per
	// attempt (a Stripe session has its one PaymentIntent, PaymentRef).
	Payments []payment
	// Refunded is the cumulative amount refunded; Refunds the refunds
	// made, by the idempotency key they were asked with.
	Refunded int64
	Refunds  map[string]string
}

// payment is one Razorpay payment in the sandbox's books.
type payment struct {
	ID      string
	Status  string // "captured" or "failed"
	Reason  string // a failure's error_description
	Created time.Time
}

// lostEvent is a webhook the sandbox made and did not deliver.
type lostEvent struct {
	Seq     int64
	Gateway string
	ID      string // Razorpay's event id travels in a header, not the body
	Body    []byte
	At      time.Time
}

// New returns a sandbox.
func New(cfg Config) *Sandbox {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.SiteURL = strings.TrimRight(cfg.SiteURL, "/")
	return &Sandbox{cfg: cfg, sessions: map[string]*session{}, byOrder: map[string]*session{},
		subs: map[string]*subBook{}, subRefs: map[string]string{}}
}

// NewSecret makes a webhook signing secret for a run with none configured.
func NewSecret(prefix string) string { return prefix + randomHex(16) }

// open returns the order's session, making it on first call: like the real
// gateways' idempotency, asking twice for one order gives one session.
func (s *Sandbox) open(gateway, refPrefix, payPrefix string, o *order.Order) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.byOrder[o.ID]; ok {
		return ss
	}
	ss := &session{Gateway: gateway, Ref: refPrefix + randomHex(12), PaymentRef: payPrefix + randomHex(12), Order: o.Clone()}
	s.sessions[ss.Ref], s.byOrder[o.ID] = ss, ss
	return ss
}

func (s *Sandbox) session(gateway, ref string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[ref]
	if !ok || ss.Gateway != gateway {
		return nil, false
	}
	return ss, true
}

// loseWebhook is the action of "Pay, but lose the webhook", on both pages.
const loseWebhook = "pay-lose-webhook"

// lose records a webhook the sandbox will not deliver, for Missed.
func (s *Sandbox) lose(gateway, eventID string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.lost = append(s.lost, lostEvent{Seq: s.seq, Gateway: gateway, ID: eventID, Body: body, At: s.cfg.Now()})
}

// later sends a webhook after the request that caused it has been
// answered, as the gateways do with a refund's; one that cannot be
// delivered is lost, and reconcile finds it.
func (s *Sandbox) later(gateway, eventID string, body []byte, send func(context.Context) error) {
	s.sending.Add(1)
	go func() {
		defer s.sending.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := send(ctx); err != nil {
			s.lose(gateway, eventID, body)
		}
	}()
}

// Wait returns once every webhook the sandbox is sending has been
// delivered or lost.
func (s *Sandbox) Wait() { s.sending.Wait() }

// post sends a webhook to url, as the gateway would.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send webhook: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook was answered %d: %s", resp.StatusCode, reply)
	}
	return nil
}

// Handler serves the hosted checkout pages under /sandbox/: orders' and
// subscriptions', the subscriptions' time controls
// (POST /sandbox/subscriptions/{id}/{renew|fail|exhaust|end-trial|end-period},
// {id} jampay's subscription id or the gateway's), and the stand-in for
// Stripe's billing portal.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/stripe/{session}", s.stripePage)
	mux.HandleFunc("POST /sandbox/stripe/{session}/{action}", s.stripeAction)
	mux.HandleFunc("GET /sandbox/razorpay/checkout.js", s.razorpayScript)
	mux.HandleFunc("POST /sandbox/razorpay/{order}/{action}", s.razorpayAction)
	mux.HandleFunc("GET /sandbox/orders/{order}", s.references)
	mux.HandleFunc("GET /sandbox/subscriptions/{id}", s.subscriptionPage)
	mux.HandleFunc("POST /sandbox/subscriptions/{id}/{action}", s.subscriptionAction)
	mux.HandleFunc("GET /sandbox/portal/{id}", s.portalPage)
	return mux
}

// References are the gateway references the sandbox made for one order.
type References struct {
	Gateway string `json:"gateway"`
	// Session is the Checkout Session id (Stripe) or the Razorpay order id
	// (order_…): the reference an event must name to move the order.
	Session string `json:"session"`
	// Payment is the PaymentIntent id (Stripe) or the prefix of the
	// sandbox's Razorpay payment ids.
	Payment string `json:"payment"`
	// Subscription is the gateway's subscription (sub_…), for a
	// subscription (whose Session is its checkout).
	Subscription string `json:"subscription,omitempty"`
}

// references answers which session the sandbox opened for an order, so
// `jampay trigger -order` can send an event that names it (jampay believes
// only events naming the session or Razorpay order it created).
func (s *Sandbox) references(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ss, ok := s.byOrder[r.PathValue("order")]
	var refs References
	if ok {
		refs = References{Gateway: ss.Gateway, Session: ss.Ref, Payment: ss.PaymentRef}
	} else if b, found := s.subs[r.PathValue("order")]; found {
		ok, refs = true, References{Gateway: b.Gateway, Session: b.SessionRef, Subscription: b.Ref}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "The sandbox opened no checkout for this order."})
		return
	}
	writeJSON(w, http.StatusOK, refs)
}

// close ends the session's checkout (to "paid" or "expired") and reports
// whether it was still open, so two presses of Pay send one payment.
func (s *Sandbox) close(ss *session, how string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.Closed != "" {
		return false
	}
	ss.Closed, ss.Declined = how, ""
	return true
}

// byOrderID returns the session the sandbox opened for an order of the
// gateway, if it still has it: its books live in memory, and a session
// from before jampay serve restarted is gone.
func (s *Sandbox) byOrderID(gateway, orderID string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byOrder[orderID]
	if !ok || ss.Gateway != gateway {
		return nil, false
	}
	return ss, true
}

// reopen undoes close when the gateway's webhook could not be delivered:
// the customer sees the error and may press again.
func (s *Sandbox) reopen(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.Closed = ""
}

// decline records a declined attempt; the checkout stays open. It reports
// false if the checkout was already closed.
func (s *Sandbox) decline(ss *session, message string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.Closed != "" {
		return false
	}
	ss.Declined, ss.LastDecline = message, message
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
