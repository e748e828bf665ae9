package stripeinquiry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/form"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/stripehook"
)

// EventsGap is the type of the event Missed returns when Stripe no longer
// has the cursor's event; its Ignore says what may have been lost.
const EventsGap = "jampay.events_gap"

const (
	// pageSize is the most events Stripe lists in one page.
	pageSize = 100
	// maxSweepPages bounds a sweep by creation time: 10,000 events.
	maxSweepPages = 100
	// maxTypes is the most types[] Stripe's events list takes.
	maxTypes = 20
)

// objectPaths is where each object the events of stripehook.Events carry
// is read again by id (a test holds every row of the table to it).
var objectPaths = map[string]string{
	"checkout.session": "/v1/checkout/sessions/",
	"payment_intent":   "/v1/payment_intents/",
	"charge":           "/v1/charges/",
	"dispute":          "/v1/disputes/",
	"subscription":     "/v1/subscriptions/",
	"invoice":          "/v1/invoices/",
}

// A Missed cursor is "evt_…@created": the newest event returned, and when
// Stripe made it; or "@created" while a sweep by creation time has found
// none yet. The time is where a sweep starts once the event is past
// Stripe's 30 days of events.
type cursor struct {
	event string
	at    int64
}

func parseCursor(s string) cursor {
	id, at, _ := strings.Cut(s, "@")
	n, _ := strconv.ParseInt(at, 10, 64)
	return cursor{event: id, at: n}
}

func (c cursor) String() string {
	if c.at == 0 {
		return c.event
	}
	return c.event + "@" + strconv.FormatInt(c.at, 10)
}

// Missed lists, oldest first, the events of the types jampay handles that
// Stripe made after the cursor (since, with none), at most limit. Stripe
// lists newest first: the page nearest the cursor comes with
// ending_before, and is turned round. Each event is read for its id, type,
// creation, mode and object id only (its object is in the API version it
// was made with): the object is read again at the pinned version, wrapped
// as the event and decoded, and keeps the event's own evt_ id, so the
// webhook of the same event is a duplicate. One call per page of events,
// one per object. The cursor returned is the newest event read, handled or
// not; with an error, nothing is returned and the cursor stays.
//
// Stripe keeps events 30 days. When the cursor's event is gone, Missed
// sweeps by creation time from the cursor's time, and the events it
// returns begin with one of type EventsGap whose Ignore says so: it is
// recorded (once: its id is the lost cursor's) and moves nothing.
func (q *Inquirer) Missed(ctx context.Context, cur string, since time.Time, limit int) ([]order.Event, string, error) {
	if limit <= 0 {
		limit = pageSize
	}
	c := parseCursor(cur)
	from := since
	if c.at > 0 {
		from = time.Unix(c.at, 0)
	}
	var out []order.Event
	var heads []eventHead
	var err error
	if c.event != "" {
		heads, err = q.after(ctx, c.event, limit)
		if cursorGone(err) {
			out = append(out, gap(c.event, from))
			c = cursor{at: from.Unix()}
			heads, err = q.since(ctx, from, limit-1)
		}
	} else {
		heads, err = q.since(ctx, from, limit)
	}
	if err != nil {
		return nil, "", err
	}
	objects := map[string][]byte{}
	for _, h := range heads {
		e, ok, err := q.replay(ctx, h, objects)
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, e)
		}
		c = cursor{h.ID, h.Created}
	}
	return out, c.String(), nil
}

// gap is the flag Missed raises when the cursor's event is gone.
func gap(event string, from time.Time) order.Event {
	return order.Event{Gateway: gateway, ID: "recon_gap_" + event, Type: EventsGap, Kind: order.KindIgnored,
		Source: order.SourceReconcile, Created: from.UTC(),
		Ignore: "Stripe no longer has event " + event + " (it keeps events 30 days): missed events were swept by creation time from " +
			from.UTC().Format(time.RFC3339) + "; any older than Stripe's oldest are lost, check the Dashboard"}
}

// eventHead is what Missed reads of a listed event.
type eventHead struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	} `json:"data"`
}

type eventPage struct {
	stripe.APIResource
	HasMore bool        `json:"has_more"`
	Data    []eventHead `json:"data"`
}

// after lists up to n events made after evt, oldest first.
func (q *Inquirer) after(ctx context.Context, evt string, n int) ([]eventHead, error) {
	var out []eventHead
	for len(out) < n {
		p := q.listParams(ctx, min(pageSize, n-len(out)))
		p.EndingBefore = stripe.String(evt)
		page, err := q.list(ctx, p)
		if err != nil {
			return nil, err
		}
		slices.Reverse(page.Data)
		out = append(out, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		evt = page.Data[len(page.Data)-1].ID
	}
	return out, nil
}

// since lists the n oldest events made since from, oldest first. Stripe
// lists newest first, so every page down to the oldest is read; the cursor
// it leads to makes the next call one page.
func (q *Inquirer) since(ctx context.Context, from time.Time, n int) ([]eventHead, error) {
	if n <= 0 {
		return nil, nil
	}
	var oldest []eventHead // newest first
	after := ""
	for pages := 0; ; pages++ {
		if pages == maxSweepPages {
			return nil, fmt.Errorf("stripe: more than %d events since %s to sweep", maxSweepPages*pageSize, from.UTC().Format(time.RFC3339))
		}
		p := q.listParams(ctx, pageSize)
		p.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: from.Unix()}
		if after != "" {
			p.StartingAfter = stripe.String(after)
		}
		page, err := q.list(ctx, p)
		if err != nil {
			return nil, err
		}
		oldest = append(oldest, page.Data...)
		if len(oldest) > n {
			oldest = slices.Clone(oldest[len(oldest)-n:])
		}
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	slices.Reverse(oldest)
	return oldest, nil
}

func (q *Inquirer) listParams(ctx context.Context, limit int) *stripe.EventListParams {
	p := &stripe.EventListParams{}
	p.Context = ctx
	p.Limit = stripe.Int64(int64(limit))
	if types := stripehook.Types(); len(types) <= maxTypes {
		// Only the types jampay handles. Past Stripe's limit of 20, all
		// of them: replay passes over the others.
		p.Types = stripe.StringSlice(types)
	}
	return p
}

func (q *Inquirer) list(ctx context.Context, p *stripe.EventListParams) (*eventPage, error) {
	// As stripe-go's own list iterator calls it: Call wants a Metadata
	// field that list parameters do not have.
	values := &form.Values{}
	form.AppendTo(values, p)
	var page *eventPage
	err := q.call(ctx, "list events", func() error {
		page = &eventPage{}
		return q.b.CallRaw(http.MethodGet, "/v1/events", q.key, values, p.GetParams(), page)
	})
	return page, err
}

// replay turns a listed event into what its webhook would have made of
// it, from its object read again (once per object per call); ok is false
// for a type jampay does not handle.
func (q *Inquirer) replay(ctx context.Context, h eventHead, objects map[string][]byte) (e order.Event, ok bool, err error) {
	et, handled := stripehook.Lookup(h.Type)
	if !handled {
		return order.Event{}, false, nil
	}
	id := h.Data.Object.ID
	obj, read := objects[id]
	if !read {
		if obj, err = q.object(ctx, et.Object, id); gone(err) {
			// Stripe has no such object (test data deleted, say): there
			// is nothing to wait for, and the event is passed, recorded.
			return order.Event{Gateway: gateway, ID: h.ID, Type: h.Type, Kind: order.KindIgnored, Source: order.SourceReconcile,
				Created: time.Unix(h.Created, 0).UTC(), Ignore: "Stripe has no " + et.Object + " " + id + " to read"}, true, nil
		}
		if err != nil {
			return order.Event{}, false, err
		}
		objects[id] = obj
	}
	e, err = decodeAs(h.ID, h.Type, h.Created, h.Livemode, obj)
	return e, err == nil, err
}

// raw keeps an answer's body as Stripe sent it.
type raw struct{ stripe.APIResource }

// object reads an object by id at the pinned API version.
func (q *Inquirer) object(ctx context.Context, typ, id string) ([]byte, error) {
	path, ok := objectPaths[typ]
	if !ok {
		return nil, fmt.Errorf("stripe: no way to read a %s again (objectPaths)", typ)
	}
	if id == "" {
		return nil, fmt.Errorf("stripe: an event names a %s without its id", typ)
	}
	p := &stripe.Params{Context: ctx}
	var r *raw
	err := q.call(ctx, "retrieve "+typ+" "+id, func() error {
		r = &raw{}
		return q.b.Call(http.MethodGet, path+url.PathEscape(id), q.key, p, r)
	})
	if err != nil {
		return nil, err
	}
	return r.LastResponse.RawJSON, nil
}
