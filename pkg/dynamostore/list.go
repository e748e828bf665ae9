package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

var _ shop.OrderLister = (*Store)(nil)

// ListOrders lists the orders f chooses for the owner's occasional look
// (`jampay orders`): a paginated Scan of the table with a filter on the
// order# key prefix, the status, the gateway and the creation time. Its
// cost follows the table, not what it returns — a filter saves nothing
// read, only what is sent back — which is why no request path lists: the
// reconcile job finds what it needs through the queue index (queue.go).
// The reads are eventually consistent (half the price of strong ones): an
// order that moved a moment ago may show its status before the move.
//
// Each page is newest first; across pages the order is the Scan's (by the
// hash of the key), so a caller that wants the newest orders of all reads
// every page. A page holds at most limit orders; next is "" once the Scan
// has reached the end of the table, which may take one more, empty, page.
func (s *Store) ListOrders(ctx context.Context, f shop.OrderFilter, limit int, after string) ([]order.Order, string, error) {
	return scanList(ctx, s, ordersScan, listInput(s.table, f), limit, after, func(item map[string]ddb.AttributeValue) (*order.Order, bool, error) {
		o, err := unmarshalOrder(item)
		return o, err == nil && chooses(f, *o), err
	}, func(o order.Order) (time.Time, string) { return o.CreatedAt, o.ID })
}

// scanList reads one page of an owner's listing (ListOrders,
// ListSubscriptions) by the Scan in, tagging its cursor with scan (the
// plural of what it lists). decode reads an item and says whether the
// listing keeps it; created is what a page is sorted by, newest first.
func scanList[T any](ctx context.Context, s *Store, scan string, in *dynamodb.ScanInput, limit int, after string,
	decode func(map[string]ddb.AttributeValue) (*T, bool, error), created func(T) (time.Time, string)) ([]T, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("dynamostore: a page of %s must hold at least one, not %d", scan, limit)
	}
	if after != "" {
		start, err := decodeListPage(scan, after)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	// Limit counts the items a request reads, not those the filter keeps:
	// a page of limit items takes a few requests (the table holds event
	// records, references and keys besides orders and subscriptions).
	// When a request keeps more than the page has room for, the page ends
	// at the last one it takes, and the next page reads the rest of that
	// request again: at most limit items read twice per page.
	in.Limit = aws.Int32(int32(min(limit, 1<<20)))
	var list []T
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return nil, "", wrap(err)
		}
		for i, item := range out.Items {
			v, keep, err := decode(item)
			if err != nil {
				return nil, "", err
			}
			if !keep {
				continue
			}
			list = append(list, *v)
			if len(list) == limit && (i < len(out.Items)-1 || out.LastEvaluatedKey != nil) {
				sortNewestFirst(list, created)
				return list, encodeListPage(scan, item), nil
			}
		}
		if out.LastEvaluatedKey == nil {
			sortNewestFirst(list, created)
			return list, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// listInput is the Scan of the orders f chooses. The creation time is
// stored as RFC 3339 text with as many fractional digits as it needs, which
// sorts as text only to the second ("…:05Z" sorts after "…:05.5Z"): the
// filter bounds it by whole seconds, on the side that keeps more, and
// chooses cuts exactly.
func listInput(table string, f shop.OrderFilter) *dynamodb.ScanInput {
	cond := []string{"begins_with(#pk, :order)"}
	names := map[string]string{"#pk": KeyAttr}
	values := map[string]ddb.AttributeValue{":order": str(orderKey(""))}
	if f.Status != "" {
		cond = append(cond, "#status = :status")
		names["#status"], values[":status"] = "status", str(string(f.Status))
	}
	if f.Gateway != "" {
		cond = append(cond, "#gateway = :gateway")
		names["#gateway"], values[":gateway"] = "gateway", str(f.Gateway)
	}
	if !f.Since.IsZero() {
		// Every time in Since's second or after is this text or longer.
		cond = append(cond, "#created >= :since")
		names["#created"], values[":since"] = "createdAt", str(secondText(f.Since.UTC().Truncate(time.Second)))
	}
	if !f.Until.IsZero() {
		// Every time before Until's second, rounded up, sorts before it.
		up := f.Until.UTC().Truncate(time.Second)
		if up.Before(f.Until) {
			up = up.Add(time.Second)
		}
		cond = append(cond, "#created < :until")
		names["#created"], values[":until"] = "createdAt", str(secondText(up))
	}
	return &dynamodb.ScanInput{
		TableName:                 &table,
		FilterExpression:          aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

// secondText is t to the second, without a zone: a prefix of every
// createdAt stored within that second.
func secondText(t time.Time) string { return t.Format("2006-01-02T15:04:05") }

// chooses reports whether f chooses o, as the in-memory store's does:
// Since is inclusive, Until exclusive.
func chooses(f shop.OrderFilter, o order.Order) bool {
	return (f.Status == "" || o.Status == f.Status) &&
		(f.Gateway == "" || o.Gateway == f.Gateway) &&
		(f.Since.IsZero() || !o.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || o.CreatedAt.Before(f.Until))
}

// sortNewestFirst sorts by creation time, newest first, and between two
// made in the same instant the larger id first, so pages sort alike.
func sortNewestFirst[T any](list []T, created func(T) (time.Time, string)) {
	slices.SortFunc(list, func(a, b T) int {
		at, aid := created(a)
		bt, bid := created(b)
		if c := bt.Compare(at); c != 0 {
			return c
		}
		return strings.Compare(bid, aid)
	})
}

// The listings' cursor tags (listPage), so each refuses the other's.
const (
	ordersScan        = "orders"
	subscriptionsScan = "subscriptions"
)

// listPage is where a page of a listing ended: the key the Scan goes on
// after (any item's: the Scan walks the whole table). It is tagged with
// the listing, so a queue's cursor or the other listing's is refused
// here, and this one there.
type listPage struct {
	Scan string `json:"scan"`
	PK   string `json:"pk"`
}

func encodeListPage(scan string, item map[string]ddb.AttributeValue) string {
	b, _ := json.Marshal(listPage{Scan: scan, PK: getS(item, KeyAttr)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeListPage(scan, cursor string) (map[string]ddb.AttributeValue, error) {
	var p listPage
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Scan != scan || p.PK == "" {
		return nil, fmt.Errorf("dynamostore: %q is not where a page of %s ended", cursor, scan)
	}
	return key(p.PK), nil
}
