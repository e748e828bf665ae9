package dynamostore

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
)

// marshalOrder maps an order to its item by hand: a dozen plain fields do
// not need a reflection-based encoder in every cold start.
func marshalOrder(o *order.Order) map[string]ddb.AttributeValue {
	items := make([]ddb.AttributeValue, len(o.Items))
	for i, it := range o.Items {
		items[i] = &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{
			"sku": str(it.SKU), "name": str(it.Name), "quantity": num(it.Quantity), "unitAmount": num(it.UnitAmount),
		}}
	}
	ev := o.Evidence
	evidence := map[string]ddb.AttributeValue{
		"processing": boolean(ev.Processing), "paid": boolean(ev.Paid), "paidAmount": num(ev.PaidAmount),
		"paidCurrency": str(ev.PaidCurrency), "mismatch": boolean(ev.Mismatch), "declined": boolean(ev.Declined),
		"failedFinal": boolean(ev.FailedFinal), "expired": boolean(ev.Expired), "refunded": num(ev.Refunded),
	}
	if ev.PaidRef != "" {
		evidence["paidRef"] = str(ev.PaidRef)
	}
	if len(ev.ExtraPayments) > 0 {
		evidence["extraPayments"] = &ddb.AttributeValueMemberSS{Value: ev.ExtraPayments}
	}
	if len(ev.ExtraRefunded) > 0 {
		evidence["extraRefunded"] = &ddb.AttributeValueMemberSS{Value: ev.ExtraRefunded}
	}
	if len(ev.Disputes) > 0 {
		d := make(map[string]ddb.AttributeValue, len(ev.Disputes))
		for k, v := range ev.Disputes {
			d[k] = str(v)
		}
		evidence["disputes"] = &ddb.AttributeValueMemberM{Value: d}
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
		"evidence":  &ddb.AttributeValueMemberM{Value: evidence},
	}
	if !o.Deadline.IsZero() {
		item["deadline"] = timeAttr(o.Deadline)
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
		e := m.Value
		o.Evidence = order.Evidence{
			Processing: getBool(e, "processing"), Paid: getBool(e, "paid"), PaidAmount: getN(e, "paidAmount"),
			PaidCurrency: getS(e, "paidCurrency"), Mismatch: getBool(e, "mismatch"), Declined: getBool(e, "declined"),
			FailedFinal: getBool(e, "failedFinal"), Expired: getBool(e, "expired"), Refunded: getN(e, "refunded"),
			PaidRef: getS(e, "paidRef"), ExtraPayments: getSS(e, "extraPayments"), ExtraRefunded: getSS(e, "extraRefunded"),
		}
		if d, ok := e["disputes"].(*ddb.AttributeValueMemberM); ok {
			o.Evidence.Disputes = make(map[string]string, len(d.Value))
			for k := range d.Value {
				o.Evidence.Disputes[k] = getS(d.Value, k)
			}
		}
	}
	return o, nil
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
