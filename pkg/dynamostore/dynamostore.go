// Package dynamostore keeps jampay's orders and subscriptions in one
// DynamoDB table. Every change is a conditional write: an order or a
// subscription moves only from the status and version it was read at, an
// event is recorded only once, and a move and the record of the event that
// caused it are written in one transaction. What the reconcile job walks
// (open orders and subscriptions, parked events) is found through the
// table's one index, never a Scan (queue.go).
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// The table's attributes that are not an order's own fields.
const (
	// KeyAttr is the table's only key: a string partition key.
	KeyAttr = "pk"
	// TTLAttr is the table's time-to-live attribute (epoch seconds), set on
	// event records and idempotency keys, never on orders.
	TTLAttr = "expiresAt"
)

// Client is the part of *dynamodb.Client the store uses.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	// Query reads the queue index only (queue.go).
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	// Scan serves BackfillOpenQueue, run once after the upgrade that
	// brought the queue index, and the owner's ListOrders (jampay orders):
	// no request path scans.
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Store is an order.Store on one DynamoDB table.
type Store struct {
	client Client
	table  string
	now    func() time.Time
}

var (
	_ order.Store         = (*Store)(nil)
	_ shop.ReconcileStore = (*Store)(nil)
)

// New returns a store on table through client; now is the clock expiry is
// judged by.
func New(client Client, table string, now func() time.Time) *Store {
	return &Store{client: client, table: table, now: now}
}

func orderKey(id string) string            { return "order#" + id }
func eventKey(gateway, id string) string   { return "event#" + gateway + "#" + id }
func refKey(gateway, ref string) string    { return "ref#" + gateway + "#" + ref }
func idempotencyKey(keyHash string) string { return "idem#" + keyHash }
func key(pk string) map[string]ddb.AttributeValue {
	return map[string]ddb.AttributeValue{KeyAttr: str(pk)}
}

// notExpired is true for an item absent or whose TTL has passed: DynamoDB
// deletes expired items only eventually, so an expired record must not
// block a new one.
const absentOrExpired = "attribute_not_exists(pk) OR expiresAt < :now"

func (s *Store) CreateOrder(ctx context.Context, o *order.Order) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                marshalOrder(o),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return order.ErrConflict
	}
	return wrap(err)
}

func (s *Store) GetOrder(ctx context.Context, id string) (*order.Order, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(orderKey(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err)
	}
	if out.Item == nil {
		return nil, order.ErrNotFound
	}
	return unmarshalOrder(out.Item)
}

// GetForEvent reads the order and the event's record in one BatchGetItem,
// strongly consistent.
func (s *Store) GetForEvent(ctx context.Context, orderID, gateway, eventID string) (*order.Order, bool, error) {
	item, seen, err := s.getForEvent(ctx, orderKey(orderID), gateway, eventID)
	if err != nil || item == nil {
		return nil, seen, err
	}
	o, err := unmarshalOrder(item)
	if err != nil {
		return nil, false, err
	}
	return o, seen, nil
}

// getForEvent reads the item under pk (nil if there is none) and whether
// the event is recorded, in one BatchGetItem, strongly consistent: what
// GetForEvent and GetSubscriptionForEvent share.
func (s *Store) getForEvent(ctx context.Context, pk, gateway, eventID string) (map[string]ddb.AttributeValue, bool, error) {
	want := []map[string]ddb.AttributeValue{key(pk), key(eventKey(gateway, eventID))}
	var found map[string]ddb.AttributeValue
	seen := false
	for attempt := 0; len(want) > 0; attempt++ {
		if attempt == 5 {
			return nil, false, &order.StoreError{Err: fmt.Errorf("BatchGetItem left keys unprocessed 5 times")}
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]ddb.KeysAndAttributes{s.table: {Keys: want, ConsistentRead: aws.Bool(true)}},
		})
		if err != nil {
			return nil, false, wrap(err)
		}
		for _, item := range out.Responses[s.table] {
			if getS(item, KeyAttr) == pk {
				found = item
			} else if getN(item, TTLAttr) >= s.now().Unix() {
				seen = true
			}
		}
		want = out.UnprocessedKeys[s.table].Keys
	}
	return found, seen, nil
}

// FindByRef finds the order a reference is indexed to. References are
// shared with subscriptions: one that belongs to a subscription is an
// *order.ElsewhereError naming it.
func (s *Store) FindByRef(ctx context.Context, gateway, ref string) (*order.Order, error) {
	id, err := s.refOwner(ctx, gateway, ref)
	if err != nil {
		return nil, err
	}
	if !order.ValidID(id) {
		return nil, &order.ElsewhereError{ID: id}
	}
	return s.GetOrder(ctx, id)
}

// refOwner reads the id of the order or subscription a reference is
// indexed to; order.ErrNotFound if it is indexed to none.
func (s *Store) refOwner(ctx context.Context, gateway, ref string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(refKey(gateway, ref)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", wrap(err)
	}
	id := getS(out.Item, "orderId")
	if id == "" {
		return "", order.ErrNotFound
	}
	return id, nil
}

func (s *Store) Move(ctx context.Context, m order.Move) error {
	if err := order.CheckMove(m); err != nil {
		return err
	}
	return s.move(ctx, write{
		item: marshalOrder(&m.Next), from: string(m.From), fromVersion: m.FromVersion,
		event: m.Event, gateway: m.Next.Gateway, id: m.Next.ID, refs: m.Refs,
	})
}

// write is one conditional write of an order or a subscription, already
// checked against its kind's move table: its whole new item, the status
// and version it must find, and what is written with it.
type write struct {
	item        map[string]ddb.AttributeValue
	from        string
	fromVersion int64
	event       *order.EventRecord
	gateway, id string
	refs        []string
}

// move stores w: orders and subscriptions move the same way, and share the
// event records and the references.
func (s *Store) move(ctx context.Context, w write) error {
	put := &ddb.Put{
		TableName:           &s.table,
		Item:                w.item,
		ConditionExpression: aws.String("#status = :from AND #version = :version"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#version": "version",
		},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":from": str(w.from), ":version": num(w.fromVersion),
		},
	}
	if w.event == nil && len(w.refs) == 0 {
		// One item: a conditional put is enough, and costs half a transaction.
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
		})
		if isConditionFailed(err) {
			return order.ErrConflict
		}
		return wrap(err)
	}
	// The move and the record of the event that caused it are one
	// transaction: an event is never marked processed unless its move is
	// stored, and a move is never stored twice for one event.
	items := []ddb.TransactWriteItem{{Put: put}}
	if w.event != nil {
		items = append(items, ddb.TransactWriteItem{Put: &ddb.Put{
			TableName:                 &s.table,
			Item:                      marshalEvent(*w.event),
			ConditionExpression:       aws.String(absentOrExpired),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":now": num(s.now().Unix())},
		}})
	}
	for _, ref := range w.refs {
		items = append(items, ddb.TransactWriteItem{Put: &ddb.Put{
			TableName: &s.table,
			// orderId holds an order's id or a subscription's: the two
			// share the references' namespace.
			Item: map[string]ddb.AttributeValue{
				KeyAttr: str(refKey(w.gateway, ref)), "orderId": str(w.id),
			},
			// A gateway reference belongs to one order or subscription,
			// for good.
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR orderId = :id"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":id": str(w.id)},
		}})
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *ddb.TransactionCanceledException
	if errors.As(err, &canceled) {
		reasons := canceled.CancellationReasons
		failed := func(i int) bool { return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed" }
		firstRef := 1
		if w.event != nil {
			if failed(1) {
				return order.ErrDuplicateEvent
			}
			firstRef = 2
		}
		if !failed(0) {
			for i := firstRef; i < len(items); i++ {
				if failed(i) {
					return order.ErrRefTaken
				}
			}
		}
		for _, r := range reasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed", "TransactionConflict":
				// Lost to a concurrent writer: the caller reads and retries.
				return order.ErrConflict
			}
		}
	}
	return wrap(err)
}

func (s *Store) RecordEvent(ctx context.Context, r order.EventRecord) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      marshalEvent(r),
		ConditionExpression:       aws.String(absentOrExpired),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":now": num(s.now().Unix())},
	})
	if isConditionFailed(err) {
		return order.ErrDuplicateEvent
	}
	return wrap(err)
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, r order.IdempotencyRecord) (*order.IdempotencyRecord, error) {
	item := map[string]ddb.AttributeValue{
		KeyAttr:       str(idempotencyKey(r.KeyHash)),
		"requestHash": str(r.RequestHash),
		"orderId":     str(r.OrderID),
		"createdAt":   timeAttr(r.CreatedAt),
		TTLAttr:       num(r.ExpiresAt.Unix()),
	}
	if len(r.SealedToken) > 0 {
		item["sealedToken"] = &ddb.AttributeValueMemberB{Value: r.SealedToken}
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                item,
		ConditionExpression:                 aws.String(absentOrExpired),
		ExpressionAttributeValues:           map[string]ddb.AttributeValue{":now": num(s.now().Unix())},
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// The stored record comes back with the failure: no second request.
		// (Records of earlier releases hold no sealed token: nil.)
		sealed, _ := ccf.Item["sealedToken"].(*ddb.AttributeValueMemberB)
		old := &order.IdempotencyRecord{
			KeyHash:     r.KeyHash,
			RequestHash: getS(ccf.Item, "requestHash"),
			OrderID:     getS(ccf.Item, "orderId"),
			CreatedAt:   getTime(ccf.Item, "createdAt"),
			ExpiresAt:   time.Unix(getN(ccf.Item, TTLAttr), 0),
		}
		if sealed != nil {
			old.SealedToken = sealed.Value
		}
		return old, order.ErrIdempotencyKeyExists
	}
	return nil, wrap(err)
}

func marshalEvent(r order.EventRecord) map[string]ddb.AttributeValue {
	item := map[string]ddb.AttributeValue{
		KeyAttr:       str(eventKey(r.Gateway, r.ID)),
		"type":        str(r.Type),
		"payloadHash": str(r.PayloadHash),
		"receivedAt":  timeAttr(r.ReceivedAt),
		TTLAttr:       num(r.ExpiresAt.Unix()),
	}
	if r.OrderID != "" {
		item["orderId"] = str(r.OrderID)
	}
	if !r.ProcessedAt.IsZero() {
		item["processedAt"] = timeAttr(r.ProcessedAt)
	}
	return item
}

func isConditionFailed(err error) bool {
	var ccf *ddb.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// wrap marks every other DynamoDB failure as the storage system's, so the
// handlers answer 5xx and the gateway retries.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return &order.StoreError{Err: err}
}

func str(s string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: s} }
func num(n int64) ddb.AttributeValue {
	return &ddb.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func boolean(b bool) ddb.AttributeValue {
	return &ddb.AttributeValueMemberBOOL{Value: b}
}
func timeAttr(t time.Time) ddb.AttributeValue {
	return str(t.UTC().Format(time.RFC3339Nano))
}
