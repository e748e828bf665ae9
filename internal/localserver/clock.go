package localserver

import (
	"sync/atomic"
	"time"
)

// clock is jampay serve's clock: the wall clock, moved forward by the
// dashboard's "Advance the clock" (local only, never in Lambda), so a
// newcomer can watch a checkout deadline, and reconcile's grace after it,
// pass without waiting an hour. The API, the store, the sandbox and
// reconcile all read it, so they agree on what time it is; only webhook
// signatures keep the wall clock, which stripe-go checks them against.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(c.Offset()) }

// Advance moves the clock forward by d; it never goes back, as deadlines
// passed stay passed.
func (c *clock) Advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}

// Offset is how far ahead of the wall clock the clock is.
func (c *clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }
