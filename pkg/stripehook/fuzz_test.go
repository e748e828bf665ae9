package stripehook_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/stripehook"
	"github.com/jampay/jampay/pkg/stripeverify"
)

// FuzzParseWebhook: the Stripe-Signature parser and verifier never panic,
// and accept a payload only if the header carries the genuine v1 signature
// of those exact bytes at its timestamp.
func FuzzParseWebhook(f *testing.F) {
	body := []byte(`{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1","metadata":{"order_id":"ord_x"}}}}`)
	f.Add(payloads.StripeSignature(body, secret, time.Time{}), body)
	// A seed of every handled type, so the fuzzer starts from each path
	// through the decoder.
	for _, et := range stripehook.Events {
		b, err := payloads.Stripe{Type: et.Type, OrderID: "ord_seed", Amount: 100}.Payload()
		if err != nil {
			b = sample(f, et) // a type payloads does not write: its fixture
		}
		f.Add(payloads.StripeSignature(b, secret, time.Time{}), b)
	}
	// And every fixture, variants included: whole bodies at 2023-10-16 and
	// at 2025-03-31.basil.
	for _, tc := range subscriptionCases {
		b := fixture(f, tc.file)
		f.Add(payloads.StripeSignature(b, secret, time.Time{}), b)
	}
	f.Add("t=1,v1=00", body)
	f.Add("", []byte("{}"))
	v := &stripeverify.Verifier{Secrets: []string{secret}, Tolerance: 100 * 365 * 24 * time.Hour}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		e, err := v.ParseWebhook(context.Background(), http.Header{"Stripe-Signature": {header}}, body)
		if err != nil {
			return
		}
		if e.ID == "" {
			t.Fatal("accepted an event without an id")
		}
		var ts int64 = -1
		var sigs []string
		for _, part := range strings.Split(header, ",") {
			k, val, _ := strings.Cut(part, "=")
			switch k {
			case "t":
				ts, _ = strconv.ParseInt(val, 10, 64)
			case "v1":
				sigs = append(sigs, val)
			}
		}
		want := hex.EncodeToString(webhook.ComputeSignature(time.Unix(ts, 0), body, secret))
		for _, s := range sigs {
			if strings.EqualFold(s, want) {
				return
			}
		}
		t.Fatalf("accepted %q without its signature", header)
	})
}
