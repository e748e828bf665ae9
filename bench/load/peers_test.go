package main

import (
	"bytes"
	"context"
	"github.com/jampay/jampay/internal/payloads"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jampay/jampay/bench"
	"github.com/jampay/jampay/internal/sandbox"
)

// The comparison is only fair if the peers do the work they claim: each
// must accept a genuinely signed event and refuse a forged, stale, altered
// or unsigned one, as jampay does.
func TestPeersVerifySignatures(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	secret := sandbox.NewSecret("whsec_peer_")
	body := bench.StripePayload("ord_01JAMPAYPEERTEST0000000000", "", 4000)
	signature := func(secret string, at time.Time) string {
		return payloads.StripeSignature(body, secret, at)
	}
	altered := bytes.Replace(body, []byte(`"amount_total":4000`), []byte(`"amount_total":1`), 1)
	if bytes.Equal(altered, body) {
		t.Fatal("the payload has no amount_total to alter")
	}
	cases := []struct {
		name      string
		body      []byte
		signature string
		want      int
	}{
		{"genuine", body, signature(secret, time.Now()), http.StatusOK},
		{"wrong secret", body, signature("whsec_forged", time.Now()), http.StatusBadRequest},
		{"stale", body, signature(secret, time.Now().Add(-time.Hour)), http.StatusBadRequest},
		{"altered body", altered, signature(secret, time.Now()), http.StatusBadRequest},
		{"unsigned", body, "", http.StatusBadRequest},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, key := range []string{"go", "node"} {
		t.Run(key, func(t *testing.T) {
			target, err := newTarget(key, root, t.TempDir(), secret)
			if err != nil {
				t.Fatal(err)
			}
			stop, err := target.start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			for _, tc := range cases {
				req, _ := http.NewRequestWithContext(context.Background(), "POST", target.url+"/api/webhooks/stripe", bytes.NewReader(tc.body))
				if tc.signature != "" {
					req.Header.Set("Stripe-Signature", tc.signature)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("%s: answered %d, want %d", tc.name, resp.StatusCode, tc.want)
				}
			}
		})
	}
}
