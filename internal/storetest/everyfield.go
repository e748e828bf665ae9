package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// The cases here walk every field of what a store keeps by reflection, so
// that a field added to order.Evidence or order.Event that a store does not
// keep fails them.

// nonZero returns a value for a field of type t that is not its zero value,
// or false for a kind these cases do not know yet.
func nonZero(t reflect.Type, clock *Clock) (reflect.Value, bool) {
	v := reflect.New(t).Elem()
	switch {
	case t.Kind() == reflect.Bool:
		v.SetBool(true)
	case t.Kind() == reflect.Int64:
		v.SetInt(7)
	case t.Kind() == reflect.String:
		v.SetString("x_1")
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		// Sorted: stores keep evidence lists as sets.
		v.Set(reflect.MakeSlice(t, 2, 2))
		v.Index(0).SetString("a_1")
		v.Index(1).SetString("b_2")
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		v.Set(reflect.MakeMap(t))
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		k.SetString("dp_1")
		e.SetString(order.DisputeWon)
		v.SetMapIndex(k, e)
	case t == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(clock.Now().Add(-time.Minute)))
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		// A struct behind a pointer (Event.Sub): every field of it set.
		p := reflect.New(t.Elem())
		for i := range t.Elem().NumField() {
			f, ok := nonZero(t.Elem().Field(i).Type, clock)
			if !ok {
				return v, false
			}
			p.Elem().Field(i).Set(f)
		}
		v.Set(p)
	default:
		return v, false
	}
	return v, true
}

// testEvidenceEveryField stores orders whose evidence has one field set,
// then all of them, and reads each back whole.
func testEvidenceEveryField(t *testing.T, s order.Store, clock *Clock) {
	typ := reflect.TypeFor[order.Evidence]()
	var all order.Evidence
	for i := range typ.NumField() + 1 {
		var ev order.Evidence
		name := "every field"
		if i < typ.NumField() {
			f := typ.Field(i)
			val, ok := nonZero(f.Type, clock)
			if !ok {
				t.Fatalf("Evidence.%s is a %s: teach nonZero a value for it, and the stores to keep it", f.Name, f.Type)
			}
			reflect.ValueOf(&ev).Elem().Field(i).Set(val)
			reflect.ValueOf(&all).Elem().Field(i).Set(val)
			name = "Evidence." + f.Name
		} else {
			ev = all
		}
		o := NewOrder(clock)
		o.Evidence = ev
		mustCreate(t, s, o)
		if got := mustGet(t, s, o.ID); !reflect.DeepEqual(got.Evidence, ev) {
			t.Errorf("%s: stored %+v, read back %+v", name, ev, got.Evidence)
		}
		// A move writes the order again: the evidence survives it too.
		m := moveTo(*o, order.Paid)
		if err := s.Move(ctx, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := mustGet(t, s, o.ID); !reflect.DeepEqual(got.Evidence, ev) {
			t.Errorf("%s: after a move, read back %+v", name, got.Evidence)
		}
	}
}

// testParkedEveryField parks an event with every field set and reads it
// back whole.
func testParkedEveryField(t *testing.T, s order.Store, clock *Clock) {
	var e order.Event
	typ := reflect.TypeFor[order.Event]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		val, ok := nonZero(f.Type, clock)
		if !ok {
			t.Fatalf("Event.%s is a %s: teach nonZero a value for it, and the stores to park it", f.Name, f.Type)
		}
		reflect.ValueOf(&e).Elem().Field(i).Set(val)
	}
	e.Gateway, e.ID, e.Kind = "stripe", "evt_every", order.KindRefunded
	if err := s.Park(ctx, "stripe", "pi_every", e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Parked(ctx, "stripe", "pi_every")
	if err != nil || len(got) != 1 {
		t.Fatalf("Parked = %+v, %v", got, err)
	}
	if !got[0].Created.Equal(e.Created) {
		t.Errorf("Created parked as %v, read back %v", e.Created, got[0].Created)
	}
	got[0].Created = e.Created
	if !reflect.DeepEqual(got[0], e) {
		t.Errorf("parked\n %+v\nread back\n %+v", e, got[0])
	}
}

// testHistoryEveryField stores an order whose history holds changes with
// one field set each, then one with all of them, and reads it back whole.
func testHistoryEveryField(t *testing.T, s order.Store, clock *Clock) {
	typ := reflect.TypeFor[order.Change]()
	var h []order.Change
	var all order.Change
	for i := range typ.NumField() {
		f := typ.Field(i)
		val, ok := nonZero(f.Type, clock)
		if !ok {
			t.Fatalf("Change.%s is a %s: teach nonZero a value for it, and the stores to keep it", f.Name, f.Type)
		}
		var c order.Change
		reflect.ValueOf(&c).Elem().Field(i).Set(val)
		reflect.ValueOf(&all).Elem().Field(i).Set(val)
		h = append(h, c)
	}
	h = append(h, all)
	o := NewOrder(clock)
	o.History = h
	mustCreate(t, s, o)
	got := mustGet(t, s, o.ID)
	if len(got.History) != len(h) {
		t.Fatalf("stored %d changes, read back %d: %+v", len(h), len(got.History), got.History)
	}
	for i := range h {
		if !sameChange(got.History[i], h[i]) {
			t.Errorf("change %d: stored %+v, read back %+v", i, h[i], got.History[i])
		}
	}
}
