package notify

import (
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The names dynamostore stores an order or a subscription under: the key
// prefixes, and the outbox list of maps with its version "v", type "t",
// state "s" and claim expiry "until" (RFC 3339), the same for both. The
// stream test reads them from items the store wrote, so a rename there
// fails it.
const (
	keyAttr            = "pk"
	orderPrefix        = "order#"
	subscriptionPrefix = "subscription#"
	outboxAttr         = "outbox"
	// accessRequestPrefix starts an access-link request's key; its
	// emailKey attribute names the address (hashed).
	accessRequestPrefix = "accessreq#"
	emailKeyAttr        = "emailKey"
)

// AccessRequest returns the address key (subscription.EmailKey) of a
// record that is a request for access links, written or written again.
func AccessRequest(r events.DynamoDBEventRecord) (string, bool) {
	pk, ok := stringAttr(r.Change.Keys, keyAttr)
	if !ok || !strings.HasPrefix(pk, accessRequestPrefix) || r.EventName == "REMOVE" {
		return "", false
	}
	return stringAttr(r.Change.NewImage, emailKeyAttr)
}

// The states of an outbox entry (order.EffectOwed, order.EffectClaimed).
const (
	stateOwed    = "owed"
	stateClaimed = "claimed"
)

// Entry is what the handler reads of one outbox entry in a stream image.
type Entry struct {
	Version      string // the "v" number as written: it only identifies
	Type         string
	State        string
	ClaimedUntil time.Time
}

// claimPassed reports whether a claimed entry's claim has passed, as
// Dispatch judges it: another dispatcher may take it over.
func claimPassed(e Entry, now time.Time) bool {
	return !now.Before(e.ClaimedUntil)
}

// ItemID returns the order or subscription a record is about, from its
// key (shop.Service.Dispatch tells the two apart by the id); ok is false
// for the table's other items (event records, references, parked events,
// idempotency keys, counters, plans).
func ItemID(r events.DynamoDBEventRecord) (string, bool) {
	pk, ok := stringAttr(r.Change.Keys, keyAttr)
	if !ok {
		return "", false
	}
	if id, ok := strings.CutPrefix(pk, orderPrefix); ok {
		return id, true
	}
	return strings.CutPrefix(pk, subscriptionPrefix)
}

// Outbox reads the outbox entries of a stream image (NewImage or
// OldImage). An image without one, or a malformed entry, reads as owing
// nothing: items written before there was an outbox have none.
func Outbox(image map[string]events.DynamoDBAttributeValue) []Entry {
	v, ok := image[outboxAttr]
	if !ok || v.DataType() != events.DataTypeList {
		return nil
	}
	var out []Entry
	for _, e := range v.List() {
		if e.DataType() != events.DataTypeMap {
			continue
		}
		m := e.Map()
		var en Entry
		if n, ok := m["v"]; ok && n.DataType() == events.DataTypeNumber {
			en.Version = n.Number()
		}
		en.Type, _ = stringAttr(m, "t")
		en.State, _ = stringAttr(m, "s")
		if s, ok := stringAttr(m, "until"); ok {
			en.ClaimedUntil, _ = time.Parse(time.RFC3339Nano, s)
		}
		out = append(out, en)
	}
	return out
}

// OwesNew reports the order or subscription a record's write owed
// something new to: an
// entry of its new image owed that its old image did not have owed — the
// write that owed it (an event's move, reconcile's, the owner's), or a
// dispatcher handing a failed send back —, or an entry claimed by a
// dispatcher whose claim has passed by now (it died holding it; Dispatch
// takes it over). Not a live claim or a mark of what was already owed, nor
// a write that left an owed effect as it was: one dispatch per owing write
// is enough, and Dispatch's own writes must not set off more dispatches.
func OwesNew(r events.DynamoDBEventRecord, now time.Time) (string, bool) {
	id, ok := ItemID(r)
	if !ok {
		return "", false
	}
	owedBefore := map[[2]string]bool{}
	for _, e := range Outbox(r.Change.OldImage) {
		if e.State == stateOwed {
			owedBefore[[2]string{e.Version, e.Type}] = true
		}
	}
	for _, e := range Outbox(r.Change.NewImage) {
		switch {
		case e.State == stateOwed && !owedBefore[[2]string{e.Version, e.Type}]:
			return id, true
		case e.State == stateClaimed && claimPassed(e, now):
			return id, true
		}
	}
	return "", false
}

// stringAttr reads a string attribute without the panic aws-lambda-go's
// accessors give on another type.
func stringAttr(m map[string]events.DynamoDBAttributeValue, name string) (string, bool) {
	v, ok := m[name]
	if !ok || v.DataType() != events.DataTypeString {
		return "", false
	}
	return v.String(), true
}
