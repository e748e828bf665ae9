// Package readme reads the README's lists for tests that keep the code
// and the owner's instructions in step.
package readme

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jampay/jampay/internal/localproc"
)

// Events returns, sorted, the `code` spans listed after "events " in
// the README's bullet beginning with bullet, up to the end of that sentence.
func Events(t testing.TB, bullet string) []string {
	t.Helper()
	path, ok := localproc.FindUp("README.md")
	if !ok {
		t.Fatal("no README.md above the test's directory")
	}
	b, err := os.ReadFile(path)
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
