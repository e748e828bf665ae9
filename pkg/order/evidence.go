package order

import "reflect"

// Evidence is what verified gateway events have established about an
// order's money. It only ever grows, and the status is derived from it, so
// applying the same events in any order, any number of times, ends in the
// same status.
//
// This struct is the one list of evidence. Equality and copying walk its
// fields, and each tag names the attribute a store keeps the field under
// (a name once stored never changes), so a new field is one line here. The
// stores know these kinds: bool, int64, string, []string (a set, kept
// sorted), map[string]string.
type Evidence struct {
	Processing   bool   `store:"processing"`   // a payment is under way (async method, authorized)
	Paid         bool   `store:"paid"`         // the gateway says the money was taken
	PaidAmount   int64  `store:"paidAmount"`   // what the gateway said it took
	PaidCurrency string `store:"paidCurrency"` //
	Mismatch     bool   `store:"mismatch"`     // some event's amount or currency differed from the order's
	Declined     bool   `store:"declined"`     // an attempt failed; the customer may retry
	FailedFinal  bool   `store:"failedFinal"`  // the payment failed for good (an async method failed)
	Expired      bool   `store:"expired"`      // the checkout expired unpaid
	Refunded     int64  `store:"refunded"`     // the largest cumulative refunded amount reported
	// Disputes maps a dispute id to DisputeOpen, DisputeWon or DisputeLost.
	Disputes map[string]string `store:"disputes"`
	// PaidRef is the gateway's id of the payment that paid the order.
	PaidRef string `store:"paidRef"`
	// ExtraPayments are other captured payments on an order already paid:
	// a double charge the owner should refund.
	ExtraPayments []string `store:"extraPayments"`
	// ExtraRefunded are payments other than PaidRef refunded in full: a
	// double charge put right.
	ExtraRefunded []string `store:"extraRefunded"`
}

// Dispute states in Evidence.Disputes.
const (
	DisputeOpen = "open"
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// money reports whether the gateways ever said money moved for the order.
func (ev Evidence) money() bool {
	return ev.Paid || len(ev.Disputes) > 0 || ev.Refunded > 0 || ev.Mismatch || len(ev.ExtraPayments) > 0
}

func (ev Evidence) dispute(state string) bool {
	for _, s := range ev.Disputes {
		if s == state {
			return true
		}
	}
	return false
}

// ranking is the one ranking of statuses by evidence, for an order of
// amount: the status is the first row whose condition holds. derive reads
// it to pick the status, and Apply to leave out evidence that can no longer
// decide it (couldStillBe).
var ranking = []struct {
	status Status
	holds  func(ev Evidence, amount int64) bool
}{
	{Refunded, func(ev Evidence, amount int64) bool {
		return ev.dispute(DisputeLost) || (ev.Refunded > 0 && ev.Refunded >= amount)
	}},
	{Disputed, func(ev Evidence, _ int64) bool { return ev.dispute(DisputeOpen) }},
	{PartiallyRefunded, func(ev Evidence, _ int64) bool { return ev.Refunded > 0 }},
	{AmountMismatch, func(ev Evidence, _ int64) bool { return ev.Mismatch }},
	// A dispute, even one already closed, is the gateway's word that the
	// money was taken: a customer can only dispute a charge.
	{Paid, func(ev Evidence, _ int64) bool { return ev.Paid || len(ev.Disputes) > 0 }},
	{Failed, func(ev Evidence, _ int64) bool { return ev.FailedFinal }},
	{Processing, func(ev Evidence, _ int64) bool { return ev.Processing }},
	{Expired, func(ev Evidence, _ int64) bool { return ev.Expired }},
	// A decline (ev.Declined) leaves the order open: the customer may try
	// again on the same checkout (invariant 11).
	{Pending, func(Evidence, int64) bool { return true }},
}

// derive is the status the evidence amounts to for an order of amount.
func (ev Evidence) derive(amount int64) Status {
	for _, r := range ranking {
		if r.holds(ev, amount) {
			return r.status
		}
	}
	return Pending // not reached: the last row always holds
}

// couldStillBe reports whether evidence for status s could still decide
// the status: no row above s's holds. For the statuses of an open checkout
// (processing, expired, pending) the rows above them hold on money or a
// final failure, which evidence never loses: once one holds it always
// will, so that evidence is not worth a write.
func (ev Evidence) couldStillBe(s Status, amount int64) bool {
	return rank(ev.derive(amount)) >= rank(s)
}

// rank is s's row in ranking.
func rank(s Status) int {
	for i, r := range ranking {
		if r.status == s {
			return i
		}
	}
	return len(ranking)
}

// refFields are the indexes of Evidence's fields that hold a map or a
// slice: the ones a copy must not share.
var refFields = func() []int {
	var out []int
	t := reflect.TypeFor[Evidence]()
	for i := range t.NumField() {
		if k := t.Field(i).Type.Kind(); k == reflect.Map || k == reflect.Slice {
			out = append(out, i)
		}
	}
	return out
}()

// equal reports whether ev and o record the same evidence. An empty map
// or slice is the same as none: a store reads either back as none.
func (ev Evidence) equal(o Evidence) bool {
	a, b := reflect.ValueOf(&ev).Elem(), reflect.ValueOf(&o).Elem()
	for i := range a.NumField() {
		if !same(a.Field(i), b.Field(i)) {
			return false
		}
	}
	return true
}

// same is reflect.DeepEqual for the kinds a store keeps in Evidence (see
// its comment), except that an empty map or slice is the same as a nil
// one. Unlike DeepEqual it moves nothing to the heap: equal runs for every
// event applied.
func same(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Slice:
		if a.Type().Elem().Kind() != reflect.String {
			break
		}
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if a.Index(i).String() != b.Index(i).String() {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Type().Elem().Kind() != reflect.String {
			break
		}
		if a.Len() != b.Len() {
			return false
		}
		// MapKeys, not MapRange: a MapIter would move the Evidence to
		// the heap even when it holds no map.
		for _, k := range a.MapKeys() {
			if bv := b.MapIndex(k); !bv.IsValid() || a.MapIndex(k).String() != bv.String() {
				return false
			}
		}
		return true
	}
	// The test of every Evidence field gets here first.
	panic("order: equal cannot compare a " + a.Type().String() + " in Evidence")
}

// clone returns a copy of ev that shares no map or slice with it.
func (ev Evidence) clone() Evidence {
	v := reflect.ValueOf(&ev).Elem()
	for _, i := range refFields {
		if !v.Field(i).IsNil() {
			// Most orders have no dispute and no second payment: only
			// those pay for a deep copy (and its allocation).
			return deepClone(ev)
		}
	}
	return ev
}

// deepClone is clone's slow path, apart so that only it moves its copy to
// the heap.
func deepClone(ev Evidence) Evidence {
	v := reflect.ValueOf(&ev).Elem()
	for _, i := range refFields {
		v.Field(i).Set(deepCopy(v.Field(i)))
	}
	return ev
}

// deepCopy copies maps and slices, and what they hold, all the way down;
// other values are copied by assignment.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	}
	return v
}
