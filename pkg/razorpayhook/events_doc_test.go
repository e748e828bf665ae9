package razorpayhook_test

import (
	"slices"
	"testing"

	"github.com/jampay/jampay/internal/readme"
	"github.com/jampay/jampay/pkg/razorpayhook"
)

// TestEvents_READMEListsThem: the events the README tells an owner to
// register on the Razorpay webhook are exactly the table's, so the two
// cannot drift: a type missing there is one Razorpay never sends, and one
// listed but not handled would be delivered only to be ignored.
func TestEvents_READMEListsThem(t *testing.T) {
	got := readme.Events(t, "- Razorpay Dashboard")
	want := razorpayhook.Types()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("README.md lists the Razorpay events\n %v\nrazorpayhook.Events has\n %v", got, want)
	}
}
