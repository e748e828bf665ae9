package localserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The dashboard answers only this machine, whatever -addr it listens on
// (0.0.0.0 would otherwise hand refunds to the whole network).
func TestDashboard_LoopbackClientsOnly(t *testing.T) {
	d := &dashboard{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), port: "8787"}
	h := d.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		remote, host string
		want         int
	}{
		{"127.0.0.1:50000", "127.0.0.1:8787", http.StatusTeapot},
		{"[::1]:50000", "[::1]:8787", http.StatusTeapot},
		{"127.0.0.1:50000", "localhost:8787", http.StatusTeapot},
		{"192.0.2.7:50000", "127.0.0.1:8787", http.StatusForbidden},
		{"[2001:db8::7]:50000", "127.0.0.1:8787", http.StatusForbidden},
		{"127.0.0.1:50000", "127.0.0.1:9999", http.StatusForbidden},
	} {
		req := httptest.NewRequest("GET", "/_jampay/", nil)
		req.RemoteAddr, req.Host = tc.remote, tc.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("from %s to %s: %d, want %d", tc.remote, tc.host, rec.Code, tc.want)
		}
		if rec.Header().Get("Content-Security-Policy") != "frame-ancestors 'none'" {
			t.Errorf("from %s: the page may be framed by another site", tc.remote)
		}
	}
}

// Amounts are typed as on a price tag, in the order's currency.
func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"", "usd", 0, true}, {"15", "usd", 1500, true}, {"12.5", "usd", 1250, true}, {" 0.01 ", "usd", 1, true},
		{"1500", "jpy", 1500, true}, {"1.5", "jpy", 0, false}, {"1.234", "kwd", 1234, true},
		{"12.505", "usd", 0, false}, {"-1", "usd", 0, false}, {"0", "usd", 0, false}, {"1e3", "usd", 0, false}, {".5", "usd", 0, false},
	} {
		got, err := parseAmount(tc.in, tc.currency)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseAmount(%q, %s) = %d, %v", tc.in, tc.currency, got, err)
		}
	}
}
