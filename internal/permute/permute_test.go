package permute

import (
	"fmt"
	"testing"
)

func TestAll_EveryOrderOnce(t *testing.T) {
	for n, want := range []int{1, 1, 2, 6, 24, 120} {
		seen := map[string]bool{}
		for _, p := range All(n) {
			used := make([]bool, n)
			for _, i := range p {
				if i < 0 || i >= n || used[i] {
					t.Fatalf("n=%d: %v is not a permutation", n, p)
				}
				used[i] = true
			}
			seen[fmt.Sprint(p)] = true
		}
		if len(seen) != want || len(All(n)) != want {
			t.Fatalf("n=%d: %d distinct of %d, want %d", n, len(seen), len(All(n)), want)
		}
	}
}
