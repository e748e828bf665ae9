// Package backoff is how jampay waits between attempts at a gateway call
// that may succeed when tried again (a 429, a 5xx, no answer).
package backoff

import (
	"context"
	"time"
)

// Sleep waits d, and reports false without waiting when ctx would end
// first: there is no time left for another attempt, so the caller returns
// its error now rather than die in the wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
