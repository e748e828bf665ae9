// Package permute lists every order of n things, for the tests that
// deliver a set of gateway events in each order they could arrive in.
package permute

// All returns every permutation of 0..n-1 (n! of them), each a fresh slice.
func All(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range All(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
