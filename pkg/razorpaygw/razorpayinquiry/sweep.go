package razorpayinquiry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

const (
	// listCount is the most entities Razorpay lists in one page.
	listCount = 100
	// maxListPages bounds one list in one window; past it, the window is
	// halved.
	maxListPages = 10
	// window is the span of creation times one sweep step lists, and
	// maxWindows how many steps one call takes: a first sweep of three
	// days is one call.
	window     = 24 * time.Hour
	maxWindows = 7
	// settle keeps the sweep this far behind now, so an entity Razorpay
	// is still writing is not stepped over.
	settle = 2 * time.Minute
	// maxWatch bounds the entities watched; past it, the sweep waits for
	// some to end before it steps over more that are not final.
	maxWatch = 2000
	// minRecheck and maxRecheck bound how often a watched entity is read
	// again: an eighth of its age, so the young are read often and the
	// old (a dispute under review for weeks) a few times a day.
	minRecheck = 5 * time.Minute
	maxRecheck = 6 * time.Hour
)

// lists are the entities the sweep lists, in the order an entity made in
// the same second as another is applied: a payment before its refund.
var lists = []struct{ entity, path string }{
	{"payment", "/v1/payments"},
	{"refund", "/v1/refunds"},
	{"dispute", "/v1/disputes"},
}

// watchFor is how long after its creation an entity that is not final is
// read again, at most: a payment is final within Razorpay's 5 days (a late
// authorisation, or the refund of one nobody captured); a pending refund
// within days; a dispute may take months.
var watchFor = map[string]time.Duration{
	"payment": 10 * 24 * time.Hour,
	"refund":  30 * 24 * time.Hour,
	"dispute": 180 * 24 * time.Hour,
}

// sweepCursor is Missed's cursor, as JSON: where the sweep by creation
// time goes on from, and the entities it saw that were not final.
type sweepCursor struct {
	// From is the creation second (unix) the sweep goes on from; Done,
	// the entities made in that second already returned.
	From int64    `json:"from"`
	Done []string `json:"done,omitempty"`
	// Watch are entities not final when last read, read again by id until
	// they are (Razorpay's lists filter by creation only, so a capture,
	// a late authorisation, a refund processed or a dispute decided after
	// the sweep passed is seen only this way).
	Watch []watched `json:"watch,omitempty"`
}

type watched struct {
	ID      string `json:"id"`
	State   string `json:"state"` // the state last returned
	Created int64  `json:"created"`
	Due     int64  `json:"due"` // when to read it again
}

// Missed lists what happened at Razorpay since the cursor ("" starts at
// since), at most limit events, as the webhooks would have said it:
//
//   - first, each watched entity that is due is read again by id (one
//     call each, at most limit), and returned if its state changed;
//   - then payments, refunds and disputes are listed by creation time
//     (GET /v1/payments, /v1/refunds, /v1/disputes with from, to, count
//     and skip, a day at a time, up to settle ago) and returned oldest
//     first. A refund or dispute is wrapped with its payment (read by id
//     unless listed in the same call).
//
// The cursor (JSON) holds the second the sweep goes on from, the ids of
// that second already returned, and the watch: it goes past an entity only
// once its event is returned (or it has none). The lists are asked from a
// second before to a second after the window, whichever way Razorpay
// counts from and to, and what falls outside is left out.
func (q *Inquirer) Missed(ctx context.Context, cur string, since time.Time, limit int) ([]order.Event, string, error) {
	s := &sweep{q: q, now: q.now(), limit: max(limit, 1), payments: map[string]json.RawMessage{}, invoices: map[string]string{}}
	if cur == "" || json.Unmarshal([]byte(cur), &s.c) != nil || s.c.From == 0 {
		// No cursor yet, or one this code cannot read: start again from
		// since. What is returned twice is a duplicate, no more.
		s.c = sweepCursor{From: since.Unix()}
	}
	if err := s.recheck(ctx); err != nil {
		return nil, "", err
	}
	if err := s.forward(ctx); err != nil {
		return nil, "", err
	}
	// In the order recheck reads them, so a call that changed nothing
	// returns the cursor it was given (and the store writes nothing).
	slices.SortFunc(s.c.Watch, func(a, b watched) int { return cmp.Or(cmp.Compare(a.Due, b.Due), strings.Compare(a.ID, b.ID)) })
	next, err := json.Marshal(s.c)
	if err != nil {
		return nil, "", err
	}
	return s.out, string(next), nil
}

// sweep is one call of Missed.
type sweep struct {
	q     *Inquirer
	c     sweepCursor
	now   time.Time
	limit int
	out   []order.Event
	// payments are the payments read in this call, by id: a refund's or
	// dispute's payment is read once.
	payments map[string]json.RawMessage
	// invoices are the subscriptions of the invoices read in this call.
	invoices map[string]string
}

// recheck reads again the watched entities that are due.
func (s *sweep) recheck(ctx context.Context) error {
	keep := s.c.Watch[:0:0]
	reads := 0
	for _, w := range s.c.Watch {
		if w.Due > s.now.Unix() || reads == s.limit || len(s.out) == s.limit {
			keep = append(keep, w)
			continue
		}
		reads++
		e, err := s.read(ctx, w.ID)
		if gone(err) {
			continue // Razorpay has no such entity: nothing to wait for
		}
		if err != nil {
			return err
		}
		r := readingOf(e, s.now)
		if r.state != w.State {
			ev, err := s.event(ctx, e, r, s.now.Unix())
			if err != nil {
				return err
			}
			if ev != nil {
				s.out = append(s.out, *ev)
			}
			w.State = r.state
		}
		if !r.final && s.now.Before(time.Unix(w.Created, 0).Add(watchFor[e.Entity])) {
			w.Due = s.due(w.Created)
			keep = append(keep, w)
		}
	}
	s.c.Watch = keep
	return nil
}

// due is when an entity made at created is next read again.
func (s *sweep) due(created int64) int64 {
	every := min(max(s.now.Sub(time.Unix(created, 0))/8, minRecheck), maxRecheck)
	return s.now.Add(every).Unix()
}

// read reads one entity by id, the kind told by its prefix.
func (s *sweep) read(ctx context.Context, id string) (entity, error) {
	prefix, _, _ := strings.Cut(id, "_")
	path := map[string]string{"pay": "/v1/payments/", "rfnd": "/v1/refunds/", "disp": "/v1/disputes/"}[prefix]
	if path == "" {
		return entity{}, fmt.Errorf("razorpay: cannot read %q again", id)
	}
	var raw json.RawMessage
	if err := s.q.api.get(ctx, "read "+id, path+url.PathEscape(id), nil, &raw); err != nil {
		return entity{}, err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return entity{}, fmt.Errorf("razorpay: read %s: %w", id, err)
	}
	if e.Entity == "payment" {
		s.payments[e.ID] = e.raw
	}
	return e, nil
}

// event is eventOf, with the payment a refund or dispute is wrapped with.
//
// A subscription's charge (a payment Razorpay made on the order it made
// for the subscription's invoice: invoice_id set) is not returned: the
// subscription is read again on every run while it is live
// (WatchSubscription), and its paid invoices give the renewal with its
// billing period, which the payment does not carry. Returned as a
// payment, it would reach the subscription only once its payment is
// indexed, and be parked and shown as "payment without order" until then
// (or for good, for a subscription jampay did not make). A refund or
// dispute of such a charge is returned, naming the subscription Razorpay
// says the invoice is for, so it reaches the subscription as its webhook
// does (razorpayhook reads a payment's subscription_id).
func (s *sweep) event(ctx context.Context, e entity, r reading, at int64) (*order.Event, error) {
	if e.Entity == "payment" && subscriptionCharge(e.raw) {
		return nil, nil
	}
	var payment json.RawMessage
	if r.typ != "" && e.Entity != "payment" {
		if payment = s.payments[e.PaymentID]; payment == nil {
			p, err := s.read(ctx, e.PaymentID)
			if err != nil {
				return nil, err
			}
			payment = p.raw
		}
		var err error
		if payment, err = s.withSubscription(ctx, payment); err != nil {
			return nil, err
		}
	}
	return eventOf(e, r, payment, at)
}

// charge is what a payment says of the subscription it was charged for:
// Razorpay's fields, never its notes (which the browser sets).
type charge struct {
	InvoiceID      string `json:"invoice_id"`
	SubscriptionID string `json:"subscription_id"`
}

// subscriptionCharge reports whether a payment was charged for a
// subscription's invoice.
func subscriptionCharge(payment json.RawMessage) bool {
	var c charge
	_ = json.Unmarshal(payment, &c)
	return c.InvoiceID != "" || strings.HasPrefix(c.SubscriptionID, "sub_")
}

// withSubscription returns the payment naming, in subscription_id, the
// subscription its invoice is for (GET /v1/invoices/{id}, once per call
// per invoice), when it is a subscription's charge that does not name it.
func (s *sweep) withSubscription(ctx context.Context, payment json.RawMessage) (json.RawMessage, error) {
	var c charge
	if json.Unmarshal(payment, &c) != nil || c.InvoiceID == "" || c.SubscriptionID != "" {
		return payment, nil
	}
	sub, ok := s.invoices[c.InvoiceID]
	if !ok {
		var inv struct {
			SubscriptionID string `json:"subscription_id"`
		}
		err := s.q.api.get(ctx, "read "+c.InvoiceID, "/v1/invoices/"+url.PathEscape(c.InvoiceID), nil, &inv)
		if err != nil && !gone(err) {
			return nil, err
		}
		sub = inv.SubscriptionID
		s.invoices[c.InvoiceID] = sub
	}
	if !strings.HasPrefix(sub, "sub_") {
		return payment, nil // an invoice of no subscription: a payment like any other
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payment, &m); err != nil {
		return nil, fmt.Errorf("razorpay: payment: %w", err)
	}
	m["subscription_id"], _ = json.Marshal(sub)
	return json.Marshal(m)
}

// forward sweeps by creation time from the cursor, a window at a time.
func (s *sweep) forward(ctx context.Context) error {
	end := s.now.Add(-settle).Unix()
	for range maxWindows {
		if s.c.From > end || len(s.out) >= s.limit {
			return nil
		}
		lo := s.c.From
		items, hi, err := s.list(ctx, lo, min(lo+int64(window/time.Second)-1, end))
		if err != nil {
			return err
		}
		for _, e := range items {
			if e.CreatedAt == s.c.From && slices.Contains(s.c.Done, e.ID) {
				continue
			}
			r := readingOf(e, s.now)
			if e.Entity == "payment" && subscriptionCharge(e.raw) {
				// Its subscription's own reads report it (see event):
				// nothing to watch.
				r.final = true
			}
			if !r.final && len(s.c.Watch) >= maxWatch {
				s.evictFailed()
			}
			if len(s.out) >= s.limit || !r.final && len(s.c.Watch) >= maxWatch {
				return nil // the cursor stays before e
			}
			ev, err := s.event(ctx, e, r, e.CreatedAt)
			if err != nil {
				return err
			}
			if ev != nil {
				s.out = append(s.out, *ev)
			}
			if !r.final && !slices.ContainsFunc(s.c.Watch, func(w watched) bool { return w.ID == e.ID }) {
				s.c.Watch = append(s.c.Watch, watched{ID: e.ID, State: r.state, Created: e.CreatedAt, Due: s.due(e.CreatedAt)})
			}
			if e.CreatedAt != s.c.From {
				s.c.From, s.c.Done = e.CreatedAt, nil
			}
			s.c.Done = append(s.c.Done, e.ID)
		}
		s.c.From, s.c.Done = hi+1, nil
	}
	return nil
}

// list lists every payment, refund and dispute made from lo to hi
// (seconds, inclusive), oldest first, and the hi it could cover: a window
// with more than maxListPages pages of one kind is halved until it fits.
func (s *sweep) list(ctx context.Context, lo, hi int64) ([]entity, int64, error) {
	for {
		var all []entity
		full := true
		for _, l := range lists {
			items, complete, err := s.listOne(ctx, l.path, lo, hi)
			if err != nil {
				return nil, 0, err
			}
			if !complete {
				full = false
				break
			}
			all = append(all, items...)
		}
		if full {
			rank := func(e entity) int {
				return slices.IndexFunc(lists, func(l struct{ entity, path string }) bool { return l.entity == e.Entity })
			}
			slices.SortStableFunc(all, func(a, b entity) int {
				return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(rank(a), rank(b)), strings.Compare(a.ID, b.ID))
			})
			return all, hi, nil
		}
		if hi == lo {
			return nil, 0, fmt.Errorf("razorpay: more than %d entities made in the second %d", maxListPages*listCount, lo)
		}
		hi = lo + (hi-lo)/2
	}
}

// listOne pages through one list for the window; complete is false when
// it has more than maxListPages pages.
func (s *sweep) listOne(ctx context.Context, path string, lo, hi int64) (items []entity, complete bool, err error) {
	for page := range maxListPages {
		q := url.Values{
			"from":  {strconv.FormatInt(lo-1, 10)},
			"to":    {strconv.FormatInt(hi+1, 10)},
			"count": {strconv.Itoa(listCount)},
			"skip":  {strconv.Itoa(page * listCount)},
		}
		var c collection
		if err := s.q.api.get(ctx, "list "+path, path, q, &c); err != nil {
			return nil, false, err
		}
		got, err := c.entities()
		if err != nil {
			return nil, false, fmt.Errorf("razorpay: list %s: %w", path, err)
		}
		for _, e := range got {
			if e.CreatedAt < lo || e.CreatedAt > hi {
				continue
			}
			if e.Entity == "payment" {
				s.payments[e.ID] = e.raw
			}
			items = append(items, e)
		}
		if len(c.Items) < listCount {
			return items, true, nil
		}
	}
	return nil, false, nil
}

// evictFailed makes room in a full watch by dropping the oldest failed
// payment watched for a late authorisation. A flood of declines (card
// testing, a busy UPI shop) must not fill the watch and stop the sweep, and
// with it every missed refund and dispute; a late authorisation of an open
// order is still found by Inquire, and Razorpay's own webhook reports one.
func (s *sweep) evictFailed() {
	oldest := -1
	for i, w := range s.c.Watch {
		if w.State == "failed" && (oldest < 0 || w.Created < s.c.Watch[oldest].Created) {
			oldest = i
		}
	}
	if oldest >= 0 {
		s.c.Watch = slices.Delete(s.c.Watch, oldest, oldest+1)
	}
}
