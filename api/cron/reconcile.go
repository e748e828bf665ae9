// Package handler is jampay's scheduled reconcile on Vercel: vercel.json's
// cron calls /api/cron/reconcile with `Authorization: Bearer $CRON_SECRET`;
// any other call is refused (pkg/vercelfn).
package handler

import (
	"net/http"

	"github.com/jampay/jampay/pkg/vercelfn"
)

// Handler runs one reconcile.
func Handler(w http.ResponseWriter, r *http.Request) { vercelfn.Reconcile(w, r) }
