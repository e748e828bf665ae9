package memstore_test

import (
	"testing"

	"github.com/jampay/jampay/internal/storetest"
	"github.com/jampay/jampay/pkg/memstore"
	"github.com/jampay/jampay/pkg/order"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) order.Store {
		return memstore.New(clock.Now)
	})
}

func TestSubscriptionConformance(t *testing.T) {
	storetest.RunSubscriptions(t, func(t *testing.T, clock *storetest.Clock) storetest.SubscriptionStore {
		return memstore.New(clock.Now)
	})
}
