package stripehook_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/stripehook"
)

// TestEvents_READMEListsThem: the events the README tells an owner to
// register on the Stripe endpoint are exactly the table's, so the two
// cannot drift: a type missing there is one Stripe never sends, and one
// listed but not handled would be delivered only to be ignored.
func TestEvents_READMEListsThem(t *testing.T) {
	got := readmeEvents(t, "- Stripe Dashboard")
	want := stripehook.Types()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("README.md lists the Stripe events\n %v\nstripehook.Events has\n %v", got, want)
	}
}

// readmeEvents returns, sorted, the `code` spans listed after "events " in
// the README's bullet beginning with bullet, up to the end of that sentence.
func readmeEvents(t *testing.T, bullet string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(b), "\n"+bullet)
	if !ok {
		t.Fatalf("README.md has no bullet %q", bullet)
	}
	// The bullet ends at the next bullet or at a blank line.
	text, _, _ = strings.Cut(text, "\n- ")
	text, _, _ = strings.Cut(text, "\n\n")
	_, list, ok := strings.Cut(text, "events `")
	if !ok {
		t.Fatalf("README.md's bullet %q names no events", bullet)
	}
	list, _, _ = strings.Cut(list, "`.")
	var types []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch("`"+list+"`", -1) {
		types = append(types, m[1])
	}
	slices.Sort(types)
	return types
}
