package dynamostore

import (
	"fmt"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// marshalSubscription maps a subscription to its item by hand, as
// marshalOrder does an order. The history, the outbox and the pending
// replays are stored as an order's are (marshalHistory, marshalOutbox).
// The conformance suite's every-field case fails when a field of
// subscription.Subscription, Evidence, Snapshot or Renewal is not kept.
func marshalSubscription(s *subscription.Subscription) map[string]ddb.AttributeValue {
	item := map[string]ddb.AttributeValue{
		KeyAttr:         str(subscriptionKey(s.ID)),
		"id":            str(s.ID),
		"gateway":       str(s.Gateway),
		"status":        str(string(s.Status)),
		"version":       num(s.Version),
		"sku":           str(s.SKU),
		"name":          str(s.Name),
		"quantity":      num(s.Quantity),
		"unitAmount":    num(s.UnitAmount),
		"amount":        num(s.Amount),
		"currency":      str(s.Currency),
		"interval":      str(s.Interval),
		"intervalCount": num(s.IntervalCount),
		"trialDays":     num(s.TrialDays),
		"totalCount":    num(s.TotalCount),
		"tokenHash":     str(s.TokenHash),
		"createdAt":     timeAttr(s.CreatedAt),
		"updatedAt":     timeAttr(s.UpdatedAt),
		"evidence":      marshalSubEvidence(&s.Evidence),
	}
	if !s.Deadline.IsZero() {
		item["deadline"] = timeAttr(s.Deadline)
	}
	if len(s.AccessTokenHashes) > 0 {
		// A list: the order is which link came first.
		l := make([]ddb.AttributeValue, len(s.AccessTokenHashes))
		for i, h := range s.AccessTokenHashes {
			l[i] = str(h)
		}
		item["accessTokenHashes"] = &ddb.AttributeValueMemberL{Value: l}
	}
	if !s.LinkSentAt.IsZero() {
		item["linkSentAt"] = timeAttr(s.LinkSentAt)
	}
	// A subscription not yet final waits in the open-subscriptions queue;
	// a final one waits only while it still owes an effect (the
	// subscription-effects queues), and a move writes the whole item, so
	// the move that ends its wait takes it out of the index.
	if q, at := subscriptionQueue(s); q != "" {
		item[QueueAttr], item[QueueAtAttr] = str(q), num(at.Unix())
	}
	if len(s.Outbox) > 0 {
		item[outboxAttr] = marshalOutbox(s.Outbox)
	}
	if len(s.History) > 0 {
		item[historyAttr] = marshalHistory(s.History)
	}
	if exp := subscriptionExpiresAt(s); !exp.IsZero() {
		item[TTLAttr] = num(exp.Unix())
	}
	if len(s.PendingReplay) > 0 {
		// A string set, so ClearSubscriptionReplay can DELETE refs from it.
		item["pendingReplay"] = &ddb.AttributeValueMemberSS{Value: s.PendingReplay}
	}
	for name, v := range map[string]string{
		"email": s.Email, "sessionRef": s.SessionRef, "subscriptionRef": s.SubscriptionRef, "planRef": s.PlanRef,
		"customer": s.Customer, "checkout": s.Checkout, "gatewayError": s.GatewayError, "paymentLink": s.PaymentLink,
	} {
		if v != "" {
			item[name] = str(v)
		}
	}
	return item
}

// subscriptionExpiresAt is when the table's TTL may delete s: as for an
// order (order.Order.ExpiresAt), ExpiredRetention after it ended expired
// with no payment; a subscription anyone ever paid for never expires.
func subscriptionExpiresAt(s *subscription.Subscription) time.Time {
	if s.Status != subscription.Expired || len(s.Evidence.Renewals) > 0 {
		return time.Time{}
	}
	return s.UpdatedAt.Add(order.ExpiredRetention)
}

func unmarshalSubscription(item map[string]ddb.AttributeValue) (*subscription.Subscription, error) {
	s := &subscription.Subscription{
		ID:              getS(item, "id"),
		Gateway:         getS(item, "gateway"),
		Status:          subscription.Status(getS(item, "status")),
		Version:         getN(item, "version"),
		SKU:             getS(item, "sku"),
		Name:            getS(item, "name"),
		Quantity:        getN(item, "quantity"),
		UnitAmount:      getN(item, "unitAmount"),
		Amount:          getN(item, "amount"),
		Currency:        getS(item, "currency"),
		Interval:        getS(item, "interval"),
		IntervalCount:   getN(item, "intervalCount"),
		TrialDays:       getN(item, "trialDays"),
		TotalCount:      getN(item, "totalCount"),
		Email:           getS(item, "email"),
		TokenHash:       getS(item, "tokenHash"),
		LinkSentAt:      getTime(item, "linkSentAt"),
		CreatedAt:       getTime(item, "createdAt"),
		UpdatedAt:       getTime(item, "updatedAt"),
		Deadline:        getTime(item, "deadline"),
		SessionRef:      getS(item, "sessionRef"),
		SubscriptionRef: getS(item, "subscriptionRef"),
		PlanRef:         getS(item, "planRef"),
		Customer:        getS(item, "customer"),
		PaymentLink:     getS(item, "paymentLink"),
		Checkout:        getS(item, "checkout"),
		GatewayError:    getS(item, "gatewayError"),
	}
	if !s.Status.Valid() || s.ID == "" {
		return nil, &order.StoreError{Err: fmt.Errorf("stored subscription %q has no valid status %q", s.ID, s.Status)}
	}
	s.PendingReplay = getSS(item, "pendingReplay")
	if l, ok := item["accessTokenHashes"].(*ddb.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if h, ok := v.(*ddb.AttributeValueMemberS); ok {
				s.AccessTokenHashes = append(s.AccessTokenHashes, h.Value)
			}
		}
	}
	s.History = unmarshalHistory(item[historyAttr])
	s.Outbox = unmarshalOutbox(item[outboxAttr], s.ID)
	if m, ok := item["evidence"].(*ddb.AttributeValueMemberM); ok {
		s.Evidence = unmarshalSubEvidence(m.Value)
	}
	return s, nil
}

// marshalSubEvidence writes a subscription's evidence as a map under the
// short names below, a zero value not at all. The snapshot is a map of its
// own, the renewals a list of maps (sorted by Ref, as the domain keeps
// them), the mismatched renewals a list of their refs: lists keep exactly
// the order written.
func marshalSubEvidence(ev *subscription.Evidence) ddb.AttributeValue {
	m := map[string]ddb.AttributeValue{}
	for name, v := range map[string]bool{"completed": ev.Completed, "expired": ev.Expired, "canceled": ev.Canceled, "ended": ev.Ended, "cancelScheduled": ev.CancelScheduled} {
		if v {
			m[name] = boolean(true)
		}
	}
	for name, v := range map[string]int64{"periodEnd": ev.PeriodEnd, "trialEnding": ev.TrialEnding, "failureAt": ev.FailureAt} {
		if v != 0 {
			m[name] = num(v)
		}
	}
	if ev.FailureReason != "" {
		m["failureReason"] = str(ev.FailureReason)
	}
	if snap := ev.Snapshot; snap != (subscription.Snapshot{}) {
		sm := map[string]ddb.AttributeValue{"at": num(snap.At), "trialEnd": num(snap.TrialEnd)}
		if snap.Status != "" {
			sm["status"] = str(string(snap.Status))
		}
		if snap.CancelAtPeriodEnd {
			sm["cape"] = boolean(true)
		}
		m["snap"] = &ddb.AttributeValueMemberM{Value: sm}
	}
	if len(ev.Renewals) > 0 {
		l := make([]ddb.AttributeValue, len(ev.Renewals))
		for i, r := range ev.Renewals {
			rm := map[string]ddb.AttributeValue{
				"ref": str(r.Ref), "amt": num(r.Amount), "cur": str(r.Currency),
				"ps": num(r.PeriodStart), "pe": num(r.PeriodEnd), "at": num(r.At),
			}
			if r.First {
				rm["first"] = boolean(true)
			}
			if r.Payment != "" {
				rm["pay"] = str(r.Payment)
			}
			l[i] = &ddb.AttributeValueMemberM{Value: rm}
		}
		m["renewals"] = &ddb.AttributeValueMemberL{Value: l}
	}
	for name, set := range map[string][]string{"mismatched": ev.Mismatched, "refunded": ev.Refunded, "disputed": ev.Disputed} {
		if len(set) > 0 {
			l := make([]ddb.AttributeValue, len(set))
			for i, ref := range set {
				l[i] = str(ref)
			}
			m[name] = &ddb.AttributeValueMemberL{Value: l}
		}
	}
	return &ddb.AttributeValueMemberM{Value: m}
}

func unmarshalSubEvidence(m map[string]ddb.AttributeValue) subscription.Evidence {
	ev := subscription.Evidence{
		Completed: getBool(m, "completed"), Expired: getBool(m, "expired"), Canceled: getBool(m, "canceled"), Ended: getBool(m, "ended"),
		CancelScheduled: getBool(m, "cancelScheduled"),
		PeriodEnd:       getN(m, "periodEnd"), TrialEnding: getN(m, "trialEnding"),
		FailureAt: getN(m, "failureAt"), FailureReason: getS(m, "failureReason"),
	}
	if sm, ok := m["snap"].(*ddb.AttributeValueMemberM); ok {
		ev.Snapshot = subscription.Snapshot{
			At: getN(sm.Value, "at"), Status: subscription.Status(getS(sm.Value, "status")),
			TrialEnd: getN(sm.Value, "trialEnd"), CancelAtPeriodEnd: getBool(sm.Value, "cape"),
		}
	}
	if l, ok := m["renewals"].(*ddb.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			rm, _ := v.(*ddb.AttributeValueMemberM)
			if rm == nil {
				continue
			}
			ev.Renewals = append(ev.Renewals, subscription.Renewal{
				Ref: getS(rm.Value, "ref"), Amount: getN(rm.Value, "amt"), Currency: getS(rm.Value, "cur"),
				PeriodStart: getN(rm.Value, "ps"), PeriodEnd: getN(rm.Value, "pe"), At: getN(rm.Value, "at"),
				First: getBool(rm.Value, "first"), Payment: getS(rm.Value, "pay"),
			})
		}
	}
	for name, set := range map[string]*[]string{"mismatched": &ev.Mismatched, "refunded": &ev.Refunded, "disputed": &ev.Disputed} {
		if l, ok := m[name].(*ddb.AttributeValueMemberL); ok {
			for _, v := range l.Value {
				if sv, ok := v.(*ddb.AttributeValueMemberS); ok {
					*set = append(*set, sv.Value)
				}
			}
		}
	}
	return ev
}
