package api_test

import (
	"net/http"
	"testing"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, memory)
	pre := e.do("OPTIONS", "/api/checkout", nil, http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type,idempotency-key"}})
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != origin || pre.Header.Get("Access-Control-Max-Age") == "" ||
		pre.Header.Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight from an allowed origin: %d %v", pre.Status, pre.Header)
	}
	evil := e.do("OPTIONS", "/api/checkout", nil, http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}})
	if evil.Status != 403 || evil.Header.Get("Access-Control-Allow-Origin") != "" || evil.errorCode(t) != "origin_not_allowed" {
		t.Fatalf("preflight from another origin: %d %v", evil.Status, evil.Header)
	}
	get := e.do("GET", "/api/orders/ord_x", nil, http.Header{"Origin": {"https://evil.example"}})
	if get.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a disallowed origin got CORS headers")
	}
	ok := e.do("GET", "/api/orders/ord_x", nil, http.Header{"Origin": {origin}})
	if ok.Header.Get("Access-Control-Allow-Origin") != origin || ok.Header.Get("Vary") != "Origin" {
		t.Fatalf("allowed origin: %v", ok.Header)
	}
}
