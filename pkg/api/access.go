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
// subscription uses it, and the same work for every address, so its time
// does not tell either (shop.RequestAccessLinks). A subscriber is then
// owed an email with a link per subscription, sent by the dispatcher.
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
	if err := s.shop.RequestAccessLinks(r.Context(), req.Email, clientKey(r.RemoteAddr)); err != nil {
		// The rate limit and the store's failures do not depend on the
		// address: they may be told.
		s.fail(w, r, err)
		return
	}
	s.log(r, slog.LevelInfo, "access links asked")
	s.writeJSON(w, http.StatusAccepted, accepted)
}
