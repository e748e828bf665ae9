package api

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/jampay/jampay/pkg/order"
)

// validRequestID accepts the ids API Gateway and proxies make (letters,
// digits, '=', '_', '.', '-'; at most 64), so a client cannot inject text
// into log lines through X-Request-Id.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '=' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// withRequestID takes the request id API Gateway (or a proxy) set, or makes
// one, puts it in the context for logs and echoes it to the client.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			// A request id correlates log lines; it is no secret, so
			// math/rand/v2's per-thread generator will do, without a
			// getrandom system call per request.
			id = fmt.Sprintf("%016x", rand.Uint64())
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// noStore marks every response of the API, errors included, as not to be
// kept by the browser or any cache between: a 201 carries the status token,
// and a status answer is stale the moment the order moves.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// recover turns a panic into a logged 500 rather than a dropped connection.
func (s *server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log(r, slog.LevelError, "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// preflightMaxAge lets browsers reuse a preflight answer for two hours
// (Chromium's cap), so a shop page makes one OPTIONS request, not one per call.
const preflightMaxAge = 7200

// cors answers the browser's CORS questions for the origins in
// AllowedOrigins only. Webhook calls from gateways carry no Origin and are
// unaffected.
func (s *server) cors(next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range s.AllowedOrigins {
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin != "" && allowed[origin]
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id")
		}
		if r.Method == http.MethodOptions {
			if !ok {
				s.fail(w, r, order.Errorf(order.CodeOriginNotAllowed, "Origin %q may not call this API.", order.Clip(origin, 100)))
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Idempotency-Key")
			w.Header().Set("Access-Control-Max-Age", strconv.Itoa(preflightMaxAge))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
