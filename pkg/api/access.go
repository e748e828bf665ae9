package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"

	"github.com/jampay/jampay/pkg/order"
)

// accepted is the one answer to an access-link request.
var accepted = json.RawMessage(`{"accepted":true}`)

// accessLinks answers POST /api/access-links {"email": …}: 202 whatever
// happens once the address is read, so the answer tells nobody whether a
// subscription uses it. A subscriber is owed an email with a link per
// subscription (shop.RequestAccessLinks), sent by the effects dispatcher.
func (s *server) accessLinks(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.fail(w, r, order.Errorf(order.CodeUnsupportedMedia, "Send the request as Content-Type: application/json."))
		return
	}
	body, err := readBody(w, r, 4<<10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Email string `json:"email"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		s.fail(w, r, order.Errorf(order.CodeInvalidJSON, "Send {\"email\": \"you@example.com\"}."))
		return
	}
	if a, err := mail.ParseAddress(req.Email); err != nil || a.Address != req.Email || len(req.Email) > 254 {
		s.fail(w, r, order.Errorf(order.CodeInvalidEmail, "The email address is not valid."))
		return
	}
	res, err := s.shop.RequestAccessLinks(r.Context(), req.Email, clientKey(r.RemoteAddr))
	if err != nil {
		// The rate limit and a store that cannot be read come before
		// anything about the address is known: they may be told.
		s.fail(w, r, err)
		return
	}
	if res.Err != nil {
		s.log(r, slog.LevelError, "access links not all owed", "links", res.Links, "err", res.Err)
	}
	s.log(r, slog.LevelInfo, "access links asked", "links", res.Links, "held", res.Held)
	s.writeJSON(w, http.StatusAccepted, accepted)
}
