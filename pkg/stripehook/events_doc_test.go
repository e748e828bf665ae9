package stripehook_test

import (
	"slices"
	"testing"

	"github.com/jampay/jampay/internal/readme"
	"github.com/jampay/jampay/pkg/stripehook"
)

// TestEvents_READMEListsThem: the events the README tells an owner to
// register on the Stripe endpoint are exactly the table's, so the two
// cannot drift: a type missing there is one Stripe never sends, and one
// listed but not handled would be delivered only to be ignored.
func TestEvents_READMEListsThem(t *testing.T) {
	got := readme.Events(t, "- Stripe Dashboard")
	want := stripehook.Types()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("README.md lists the Stripe events\n %v\nstripehook.Events has\n %v", got, want)
	}
}
