package order

import "context"

// Effects is called once for every status change this process won, with the
// order before and after. It is where downstream work (a fulfilment email, a
// ledger line) hangs: it never runs for a duplicate or for a writer that
// lost the conditional write. Two events that win consecutive moves of one
// order run their effects concurrently, in no set order: after.Version
// orders them.
type Effects func(ctx context.Context, before, after Order)
