package api

import (
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/jampay/jampay/pkg/shop"
)

// RateLimiter counts checkouts per client: see shop.RateLimiter.
type RateLimiter = shop.RateLimiter

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
