package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/config"
)

// RateLimiter counts checkouts per client, for CHECKOUT_RATE_LIMIT. The
// DynamoDB and in-memory stores implement it (internal/storetest checks both).
type RateLimiter interface {
	// TakeRate counts one under key unless the count has reached limit, in
	// one conditional write, and reports whether it counted. The counter
	// may be forgotten after expiresAt.
	TakeRate(ctx context.Context, key string, limit int, expiresAt time.Time) (bool, error)
}

// rateLimited is a checkout refused by the rate limit; fail answers it 429
// with Retry-After.
type rateLimited struct{ retryAfter time.Duration }

func (e *rateLimited) Error() string { return "rate limited" }

// takeRate counts a checkout that is about to make an order against its
// client's fixed window of config.RateWindow. Replays of an Idempotency-Key
// never get here: they make nothing.
func (s *server) takeRate(r *http.Request, now time.Time) error {
	if s.CheckoutRateLimit <= 0 {
		return nil
	}
	window := int64(config.RateWindow / time.Second)
	start := now.Unix() - now.Unix()%window
	end := time.Unix(start+window, 0)
	key := clientKey(r.RemoteAddr) + "#" + strconv.FormatInt(start, 10)
	// Kept a window past its end, so a clock a little behind still finds it.
	ok, err := s.RateLimiter.TakeRate(r.Context(), key, s.CheckoutRateLimit, end.Add(config.RateWindow))
	if err != nil {
		// A store that cannot count is 503 store_unavailable, not a
		// checkout let through uncounted: the order write that would follow
		// goes to the same table and would most likely fail too, and a
		// flood is what throttles a table, so failing open would lift the
		// limit exactly when it is needed. Invariant 7: a store failure is
		// a 5xx; nothing has been written or sent to a gateway.
		return err
	}
	if !ok {
		return &rateLimited{retryAfter: end.Sub(now)}
	}
	return nil
}

// clientKey names the client a checkout is counted against: its IPv4
// address, or the /64 of its IPv6 address (one subscriber's whole network,
// which it can fill with addresses at will). The address is RemoteAddr,
// which the host adapter sets from what its platform saw (API Gateway's
// sourceIp; the local server's peer), never from a header the client sends
// such as X-Forwarded-For.
func clientKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// An adapter that gives no address counts all such clients as one:
		// visible at once in testing, never a limit quietly off.
		return "unknown"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// retryAfterSeconds is Retry-After for d: whole seconds, rounded up, at
// least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}
