package api_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/api"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
)

// newLimitedEnv builds the handler with CHECKOUT_RATE_LIMIT = limit, its
// store and its handler on one clock the test moves (10:00:00, the start
// of a window). Requests name their client address in a test header.
func newLimitedEnv(t *testing.T, kind storeKind, limit int) (*env, *storetest.Clock) {
	clock := storetest.NewClock()
	var store order.Store = memstore.New(clock.Now)
	if kind == dynamodb {
		client := local.Client(t)
		store = dynamostore.New(client, local.NewTable(t, client), clock.Now)
	}
	e := &env{t: t, store: store, gw: &fakeGateway{}}
	e.h = fromTestAddr(api.Handler(api.Deps{
		Store: store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": e.gw, "razorpay": e.gw},
		CheckoutRateLimit: limit, Now: clock.Now, Logger: quietLogger(),
	}))
	return e, clock
}

// fromTestAddr sets RemoteAddr from X-Test-Remote-Addr, as a host adapter
// sets it from what its platform saw.
func fromTestAddr(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("X-Test-Remote-Addr"); a != "" {
			r.RemoteAddr = a
			r.Header.Del("X-Test-Remote-Addr")
		}
		h.ServeHTTP(w, r)
	})
}

const mugBody = `{"gateway":"stripe","items":[{"sku":"mug","quantity":1}]}`

// checkoutFrom posts a checkout from addr; extra is "Name: value" pairs.
func (e *env) checkoutFrom(addr string, extra ...string) response {
	h := http.Header{"Content-Type": {"application/json"}, "X-Test-Remote-Addr": {addr}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return e.do("POST", "/api/checkout", []byte(mugBody), h)
}

func (e *env) wantRateLimited(r response, retryAfter string) {
	e.t.Helper()
	if r.Status != 429 || r.errorCode(e.t) != "rate_limited" {
		e.t.Fatalf("want 429 rate_limited, got %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("Retry-After"); got != retryAfter {
		e.t.Fatalf("Retry-After = %q, want %q", got, retryAfter)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatal("429 without Cache-Control: no-store")
	}
}

func (e *env) want201(r response, what string) {
	e.t.Helper()
	if r.Status != 201 {
		e.t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
}

// TestCheckout_RateLimitPerClientIP: CHECKOUT_RATE_LIMIT checkouts per
// address per 10-minute window, then 429 with Retry-After until the window
// ends; X-Forwarded-For changes nothing either way; a new window starts
// over.
func TestCheckout_RateLimitPerClientIP(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e, clock := newLimitedEnv(t, kind, 3)
			clock.Advance(200 * time.Second) // 400 s left in the window
			for i := 0; i < 3; i++ {
				e.want201(e.checkoutFrom("203.0.113.9:"+strconv.Itoa(40000+i)), "checkout under the limit")
			}
			e.wantRateLimited(e.checkoutFrom("203.0.113.9:40100"), "400")
			e.wantRateLimited(e.checkoutFrom("203.0.113.9:40101", "X-Forwarded-For", "198.51.100.77"), "400")
			e.want201(e.checkoutFrom("198.51.100.77:5555", "X-Forwarded-For", "203.0.113.9"), "another address")
			if n := e.gw.calls.Load(); n != 4 {
				t.Fatalf("the gateway was asked %d times, want 4: a refused checkout reached it", n)
			}
			clock.Advance(399 * time.Second)
			e.wantRateLimited(e.checkoutFrom("203.0.113.9:40102"), "1")
			clock.Advance(time.Second)
			e.want201(e.checkoutFrom("203.0.113.9:40103"), "the next window")
		})
	}
}

// TestCheckout_RateLimitCountsIPv6Per64 and IPv4-mapped IPv6 as IPv4, with
// or without a port (API Gateway's sourceIp has none).
func TestCheckout_RateLimitCountsIPv6Per64(t *testing.T) {
	e, _ := newLimitedEnv(t, memory, 1)
	steps := []struct {
		addr    string
		limited bool
	}{
		{"[2001:db8:1:2::1]:443", false},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", true},
		{"2001:db8:1:2:abcd::9", true},
		{"[2001:db8:1:3::1]:443", false},
		{"203.0.113.9:1", false},
		{"[::ffff:203.0.113.9]:2", true},
		{"203.0.113.9", true},
		{"203.0.113.10", false},
	}
	for _, st := range steps {
		r := e.checkoutFrom(st.addr)
		if limited := r.Status == 429; limited != st.limited {
			t.Fatalf("%s: %d %s, want limited=%v", st.addr, r.Status, r.Body, st.limited)
		}
	}
}

// TestCheckout_ReplaysDoNotCountAgainstTheRateLimit: a double click is one
// checkout, and its replay is answered even at the limit; a new key counts.
func TestCheckout_ReplaysDoNotCountAgainstTheRateLimit(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e, _ := newLimitedEnv(t, kind, 2)
			const addr = "203.0.113.9:1"
			first := e.checkoutFrom(addr, "Idempotency-Key", "replay-key-not-counted-01")
			e.want201(first, "first checkout")
			for i := 0; i < 3; i++ {
				if again := e.checkoutFrom(addr, "Idempotency-Key", "replay-key-not-counted-01"); again.Status != 201 || string(again.Body) != string(first.Body) {
					t.Fatalf("replay %d: %d %s", i, again.Status, again.Body)
				}
			}
			e.want201(e.checkoutFrom(addr), "second checkout")
			e.wantRateLimited(e.checkoutFrom(addr), "600")
			if again := e.checkoutFrom(addr, "Idempotency-Key", "replay-key-not-counted-01"); again.Status != 201 || string(again.Body) != string(first.Body) {
				t.Fatalf("replay at the limit: %d %s", again.Status, again.Body)
			}
			e.wantRateLimited(e.checkoutFrom(addr, "Idempotency-Key", "a-fresh-key-is-counted-02"), "600")
		})
	}
}

func TestCheckout_RateLimitOffIsNoLimit(t *testing.T) {
	e, _ := newLimitedEnv(t, memory, 0)
	for i := 0; i < 40; i++ {
		e.want201(e.checkoutFrom("203.0.113.9:1"), "checkout with the limit off")
	}
}

type brokenLimiter struct{}

func (brokenLimiter) TakeRate(context.Context, string, int, time.Time) (bool, error) {
	return false, &order.StoreError{Err: errors.New("ProvisionedThroughputExceededException")}
}

// TestCheckout_RateLimiterFailureIs503: a counter that cannot be written is
// store_unavailable, never a checkout let through uncounted.
func TestCheckout_RateLimiterFailureIs503(t *testing.T) {
	e := newEnv(t, memory)
	e.h = api.Handler(api.Deps{
		Store: e.store, Catalog: mustCatalog(t), Gateways: map[string]api.Gateway{"stripe": e.gw},
		CheckoutRateLimit: 30, RateLimiter: brokenLimiter{}, Logger: quietLogger(),
	})
	r := e.do("POST", "/api/checkout", []byte(mugBody), jsonHeader)
	if r.Status != 503 || r.errorCode(t) != "store_unavailable" || r.Header.Get("Retry-After") != "" {
		t.Fatalf("limiter down: %d %v %s", r.Status, r.Header, r.Body)
	}
	if e.gw.calls.Load() != 0 {
		t.Fatal("the gateway was called for a checkout that was never counted")
	}
}

// TestHandler_RateLimitWithNothingToCountFailsAtStart: a limit wired to a
// store that cannot count is a wiring mistake, found when the function
// starts rather than on the first checkout.
func TestHandler_RateLimitWithNothingToCountFailsAtStart(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Handler accepted a rate limit it cannot count")
		}
	}()
	api.Handler(api.Deps{Store: failingStore{newStore(t, memory)}, CheckoutRateLimit: 30})
}

// TestCheckout_ARetryAfterA502Counts: replaying a key whose checkout the
// gateway never made calls the gateway again, and that is counted, so one
// key cannot buy unlimited gateway calls.
func TestCheckout_ARetryAfterA502Counts(t *testing.T) {
	for _, kind := range stores {
		t.Run(string(kind), func(t *testing.T) {
			e, clock := newLimitedEnv(t, kind, 2)
			const addr, key = "203.0.113.9:1", "retry-after-502-key-0001"
			e.gw.fail.Store(true)
			if r := e.checkoutFrom(addr, "Idempotency-Key", key); r.Status != 502 {
				t.Fatalf("first attempt: %d %s", r.Status, r.Body)
			}
			clock.Advance(time.Minute) // past request_in_progress
			if r := e.checkoutFrom(addr, "Idempotency-Key", key); r.Status != 502 {
				t.Fatalf("retry: %d %s", r.Status, r.Body)
			}
			e.wantRateLimited(e.checkoutFrom(addr, "Idempotency-Key", key), "540")
			if calls := e.gw.calls.Load(); calls != 2 {
				t.Fatalf("the gateway was called %d times, want 2", calls)
			}
		})
	}
}
