package vercelfn

import (
	"net/http/httptest"
	"testing"
)

// vercel.json's rewrite of /api/(.*) to /api/index?path=$1 hands the
// function either the original path, with path= added to its query, or the
// destination: the route is the same either way, and path= is gone.
func TestRoutePath_OriginalOrDestinationForm(t *testing.T) {
	for _, c := range []struct{ target, path, query, uri string }{
		{"/api/orders/ord_1", "/api/orders/ord_1", "", "/api/orders/ord_1"},
		{"/api/orders/ord_1?x=1", "/api/orders/ord_1", "x=1", "/api/orders/ord_1?x=1"},
		{"/api/index?path=orders/ord_1", "/api/orders/ord_1", "", "/api/orders/ord_1"},
		{"/api/index?path=%2Fwebhooks%2Fstripe&x=1", "/api/webhooks/stripe", "x=1", "/api/webhooks/stripe?x=1"},
		{"/api/orders/ord_1?path=orders%2Ford_1", "/api/orders/ord_1", "", "/api/orders/ord_1"},
		{"/api/orders/ord_1?x=1&path=orders%2Ford_1", "/api/orders/ord_1", "x=1", "/api/orders/ord_1?x=1"},
		{"/api/index", "/api/index", "", "/api/index"},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		before := r.URL.String()
		got := routePath(r)
		if got.URL.Path != c.path || got.URL.RawQuery != c.query || got.RequestURI != c.uri {
			t.Errorf("%s: path %q query %q uri %q, want %q %q %q", c.target, got.URL.Path, got.URL.RawQuery, got.RequestURI, c.path, c.query, c.uri)
		}
		if r.URL.String() != before || r.RequestURI != c.target {
			t.Errorf("%s: the caller's request was changed", c.target)
		}
	}
}
