package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// Subscriptions live in the orders' table with the orders' discipline:
// their own items (subscription#<id>), the same event records (event#…),
// the same references (ref#<gateway>#<ref>, whose orderId holds an order's
// id or a subscription's, so a reference belongs to one of them for good),
// and the same queue index, under a partition of their own.

var (
	_ subscription.Store     = (*Store)(nil)
	_ subscription.PlanStore = (*Store)(nil)
)

func subscriptionKey(id string) string { return "subscription#" + id }
func planKey(gateway, k string) string { return "plan#" + gateway + "#" + k }

// queueOpenSubs holds every subscription not in a final status, dated by
// its checkout deadline (its creation if it has none), which no later move
// changes: pages of it survive moves. Reconcile walks it for the pending
// ones past their deadline, and for the live ones it re-reads (Razorpay)
// or owes a trial-ending notice.
const queueOpenSubs = "opensub"

// subscriptionQueue says which queue s waits in and its date there, or ""
// for none: marshalSubscription writes it, so every create and move keeps
// the index true.
func subscriptionQueue(s *subscription.Subscription) (string, time.Time) {
	if s.Status.Final() {
		return finalSubscriptionQueue(s)
	}
	if s.Deadline.IsZero() {
		return queueOpenSubs, s.CreatedAt
	}
	return queueOpenSubs, s.Deadline
}

func (s *Store) CreateSubscription(ctx context.Context, sub *subscription.Subscription) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                marshalSubscription(sub),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return order.ErrConflict
	}
	return wrap(err)
}

func (s *Store) GetSubscription(ctx context.Context, id string) (*subscription.Subscription, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(subscriptionKey(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err)
	}
	if out.Item == nil {
		return nil, order.ErrNotFound
	}
	return unmarshalSubscription(out.Item)
}

// GetSubscriptionForEvent reads the subscription and the event's record in
// one BatchGetItem, strongly consistent, as GetForEvent does an order.
func (s *Store) GetSubscriptionForEvent(ctx context.Context, id, gateway, eventID string) (*subscription.Subscription, bool, error) {
	item, seen, err := s.getForEvent(ctx, subscriptionKey(id), gateway, eventID)
	if err != nil || item == nil {
		return nil, seen, err
	}
	sub, err := unmarshalSubscription(item)
	if err != nil {
		return nil, false, err
	}
	return sub, seen, nil
}

// FindSubscriptionByRef finds the subscription a reference is indexed to;
// one that belongs to an order is an *order.ElsewhereError naming it.
func (s *Store) FindSubscriptionByRef(ctx context.Context, gateway, ref string) (*subscription.Subscription, error) {
	id, err := s.refOwner(ctx, gateway, ref)
	if err != nil {
		return nil, err
	}
	if order.ValidID(id) {
		return nil, &order.ElsewhereError{ID: id}
	}
	return s.GetSubscription(ctx, id)
}

// MoveSubscription writes m as Move writes an order's move: conditional on
// the status and version read, with the event's record and the references
// in the same transaction.
func (s *Store) MoveSubscription(ctx context.Context, m subscription.Move) error {
	if err := subscription.CheckMove(m); err != nil {
		return err
	}
	return s.move(ctx, write{
		item: marshalSubscription(&m.Next), from: string(m.From), fromVersion: m.FromVersion,
		event: m.Event, gateway: m.Next.Gateway, id: m.Next.ID, refs: m.Refs,
	})
}

// ClearSubscriptionReplay deletes refs from the subscription's
// pendingReplay set, leaving the version alone (see order.Store's
// ClearReplay).
func (s *Store) ClearSubscriptionReplay(ctx context.Context, id string, refs []string) error {
	return s.clearReplay(ctx, subscriptionKey(id), refs)
}

// Plan reads the plan id stored under key.
func (s *Store) Plan(ctx context.Context, gateway, k string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(planKey(gateway, k)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", wrap(err)
	}
	id := getS(out.Item, "planId")
	if id == "" {
		return "", order.ErrNotFound
	}
	return id, nil
}

// PutPlan stores planID under key unless a plan is stored there already,
// in one conditional put; when one is, the failed condition brings it back
// (no second request), and it is the one returned.
func (s *Store) PutPlan(ctx context.Context, gateway, k, planID string) (string, error) {
	if planID == "" {
		return "", fmt.Errorf("dynamostore: no plan id to store under %s %q", gateway, k)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]ddb.AttributeValue{
			KeyAttr: str(planKey(gateway, k)), "planId": str(planID), "createdAt": timeAttr(s.now()),
		},
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if stored := getS(ccf.Item, "planId"); stored != "" {
			return stored, nil
		}
		// A store that does not send the item back with the failure: read it.
		return s.Plan(ctx, gateway, k)
	}
	if err != nil {
		return "", wrap(err)
	}
	return planID, nil
}

// OpenSubscriptions queries the open-subscriptions queue: every
// subscription not in a final status, earliest deadline first, at most
// limit a page (paged like OpenPastDeadline). What the index returns may
// be a moment old; reconcile applies what it learns through the evidence
// path, which reads the subscription again and moves it only by a
// conditional write.
func (s *Store) OpenSubscriptions(ctx context.Context, limit int, after string) ([]subscription.Subscription, string, error) {
	items, next, err := s.queue(ctx, queueOpenSubs, 0, limit, after)
	if err != nil {
		return nil, "", err
	}
	subs, err := unmarshalEach(items, unmarshalSubscription, nil)
	return subs, next, err
}

// ListSubscriptions lists the subscriptions in status ("" for any) for the
// owner's `jampay subscriptions`: a paginated Scan filtered to the
// subscription# items, as ListOrders lists orders (its cost follows the
// table; no request path lists). Each page is newest first, at most limit
// long; next is "" once the Scan has reached the end of the table.
func (s *Store) ListSubscriptions(ctx context.Context, status subscription.Status, limit int, after string) ([]subscription.Subscription, string, error) {
	in := &dynamodb.ScanInput{
		TableName:                 &s.table,
		FilterExpression:          aws.String("begins_with(#pk, :sub)"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyAttr},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":sub": str(subscriptionKey(""))},
	}
	if status != "" {
		*in.FilterExpression += " AND #status = :status"
		in.ExpressionAttributeNames["#status"], in.ExpressionAttributeValues[":status"] = "status", str(string(status))
	}
	return scanList(ctx, s, subscriptionsScan, in, limit, after, func(item map[string]ddb.AttributeValue) (*subscription.Subscription, bool, error) {
		sub, err := unmarshalSubscription(item)
		return sub, true, err
	}, func(sub subscription.Subscription) (time.Time, string) { return sub.CreatedAt, sub.ID })
}
