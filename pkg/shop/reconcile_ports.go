package shop

import (
	"context"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// ReconcileStore is what reconciling needs of the store besides
// order.Store: the open orders and the parked references, each found
// through an index whose cost follows what it lists (never a Scan), the
// one lease every entry point takes, and the cursors of the sweeps.
type ReconcileStore interface {
	// OpenPastDeadline lists orders still open (pending, processing) whose
	// checkout deadline is before `before`, earliest deadline first, at most
	// limit. after is where the previous page ended ("" for the first); next
	// is "" after the last page.
	OpenPastDeadline(ctx context.Context, before time.Time, limit int, after string) (orders []order.Order, next string, err error)
	// ParkedRefs lists the references events are parked under, earliest
	// parked first, at most limit, paged like OpenPastDeadline.
	ParkedRefs(ctx context.Context, limit int, after string) (refs []ParkedRef, next string, err error)
	// EffectsDue lists orders in the effects queue (see OrderQueue) whose
	// oldest effect still to send was owed before `before`, oldest first,
	// paged like OpenPastDeadline. Reconcile dispatches them, and asks
	// about those of them still open past their deadline.
	EffectsDue(ctx context.Context, before time.Time, limit int, after string) (orders []order.Order, next string, err error)
	// EffectsFailed lists orders in the effects-failed queue, oldest
	// failed effect first, paged like OpenPastDeadline: the owner's
	// `jampay effects -failed`.
	EffectsFailed(ctx context.Context, limit int, after string) (orders []order.Order, next string, err error)
	// TakeLease takes the named lease for holder until `until`, if it is
	// free, expired, or holder's already: one conditional write. It reports
	// false, and changes nothing, while another holder's lease runs.
	TakeLease(ctx context.Context, name, holder string, until time.Time) (bool, error)
	// ReleaseLease gives the lease up, if holder still has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// Cursor reads a named cursor ("" if there is none); SetCursor writes it.
	Cursor(ctx context.Context, name string) (string, error)
	SetCursor(ctx context.Context, name, value string) error
}

// The queues of the store's one index an order waits in: at most one at a
// time, since the index has one key per item.
const (
	QueueOpen          = "open"
	QueueEffects       = "effects"
	QueueEffectsFailed = "effects-failed"
)

// OrderQueue says which queue o waits in and its date there, or "" for
// none. Effects still to send (owed, claimed) come first, dated by the
// oldest of them, so reconcile finds effects left owed too long without a
// Scan, whatever the order's status. An open order (pending, processing,
// with a deadline) is otherwise in the open queue, dated by its deadline.
// An order whose effects ended failed, nothing owed and not open, is in
// the effects-failed queue for the owner's look.
//
// The priority's price: an open order with effects still to send is not
// in the open queue. Reconcile's effects sweep, which runs before the open
// one, asks about the open orders it finds past their deadline, so none is
// lost; one whose effects were owed less than the sweep's delay ago waits
// at most one run. An open order with failed effects stays in the open
// queue (reconcile must find it), and is listed as failed once it closes;
// `jampay effects retry ORDER_ID` reaches it meanwhile.
func OrderQueue(o *order.Order) (string, time.Time) {
	d := datesOf(o.Outbox)
	switch {
	case d.owes:
		return QueueEffects, d.owed
	case (o.Status == order.Pending || o.Status == order.Processing) && !o.Deadline.IsZero():
		return QueueOpen, o.Deadline
	case d.fails:
		return QueueEffectsFailed, d.failed
	}
	return "", time.Time{}
}

// ParkedRef is a reference events are parked under.
type ParkedRef struct {
	Gateway, Ref string
	// ParkedAt is when events began to be parked under the reference (kept
	// until nothing is parked there any more).
	ParkedAt time.Time
}

// Inquirer asks one gateway's API what its webhooks may have missed. The
// events it returns go through the same evidence path as a webhook's, with
// Source order.SourceReconcile, and ids that make a later webhook of the
// same fact a no-op (a Stripe event keeps its own evt_ id).
type Inquirer interface {
	// Inquire says what the gateway knows of o's checkout once its deadline
	// has passed. Stripe: the Checkout Session, expired first if it is still
	// open, so that nothing can be paid after. Razorpay: the order's
	// payments — captured is paid, authorized processing — and, when there
	// is none but failures (or none at all) ExpiryGrace past the deadline,
	// an expiry. A gateway error is an error, never "not paid".
	Inquire(ctx context.Context, o order.Order, now time.Time) ([]order.Event, error)
	// Missed lists, oldest first and at most limit, what happened at the
	// gateway after cursor ("" starts from since), and the cursor to go on
	// from: a cursor past the last event returned, never past one not
	// returned. Stripe: the events API, each object read again at the
	// pinned API version; Razorpay: payments, refunds and disputes listed
	// by creation time.
	Missed(ctx context.Context, cursor string, since time.Time, limit int) (events []order.Event, next string, err error)
}

// ExpiryGrace is how long past its checkout deadline a Razorpay order with
// no payment authorised is left before it is expired: Checkout's own timeout
// ends at the deadline, and a bank's answer may still be on its way.
const ExpiryGrace = 15 * time.Minute

type dryRunKey struct{}

// WithDryRun marks ctx as a dry run's (see IsDryRun).
func WithDryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

// IsDryRun reports whether ctx is a dry run's: an Inquirer then changes
// nothing at the gateway (Stripe's expiry of a session still open is
// reported, not made).
func IsDryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}
