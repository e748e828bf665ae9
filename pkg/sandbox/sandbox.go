// Package sandbox is the local stand-in for Stripe and Razorpay that `jampay
// serve` uses when a gateway has no keys: checkout returns a local hosted
// page whose Pay, Decline and Abandon buttons send the webhook the real
// gateway would send, in its wire format and signed with the gateway's own
// scheme, to jampay's webhook route, through the real verification path.
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
	// Expire ends an order whose customer walked away from Razorpay's
	// Checkout: Razorpay sends no event for that, so jampay's reconcile job
	// does it in production, and the sandbox at once.
	Expire func(ctx context.Context, orderID string) error
	Client *http.Client
	Now    func() time.Time
}

// Sandbox is a running sandbox.
type Sandbox struct {
	cfg      Config
	mu       sync.Mutex
	sessions map[string]*session // by SessionRef
	byOrder  map[string]*session // by order id
}

type session struct {
	Gateway    string
	Ref        string // cs_sandbox_… or order_…
	PaymentRef string // pi_… or pay_…
	Order      order.Order
	Attempts   int
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
	return &Sandbox{cfg: cfg, sessions: map[string]*session{}, byOrder: map[string]*session{}}
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

// Handler serves the hosted checkout pages under /sandbox/.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/stripe/{session}", s.stripePage)
	mux.HandleFunc("POST /sandbox/stripe/{session}/{action}", s.stripeAction)
	mux.HandleFunc("GET /sandbox/razorpay/checkout.js", s.razorpayScript)
	mux.HandleFunc("POST /sandbox/razorpay/{order}/{action}", s.razorpayAction)
	return mux
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
