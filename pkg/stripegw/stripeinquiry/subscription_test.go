package stripeinquiry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

func pendingStripeSub(now time.Time) subscription.Subscription {
	return subscription.Subscription{ID: subscription.NewID(), Gateway: "stripe", Status: subscription.Pending, Amount: 900, Currency: "usd",
		SessionRef: "cs_test_sub", Deadline: now.Add(-time.Minute)}
}

// TestInquireSubscription_StripeMockTakesTheRetrieveAndTheExpiry: a
// pending subscription past its deadline has its Checkout Session read
// and, still open, expired, as an order's — requests stripe-mock accepts;
// a dry run only reads it, and says it would expire it; one not yet past
// its deadline, or no longer pending, is not asked about.
func TestInquireSubscription_StripeMockTakesTheRetrieveAndTheExpiry(t *testing.T) {
	now := time.Now()
	log := &apiLog{}
	if _, err := inquirer(mock.URL, log).InquireSubscription(context.Background(), pendingStripeSub(now), now); err != nil {
		t.Fatalf("stripe-mock refused what InquireSubscription sent: %v", err)
	}
	if got, want := log.calls(), []string{"GET /v1/checkout/sessions/cs_test_sub", "POST /v1/checkout/sessions/cs_test_sub/expire"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}

	log = &apiLog{}
	s := pendingStripeSub(now)
	events, err := inquirer(mock.URL, log).InquireSubscription(shop.WithDryRun(context.Background()), s, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := log.calls(), []string{"GET /v1/checkout/sessions/cs_test_sub"}; !slices.Equal(got, want) {
		t.Fatalf("dry run calls %v, want %v", got, want)
	}
	if len(events) == 0 || events[len(events)-1].Kind != order.KindExpired || events[len(events)-1].Sub == nil ||
		events[len(events)-1].SessionRef != "cs_test_sub" {
		t.Fatalf("a dry run should say it would expire the checkout: %+v", events)
	}

	log = &apiLog{}
	notYet, live := pendingStripeSub(now), pendingStripeSub(now)
	notYet.Deadline, live.Status = now.Add(time.Minute), subscription.Active
	for _, s := range []subscription.Subscription{notYet, live} {
		if events, err := inquirer(mock.URL, log).InquireSubscription(context.Background(), s, now); err != nil || events != nil {
			t.Fatalf("%+v %v", events, err)
		}
	}
	if len(log.calls()) != 0 {
		t.Fatalf("asked %v", log.calls())
	}
}

// TestInquireSubscription_NoSessionEndsExpired: a subscription whose
// checkout was never made ends expired past its deadline, with no call.
func TestInquireSubscription_NoSessionEndsExpired(t *testing.T) {
	now := time.Now()
	s := pendingStripeSub(now)
	s.SessionRef = ""
	log := &apiLog{}
	events, err := inquirer(mock.URL, log).InquireSubscription(context.Background(), s, now)
	if err != nil || len(events) != 1 || events[0].Kind != order.KindExpired || events[0].OrderID != s.ID || len(log.calls()) != 0 {
		t.Fatalf("%+v %v %v", events, err, log.calls())
	}
}
