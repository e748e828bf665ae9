package dynamostore

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// marshalOrder maps an order to its item by hand: a dozen plain fields do
// not need a reflection-based encoder in every cold start. Evidence, which
// grows with every new kind of gateway fact, is stored by its tags
// (marshalEvidence).
func marshalOrder(o *order.Order) map[string]ddb.AttributeValue {
	items := make([]ddb.AttributeValue, len(o.Items))
	for i, it := range o.Items {
		items[i] = &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"sku": str(it.SKU), "name": str(it.Name), "quantity": num(it.Quantity), "unitAmount": num(it.UnitAmount),
		}}
	}
	item := map[string]ddb.AttributeValue{
		KeyAttr:     str(orderKey(o.ID)),
		"id":        str(o.ID),
		"gateway":   str(o.Gateway),
		"status":    str(string(o.Status)),
		"version":   num(o.Version),
		"items":     &ddb.AttributeValueMemberL{Value: items},
		"amount":    num(o.Amount),
		"currency":  str(o.Currency),
		"tokenHash": str(o.TokenHash),
		"createdAt": timeAttr(o.CreatedAt),
		"updatedAt": timeAttr(o.UpdatedAt),
		"evidence":  marshalEvidence(&o.Evidence),
	}
	if !o.Deadline.IsZero() {
		item["deadline"] = timeAttr(o.Deadline)
	}
	// The order is in the queue shop.OrderQueue names (open, effects owed,
	// effects failed) exactly while it belongs there: a move writes the
	// whole item, so the move that changes its queue moves it in the index,
	// and the one that leaves every queue drops these.
	if q, at := shop.OrderQueue(o); q != "" {
		item[QueueAttr], item[QueueAtAttr] = str(q), num(at.Unix())
	}
	if len(o.Outbox) > 0 {
		item[outboxAttr] = marshalOutbox(o.Outbox)
	}
	if len(o.History) > 0 {
		item[historyAttr] = marshalHistory(o.History)
	}
	if len(o.Refunds) > 0 {
		item[refundsAttr] = marshalRefunds(o.Refunds)
	}
	if exp := o.ExpiresAt(); !exp.IsZero() {
		// An order that ended expired with no money evidence goes with the
		// table's TTL; a later write that brings money removes this.
		item[TTLAttr] = num(exp.Unix())
	}
	if len(o.PendingReplay) > 0 {
		// A string set, so ClearReplay can DELETE refs from it.
		item["pendingReplay"] = &ddb.AttributeValueMemberSS{Value: o.PendingReplay}
	}
	for name, v := range map[string]string{
		"email": o.Email, "sessionRef": o.SessionRef, "paymentRef": o.PaymentRef, "checkout": o.Checkout,
		"gatewayError": o.GatewayError, "failureReason": o.FailureReason,
	} {
		if v != "" {
			item[name] = str(v)
		}
	}
	return item
}

func unmarshalOrder(item map[string]ddb.AttributeValue) (*order.Order, error) {
	o := &order.Order{
		ID:            getS(item, "id"),
		Gateway:       getS(item, "gateway"),
		Status:        order.Status(getS(item, "status")),
		Version:       getN(item, "version"),
		Amount:        getN(item, "amount"),
		Currency:      getS(item, "currency"),
		Email:         getS(item, "email"),
		TokenHash:     getS(item, "tokenHash"),
		CreatedAt:     getTime(item, "createdAt"),
		UpdatedAt:     getTime(item, "updatedAt"),
		Deadline:      getTime(item, "deadline"),
		SessionRef:    getS(item, "sessionRef"),
		PaymentRef:    getS(item, "paymentRef"),
		Checkout:      getS(item, "checkout"),
		GatewayError:  getS(item, "gatewayError"),
		FailureReason: getS(item, "failureReason"),
	}
	o.PendingReplay = getSS(item, "pendingReplay")
	o.History = unmarshalHistory(item[historyAttr])
	o.Outbox = unmarshalOutbox(item[outboxAttr], o.ID)
	o.Refunds = unmarshalRefunds(item[refundsAttr])
	if !o.Status.Valid() || o.ID == "" {
		return nil, &order.StoreError{Err: fmt.Errorf("stored order %q has no valid status %q", o.ID, o.Status)}
	}
	if l, ok := item["items"].(*ddb.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, _ := v.(*ddb.AttributeValueMemberM)
			if m == nil {
				continue
			}
			o.Items = append(o.Items, order.LineItem{
				SKU: getS(m.Value, "sku"), Name: getS(m.Value, "name"),
				Quantity: getN(m.Value, "quantity"), UnitAmount: getN(m.Value, "unitAmount"),
			})
		}
	}
	if m, ok := item["evidence"].(*ddb.AttributeValueMemberM); ok {
		unmarshalEvidence(m.Value, &o.Evidence)
	}
	return o, nil
}

// historyAttr holds an order's history: a list, oldest first, of maps
// under the short names below (an order may collect dozens of changes, and
// every one is read and written with the order). Items written before
// there was a history have none, and read as no history.
const historyAttr = "history"

func marshalHistory(h []order.Change) ddb.AttributeValue {
	l := make([]ddb.AttributeValue, len(h))
	for i, c := range h {
		m := map[string]ddb.AttributeValue{"at": timeAttr(c.At)}
		for name, v := range map[string]string{
			"id": c.EventID, "type": c.EventType, "src": c.Source, "by": c.Actor, "from": string(c.From), "to": string(c.To),
		} {
			if v != "" {
				m[name] = str(v)
			}
		}
		l[i] = &ddb.AttributeValueMemberM{Value: m}
	}
	return &ddb.AttributeValueMemberL{Value: l}
}

func unmarshalHistory(v ddb.AttributeValue) []order.Change {
	l, _ := v.(*ddb.AttributeValueMemberL)
	if l == nil || len(l.Value) == 0 {
		return nil
	}
	h := make([]order.Change, 0, len(l.Value))
	for _, e := range l.Value {
		m, _ := e.(*ddb.AttributeValueMemberM)
		if m == nil {
			continue
		}
		h = append(h, order.Change{
			At: getTime(m.Value, "at"), EventID: getS(m.Value, "id"), EventType: getS(m.Value, "type"),
			Source: getS(m.Value, "src"), Actor: getS(m.Value, "by"),
			From: order.Status(getS(m.Value, "from")), To: order.Status(getS(m.Value, "to")),
		})
	}
	return h
}

// outboxAttr holds an order's outbox: a list, in version order, of maps
// under the short names below. Items written before there was an outbox
// have none, and read as owing nothing.
const outboxAttr = "outbox"

func marshalOutbox(out []order.Owed) ddb.AttributeValue {
	l := make([]ddb.AttributeValue, len(out))
	for i, o := range out {
		m := map[string]ddb.AttributeValue{
			"v": num(o.Version), "t": str(o.Type), "at": timeAttr(o.OwedAt), "s": str(o.State), "n": num(int64(o.Attempts)),
		}
		if !o.ClaimedUntil.IsZero() {
			m["until"] = timeAttr(o.ClaimedUntil)
		}
		for name, v := range map[string]string{"m": o.Mail, "by": o.Holder, "err": o.LastError} {
			if v != "" {
				m[name] = str(v)
			}
		}
		l[i] = &ddb.AttributeValueMemberM{Value: m}
	}
	return &ddb.AttributeValueMemberL{Value: l}
}

func unmarshalOutbox(v ddb.AttributeValue, orderID string) []order.Owed {
	l, _ := v.(*ddb.AttributeValueMemberL)
	if l == nil || len(l.Value) == 0 {
		return nil
	}
	out := make([]order.Owed, 0, len(l.Value))
	for _, e := range l.Value {
		m, _ := e.(*ddb.AttributeValueMemberM)
		if m == nil {
			continue
		}
		out = append(out, order.Owed{
			Effect: order.Effect{OrderID: orderID, Version: getN(m.Value, "v"), Type: getS(m.Value, "t"),
				Mail: getS(m.Value, "m"), OwedAt: getTime(m.Value, "at")},
			State: getS(m.Value, "s"), Attempts: int(getN(m.Value, "n")), ClaimedUntil: getTime(m.Value, "until"),
			Holder: getS(m.Value, "by"), LastError: getS(m.Value, "err"),
		})
	}
	return out
}

// refundsAttr holds the owner's refund requests: a list, oldest first, of
// maps under the short names below. Items written before there were
// refunds have none, and read as no refunds.
const refundsAttr = "refunds"

func marshalRefunds(rs []order.Refund) ddb.AttributeValue {
	l := make([]ddb.AttributeValue, len(rs))
	for i, r := range rs {
		m := map[string]ddb.AttributeValue{
			"seq": num(int64(r.Seq)), "amt": num(r.Amount), "at": timeAttr(r.At), "before": num(r.RefundedBefore),
		}
		for name, v := range map[string]string{"by": r.Actor, "id": r.RefundID, "refused": r.Refused} {
			if v != "" {
				m[name] = str(v)
			}
		}
		l[i] = &ddb.AttributeValueMemberM{Value: m}
	}
	return &ddb.AttributeValueMemberL{Value: l}
}

func unmarshalRefunds(v ddb.AttributeValue) []order.Refund {
	l, _ := v.(*ddb.AttributeValueMemberL)
	if l == nil || len(l.Value) == 0 {
		return nil
	}
	rs := make([]order.Refund, 0, len(l.Value))
	for _, e := range l.Value {
		m, _ := e.(*ddb.AttributeValueMemberM)
		if m == nil {
			continue
		}
		rs = append(rs, order.Refund{
			Seq: int(getN(m.Value, "seq")), Amount: getN(m.Value, "amt"), At: getTime(m.Value, "at"),
			Actor: getS(m.Value, "by"), RefundedBefore: getN(m.Value, "before"),
			RefundID: getS(m.Value, "id"), Refused: getS(m.Value, "refused"),
		})
	}
	return rs
}

// evidenceAttr is where one field of order.Evidence is stored.
type evidenceAttr struct {
	field int    // index in order.Evidence
	name  string // the attribute in the item's evidence map
}

// evidenceAttrs are read once, from order.Evidence's store tags, so a
// field added there is stored with no line here. A field without a tag, a
// name used twice or a kind this codec does not know is a mistake in the
// program, not in the data: it stops the package from loading, and so
// every test of it.
var evidenceAttrs = func() []evidenceAttr {
	t := reflect.TypeFor[order.Evidence]()
	out := make([]evidenceAttr, 0, t.NumField())
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("store")
		if name == "" || seen[name] || !storable(f.Type) {
			panic(fmt.Sprintf("dynamostore: order.Evidence.%s (%s, tag %q) has no unique store tag or a kind the codec does not know", f.Name, f.Type, name))
		}
		seen[name] = true
		out = append(out, evidenceAttr{i, name})
	}
	return out
}()

// storable reports whether marshalEvidence knows how to keep a field of
// type t: a bool, an int64, a string, a set of strings or a map of
// strings.
func storable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int64, reflect.String:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Map:
		return t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String
	}
	return false
}

// marshalEvidence writes the evidence map: each field under its tag, a
// []string as a string set (evidence lists are sets), and a zero value
// not at all (it reads back as zero, in this release and the previous).
func marshalEvidence(ev *order.Evidence) ddb.AttributeValue {
	v := reflect.ValueOf(ev).Elem()
	m := make(map[string]ddb.AttributeValue, len(evidenceAttrs))
	for _, a := range evidenceAttrs {
		f := v.Field(a.field)
		switch f.Kind() {
		case reflect.Bool:
			if f.Bool() {
				m[a.name] = boolean(true)
			}
		case reflect.Int64:
			if f.Int() != 0 {
				m[a.name] = num(f.Int())
			}
		case reflect.String:
			if f.String() != "" {
				m[a.name] = str(f.String())
			}
		case reflect.Slice:
			// DynamoDB refuses an empty set.
			if f.Len() > 0 {
				ss := make([]string, f.Len())
				for i := range ss {
					ss[i] = f.Index(i).String()
				}
				m[a.name] = &ddb.AttributeValueMemberSS{Value: ss}
			}
		case reflect.Map:
			if f.Len() > 0 {
				d := make(map[string]ddb.AttributeValue, f.Len())
				for it := f.MapRange(); it.Next(); {
					d[it.Key().String()] = str(it.Value().String())
				}
				m[a.name] = &ddb.AttributeValueMemberM{Value: d}
			}
		}
	}
	return &ddb.AttributeValueMemberM{Value: m}
}

// unmarshalEvidence reads the evidence map into ev, which is zero. A
// missing attribute, or one of another type, reads as zero: items written
// by the previous release had no paidRef and no sets.
func unmarshalEvidence(m map[string]ddb.AttributeValue, ev *order.Evidence) {
	v := reflect.ValueOf(ev).Elem()
	for _, a := range evidenceAttrs {
		f := v.Field(a.field)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(getBool(m, a.name))
		case reflect.Int64:
			f.SetInt(getN(m, a.name))
		case reflect.String:
			f.SetString(getS(m, a.name))
		case reflect.Slice:
			if ss := getSS(m, a.name); len(ss) > 0 {
				s := reflect.MakeSlice(f.Type(), len(ss), len(ss))
				for i, x := range ss {
					s.Index(i).SetString(x)
				}
				f.Set(s)
			}
		case reflect.Map:
			if d, ok := m[a.name].(*ddb.AttributeValueMemberM); ok && len(d.Value) > 0 {
				mv := reflect.MakeMapWithSize(f.Type(), len(d.Value))
				for k := range d.Value {
					key, val := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
					key.SetString(k)
					val.SetString(getS(d.Value, k))
					mv.SetMapIndex(key, val)
				}
				f.Set(mv)
			}
		}
	}
}

func getS(item map[string]ddb.AttributeValue, name string) string {
	if v, ok := item[name].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getSS reads a string set, sorted: DynamoDB keeps no order in a set.
func getSS(item map[string]ddb.AttributeValue, name string) []string {
	v, _ := item[name].(*ddb.AttributeValueMemberSS)
	if v == nil || len(v.Value) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(v.Value))
}

func getN(item map[string]ddb.AttributeValue, name string) int64 {
	if v, ok := item[name].(*ddb.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getBool(item map[string]ddb.AttributeValue, name string) bool {
	v, ok := item[name].(*ddb.AttributeValueMemberBOOL)
	return ok && v.Value
}

func getTime(item map[string]ddb.AttributeValue, name string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, getS(item, name))
	if err != nil {
		return time.Time{}
	}
	return t
}
