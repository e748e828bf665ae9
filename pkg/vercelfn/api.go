package vercelfn

import (
	"net/http"
	"strings"
)

// indexPath is the function vercel.json's rewrite of /api/(.*) sends every
// route to (api/index.go).
const indexPath = "/api/index"

// pathParam carries the rest of the path through vercel.json's rewrite
// (/api/(.*) → /api/index?path=$1; a named source, /api/:path*, appends the
// same). No route of the contract reads a query parameter, let alone this
// one.
const pathParam = "path"

// vercelIDHeader is the id Vercel gives each request (regions and a
// serial, "cdg1::iad1::abcde-1700000000000-0123456789ab"), shown in its
// logs.
const vercelIDHeader = "X-Vercel-Id"

// API serves the contract's routes with the App, on the request's original
// path (see routePath), with Vercel's request id as jampay's (replacing any
// the client sent), so jampay's log lines match Vercel's.
func (e *Entry) API(w http.ResponseWriter, r *http.Request) {
	app, ok := e.start(r)
	if !ok {
		notStarted(w)
		return
	}
	r = routePath(r)
	if id := r.Header.Get(vercelIDHeader); id != "" {
		r.Header.Set("X-Request-Id", strings.ReplaceAll(id, ":", "."))
	}
	app.ServeHTTP(w, r)
}

// routePath gives the request the path the client asked for. Behind a
// rewrite Vercel's proxy is expected to hand the function the original
// path (/api/orders/ord_1), which is kept; no Vercel document we found says
// so for Go, so should it hand the destination (/api/index), the original
// is rebuilt from the path parameter the rewrite adds. Either way
// that parameter is taken off the query. The request returned is a copy,
// the caller's own to change.
func routePath(r *http.Request) *http.Request {
	q := r.URL.Query()
	rest, appended := q[pathParam]
	if !appended && r.URL.Path != indexPath {
		return r.Clone(r.Context())
	}
	u := *r.URL
	if r.URL.Path == indexPath && appended && len(rest) > 0 {
		u.Path = "/api/" + strings.TrimLeft(rest[0], "/")
		u.RawPath = ""
	}
	q.Del(pathParam)
	u.RawQuery = q.Encode()
	r2 := r.Clone(r.Context())
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}
