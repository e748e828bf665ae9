package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// The queue index: the table's one global secondary index, sparse, that
// the reconcile job walks instead of the table. An item is in it only
// while it carries both attributes, so its size (and what reading it
// costs) follows the open orders and the parked references, never the
// orders a shop ever took. template.yaml declares it from these names.
const (
	// QueueIndex is the index's name.
	QueueIndex = "queue"
	// QueueAttr is its partition key (S): which queue an item waits in.
	QueueAttr = "queue"
	// QueueAtAttr is its sort key (N, epoch seconds): for an open order
	// its checkout deadline, for parked events when the oldest still there
	// was parked.
	QueueAtAttr = "queueAt"
)

// The queues, values of QueueAttr. An item has one key in the index, so
// an order waits in one queue at a time; marshalOrder writes the one
// shop.OrderQueue names, so each create and move keeps it true.
//
// The priority: effects still to send (owed, claimed) first, dated by the
// oldest of them, then open, then effects failed. Effects first, because
// an effect left owed must be found whatever the order's status, while an
// open order found in the effects queue is still asked about: reconcile's
// effects sweep, run before the open one, asks about the open orders it
// finds past their deadline (shop.OrderQueue says why none is lost). Open
// before failed, because the open sweep must find every open order, and an
// order that moves on lands in the effects queue with what the move owes,
// and in effects-failed once that is sent.
const (
	// queueOpen holds every order pending or processing with a deadline
	// and no effect still to send, dated by its deadline.
	queueOpen = shop.QueueOpen
	// queueEffects holds every order with an effect still to send, dated
	// by the oldest.
	queueEffects = shop.QueueEffects
	// queueEffectsFailed holds every order not open, with nothing to send
	// and an effect that failed, dated by the oldest failed.
	queueEffectsFailed = shop.QueueEffectsFailed
	// queueParked holds every parked# item with events in it (Park sets
	// it, an Unpark that empties the item removes it).
	queueParked = "parked"
)

// ErrNoQueueIndex is returned by the reconcile queries on a table without
// the queue index: one made by a release before this one, whose stack has
// not been updated yet. Everything else works on such a table.
var ErrNoQueueIndex = errors.New("the table has no global secondary index " + strconv.Quote(QueueIndex) +
	" (a table made before this release lacks it: in AWS, deploy template.yaml, which adds it;" +
	" on DynamoDB Local, which cannot add an index to a table, delete the table to have it made anew)")

// OpenPastDeadline queries the open queue for deadlines before `before`
// (to the second: an order whose deadline falls in before's own second
// waits for the next run). The index projects whole items, so the orders
// come with the query: no second read. What a GSI returns is eventually
// consistent — an order may have moved a moment ago — which is safe
// because reconcile applies what it hears through the evidence path, which
// reads the order again, strongly, and moves it only by a conditional
// write on its status and version.
func (s *Store) OpenPastDeadline(ctx context.Context, before time.Time, limit int, after string) ([]order.Order, string, error) {
	return s.orderQueue(ctx, queueOpen, before.Unix(), limit, after)
}

// EffectsDue queries the effects queue for orders whose oldest effect
// still to send was owed before `before` (to the second). What it lists
// may be a moment old, as OpenPastDeadline's; Dispatch claims each effect
// by a conditional write on the order read again, so a stale listing
// sends nothing twice.
func (s *Store) EffectsDue(ctx context.Context, before time.Time, limit int, after string) ([]order.Order, string, error) {
	return s.orderQueue(ctx, queueEffects, before.Unix(), limit, after)
}

// EffectsFailed queries the effects-failed queue, oldest first.
func (s *Store) EffectsFailed(ctx context.Context, limit int, after string) ([]order.Order, string, error) {
	return s.orderQueue(ctx, queueEffectsFailed, 0, limit, after)
}

// orderQueue reads one page of a queue of orders, whole (the index
// projects all of the item).
func (s *Store) orderQueue(ctx context.Context, q string, before int64, limit int, after string) ([]order.Order, string, error) {
	items, next, err := s.queue(ctx, q, before, limit, after)
	if err != nil {
		return nil, "", err
	}
	orders, err := unmarshalEach(items, unmarshalOrder, nil)
	return orders, next, err
}

// unmarshalEach reads the items a queue returned with unmarshal, keeping
// those keep says to (nil: all).
func unmarshalEach[T any](items []map[string]ddb.AttributeValue, unmarshal func(map[string]ddb.AttributeValue) (*T, error), keep func(*T) bool) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, item := range items {
		v, err := unmarshal(item)
		if err != nil {
			return nil, err
		}
		if keep == nil || keep(v) {
			out = append(out, *v)
		}
	}
	return out, nil
}

// ParkedRefs queries the parked queue, oldest first. Items whose TTL has
// passed (DynamoDB deletes them only eventually) are left out, as Parked
// leaves out their events.
func (s *Store) ParkedRefs(ctx context.Context, limit int, after string) ([]shop.ParkedRef, string, error) {
	items, next, err := s.queue(ctx, queueParked, 0, limit, after)
	if err != nil {
		return nil, "", err
	}
	refs := make([]shop.ParkedRef, 0, len(items))
	for _, item := range items {
		gateway, ref, ok := strings.Cut(strings.TrimPrefix(getS(item, KeyAttr), "parked#"), "#")
		if !ok {
			continue
		}
		refs = append(refs, shop.ParkedRef{Gateway: gateway, Ref: ref, ParkedAt: time.Unix(getN(item, QueueAtAttr), 0).UTC()})
	}
	return refs, next, nil
}

// queue reads one page of a queue, earliest first. For the open and
// effects queues (the orders' and the subscriptions'), before (epoch
// seconds) bounds the sort key; the parked queue is read whole and
// filtered by TTL, the others whole.
//
// It asks for one item more than limit, so that a page that ends the queue
// says so (next == "") instead of sending the caller for an empty page.
func (s *Store) queue(ctx context.Context, q string, before int64, limit int, after string) ([]map[string]ddb.AttributeValue, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("dynamostore: a page of the %s queue must hold at least one item, not %d", q, limit)
	}
	in := &dynamodb.QueryInput{
		TableName:                &s.table,
		IndexName:                aws.String(QueueIndex),
		KeyConditionExpression:   aws.String("#q = :q"),
		ExpressionAttributeNames: map[string]string{"#q": QueueAttr},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":q": str(q),
		},
		ScanIndexForward: aws.Bool(true),
		Limit:            aws.Int32(int32(min(limit, 1<<20) + 1)),
	}
	switch q {
	case queueOpen, queueEffects, queueSubEffects:
		*in.KeyConditionExpression += " AND #at < :before"
		in.ExpressionAttributeNames["#at"] = QueueAtAttr
		in.ExpressionAttributeValues[":before"] = num(before)
	case queueParked:
		in.FilterExpression = aws.String("#exp >= :now")
		in.ExpressionAttributeNames["#exp"] = TTLAttr
		in.ExpressionAttributeValues[":now"] = num(s.now().Unix())
		// Only the key and the times: the events stay on the item until
		// Parked reads them.
		in.ProjectionExpression = aws.String("#pk, #at")
		in.ExpressionAttributeNames["#pk"], in.ExpressionAttributeNames["#at"] = KeyAttr, QueueAtAttr
	}
	if after != "" {
		start, err := decodePage(q, after)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		var api smithy.APIError
		// AWS's words, and DynamoDB Local's. An index still backfilling
		// after a stack update is another ValidationException, passed on
		// with its own words.
		if errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "does not have the specified index") {
			return nil, "", &order.StoreError{Err: fmt.Errorf("query %s: %w", s.table, ErrNoQueueIndex)}
		}
		return nil, "", wrap(err)
	}
	items := out.Items
	if len(items) > limit {
		items = items[:limit]
		return items, encodePage(q, items[limit-1]), nil
	}
	if out.LastEvaluatedKey != nil {
		// Cut short by the 1 MB a query reads at most, or by the filter.
		return items, encodePage(q, out.LastEvaluatedKey), nil
	}
	return items, "", nil
}

// page is where a page of a queue ended: the index's key and the table's,
// which DynamoDB needs to resume, and the queue it belongs to, so a cursor
// of one queue is refused by the other.
type page struct {
	Queue string `json:"q"`
	PK    string `json:"pk"`
	At    int64  `json:"at"`
}

func encodePage(q string, item map[string]ddb.AttributeValue) string {
	b, _ := json.Marshal(page{Queue: q, PK: getS(item, KeyAttr), At: getN(item, QueueAtAttr)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePage(q, cursor string) (map[string]ddb.AttributeValue, error) {
	var p page
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Queue != q || p.PK == "" {
		return nil, fmt.Errorf("dynamostore: %q is not where a page of the %s queue ended", cursor, q)
	}
	return map[string]ddb.AttributeValue{KeyAttr: str(p.PK), QueueAttr: str(p.Queue), QueueAtAttr: num(p.At)}, nil
}
