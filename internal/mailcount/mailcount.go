// Package mailcount counts, across one test binary, every customer mail the
// tests' stand-in Mailers accept, by order, version and effect type, so the
// package's TestMain fails it if any change was mailed twice: issue 16's
// "duplicate emails counted across the whole suite: 0".
package mailcount

import (
	"fmt"
	"sort"
	"sync"
	"testing"
)

// Key names the change a mail tells of.
type Key struct {
	OrderID string
	Version int64
	Effect  string // the effect's type (order.paid, …)
}

// The count is the test binary's, not a test's: a mail sent twice by two
// dispatchers in two tests' goroutines must still show.
var (
	mu   sync.Mutex
	sent = map[Key]int{}
)

// Sent counts one mail accepted for k.
func Sent(k Key) {
	mu.Lock()
	defer mu.Unlock()
	sent[k]++
}

// Run runs the package's tests, prints how many mails they sent and how
// many changes were mailed more than once, and returns the exit code:
// m.Run's, or 1 if there was any duplicate.
//
//	func TestMain(m *testing.M) { os.Exit(mailcount.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	var dups []string
	for k, n := range sent {
		total += n
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s v%d %s: %d mails", k.OrderID, k.Version, k.Effect, n))
		}
	}
	sort.Strings(dups)
	fmt.Printf("mailcount: %d mails sent for %d changes, %d duplicates\n", total, len(sent), len(dups))
	for _, d := range dups {
		fmt.Println("mailcount: duplicate:", d)
	}
	if len(dups) > 0 && code == 0 {
		code = 1
	}
	return code
}
