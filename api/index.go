// Package handler is jampay's API on Vercel: vercel.json rewrites every
// /api/ route here. Vercel builds each .go file under api/ as one function
// and requires `package handler`; the logic is in pkg/vercelfn (a file
// here may not import the module's internal/ packages).
package handler

import (
	"net/http"

	"github.com/jampay/jampay/pkg/vercelfn"
)

// Handler serves the contract's routes.
func Handler(w http.ResponseWriter, r *http.Request) { vercelfn.API(w, r) }
