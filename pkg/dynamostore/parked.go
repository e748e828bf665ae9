package dynamostore

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
)

func parkedKey(gateway, ref string) string { return "parked#" + gateway + "#" + ref }

// parkedPrefix starts the name of each parked event's attribute on the
// reference's item: one attribute per event id, so parking an event twice
// keeps it once and one applied event is removed without touching others.
const parkedPrefix = "ev#"

// legacyParked is the list the previous release appended parked events to.
const legacyParked = "events"

// parkSeq counts the parks of an item: an Unpark that empties the item
// takes it out of the parked queue only if no park came in between.
const parkSeq = "parkSeq"

// Park sets e's attribute on the reference's item, in one UpdateItem, and
// pushes the item's expiry out to EventRetention from now. It puts the
// item in the parked queue (queue.go), dated by the first park of the
// events now there: a later park keeps that date.
func (s *Store) Park(ctx context.Context, gateway, ref string, e order.Event) error {
	b, err := json.Marshal(parkedEntry{V: parkedVersion, parkedV1: parkedV1(e)})
	if err != nil {
		return err
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              key(parkedKey(gateway, ref)),
		UpdateExpression: aws.String("SET #e = :e, expiresAt = :exp, #q = :q, #at = if_not_exists(#at, :now) ADD #seq :one"),
		ExpressionAttributeNames: map[string]string{
			"#e": parkedPrefix + e.ID, "#q": QueueAttr, "#at": QueueAtAttr, "#seq": parkSeq,
		},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":e":   str(string(b)),
			":exp": num(s.now().Add(order.EventRetention).Unix()),
			":q":   str(queueParked),
			":now": num(s.now().Unix()),
			":one": num(1),
		},
	})
	return wrap(err)
}

// Parked reads the events kept under the reference. Events the previous
// release parked in a list are moved to their own attributes first, so
// Unpark can remove them one by one.
func (s *Store) Parked(ctx context.Context, gateway, ref string) ([]order.Event, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(parkedKey(gateway, ref)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err)
	}
	if out.Item == nil || getN(out.Item, TTLAttr) < s.now().Unix() {
		return nil, nil
	}
	// An entry that does not decode can never be applied: it is left to
	// expire with the item rather than block the replay of the others.
	var events []order.Event
	for name, v := range out.Item {
		if e, ok := decodeParked(v); ok && strings.HasPrefix(name, parkedPrefix) {
			events = append(events, e)
		}
	}
	if list, ok := out.Item[legacyParked].(*ddb.AttributeValueMemberL); ok {
		// The previous release appended every delivery: keep each event
		// once (two SETs of one attribute would be refused).
		legacy, raw := make([]order.Event, 0, len(list.Value)), make([]ddb.AttributeValue, 0, len(list.Value))
		for _, v := range list.Value {
			if e, ok := decodeParked(v); ok && !slices.ContainsFunc(legacy, func(l order.Event) bool { return l.ID == e.ID }) {
				legacy, raw = append(legacy, e), append(raw, v)
			}
		}
		if err := s.migrateParked(ctx, gateway, ref, len(list.Value), raw, legacy); err != nil {
			return nil, err
		}
		events = append(events, legacy...)
	}
	// Attributes come back in no order: replay them in the order the
	// gateway made them.
	slices.SortFunc(events, func(a, b order.Event) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return events, nil
}

// migrateParked moves a legacy list of parked events (n entries long) to
// one attribute per event, if the list is still the one read.
func (s *Store) migrateParked(ctx context.Context, gateway, ref string, n int, raw []ddb.AttributeValue, events []order.Event) error {
	names := map[string]string{"#l": legacyParked}
	values := map[string]ddb.AttributeValue{":n": num(int64(n))}
	sets := make([]string, 0, len(events))
	for i, e := range events {
		n := strconv.Itoa(i)
		names["#e"+n], values[":e"+n] = parkedPrefix+e.ID, raw[i]
		sets = append(sets, "#e"+n+" = :e"+n)
	}
	update := "REMOVE #l"
	if len(sets) > 0 {
		update = "SET " + strings.Join(sets, ", ") + " " + update
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(parkedKey(gateway, ref)),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("size(#l) = :n"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		// The list changed under us (an older release still parking): the
		// next read migrates it.
		return nil
	}
	return wrap(err)
}

// parkedVersion is the shape Park writes: parkedV1.
const parkedVersion = 1

// parkedEntry is one parked event as stored: {"v":1,"gateway":…,"id":…}.
type parkedEntry struct {
	V int `json:"v"`
	parkedV1
}

// parkedV1 is order.Event under the names version 1 stores it by. It has
// order.Event's fields, in its order and of its types, so each converts to
// the other (a conversion ignores tags), and a field added to or renamed
// in order.Event stops this package from compiling until it is given a
// name here. A stored name never changes: to drop or retype a field, write
// a version 2 and keep reading this one.
//
// Releases before this one parked json.Marshal(order.Event) untagged: the
// same fields under their Go names, which encoding/json matches to these
// tags regardless of case. Such an entry has no "v".
type parkedV1 struct {
	Gateway     string     `json:"gateway"`
	ID          string     `json:"id"`
	Type        string     `json:"type,omitzero"`
	Kind        order.Kind `json:"kind"`
	Source      string     `json:"source,omitzero"`
	Actor       string     `json:"actor,omitzero"`
	Ignore      string     `json:"ignore,omitzero"`
	OrderID     string     `json:"orderId,omitzero"`
	Refs        []string   `json:"refs,omitzero"`
	SessionRef  string     `json:"sessionRef,omitzero"`
	PaymentRef  string     `json:"paymentRef,omitzero"`
	Amount      int64      `json:"amount,omitzero"`
	Currency    string     `json:"currency,omitzero"`
	Refunded    int64      `json:"refunded,omitzero"`
	Reason      string     `json:"reason,omitzero"`
	Dispute     string     `json:"dispute,omitzero"`
	PayloadHash string     `json:"payloadHash,omitzero"`
	Created     time.Time  `json:"created,omitzero"`
	// Sub came with subscriptions; entries parked before have none, which
	// is what an order event has.
	Sub *order.SubFacts `json:"sub,omitzero"`
}

// decodeParked reads a parked entry of version 1, or one without a version
// (parked before there were versions). An entry of a version this release
// does not know, like one that does not decode, is not an event it can
// apply.
func decodeParked(v ddb.AttributeValue) (order.Event, bool) {
	sv, _ := v.(*ddb.AttributeValueMemberS)
	var p parkedEntry
	if sv == nil || json.Unmarshal([]byte(sv.Value), &p) != nil || (p.V != 0 && p.V != parkedVersion) || p.ID == "" {
		return order.Event{}, false
	}
	return order.Event(p.parkedV1), true
}

// Unpark removes applied events' attributes from the reference's item.
// When that leaves no event there, a second UpdateItem takes the item out
// of the parked queue, if nothing was parked since. The empty item is not
// deleted: a condition on parkSeq cannot see a park by the previous
// release (which has no parkSeq) during a deploy, and a delete would lose
// that event, where a stale queue entry costs one idle retry at most. It
// holds three attributes and goes with its TTL.
func (s *Store) Unpark(ctx context.Context, gateway, ref string, eventIDs []string) error {
	if len(eventIDs) == 0 {
		return nil
	}
	names := make(map[string]string, len(eventIDs))
	removes := make([]string, 0, len(eventIDs))
	for i, id := range eventIDs {
		n := "#e" + strconv.Itoa(i)
		names[n] = parkedPrefix + id
		removes = append(removes, n)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(parkedKey(gateway, ref)),
		UpdateExpression:         aws.String("REMOVE " + strings.Join(removes, ", ")),
		ExpressionAttributeNames: names,
		// Removing from an item that is gone must not create one.
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ReturnValues:        ddb.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return wrap(err)
	}
	left := out.Attributes
	if _, queued := left[QueueAttr]; !queued {
		return nil
	}
	for name := range left {
		if strings.HasPrefix(name, parkedPrefix) || name == legacyParked {
			return nil
		}
	}
	// Nothing parked since is what the condition checks: every park by
	// this release counts in parkSeq, and every park, by any release,
	// moves expiresAt (unless it came within the same second). A queued
	// item has both: only this release queues, and it writes them together.
	seq, exp := left[parkSeq], left[TTLAttr]
	if seq == nil || exp == nil {
		return nil
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(parkedKey(gateway, ref)),
		UpdateExpression:          aws.String("REMOVE #q, #at"),
		ConditionExpression:       aws.String("#seq = :seq AND expiresAt = :exp"),
		ExpressionAttributeNames:  map[string]string{"#q": QueueAttr, "#at": QueueAtAttr, "#seq": parkSeq},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":seq": seq, ":exp": exp},
	})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err)
}

// ClearReplay deletes refs from the order's pendingReplay set. It leaves
// the version alone: see order.Store.
func (s *Store) ClearReplay(ctx context.Context, orderID string, refs []string) error {
	return s.clearReplay(ctx, orderKey(orderID), refs)
}

// clearReplay deletes refs from the pendingReplay set of the order or
// subscription under pk, if it is there.
func (s *Store) clearReplay(ctx context.Context, pk string, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(pk),
		UpdateExpression:          aws.String("DELETE pendingReplay :refs"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":refs": &ddb.AttributeValueMemberSS{Value: refs}},
	})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err)
}
