package razorpaygw_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/razorpaygw"
)

// TestCreateCheckout_TimeoutAndDeadlineFollowTheTTL: Checkout.js's timeout
// (seconds) is CHECKOUT_TTL, and so is the order's deadline; unset, both
// are the contract's hour.
func TestCreateCheckout_TimeoutAndDeadlineFollowTheTTL(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(&razorpayAPI{t: t})
	defer srv.Close()
	for _, tc := range []struct {
		ttl  time.Duration
		want time.Duration
	}{{0, time.Hour}, {45 * time.Minute, 45 * time.Minute}, {24 * time.Hour, 24 * time.Hour}} {
		gw := razorpaygw.New(razorpaygw.Config{KeyID: "rzp_test_key", KeySecret: "key_secret", APIBase: srv.URL,
			TTL: tc.ttl, Now: func() time.Time { return now }})
		c, err := gw.CreateCheckout(context.Background(), newOrder())
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			Timeout json.Number `json:"timeout"`
		}
		if err := json.Unmarshal(c.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Timeout.String() != strconv.FormatInt(int64(tc.want/time.Second), 10) {
			t.Errorf("TTL %s: checkout timeout = %q, want %d seconds", tc.ttl, data.Timeout, int64(tc.want/time.Second))
		}
		if !c.Deadline.Equal(now.Add(tc.want)) {
			t.Errorf("TTL %s: deadline %s, want %s", tc.ttl, c.Deadline, now.Add(tc.want))
		}
	}
}
