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
	if limit < 1 {
		return nil, "", fmt.Errorf("dynamostore: a page of orders must hold at least one, not %d", limit)
	}
	in := listInput(s.table, f)
	if after != "" {
		start, err := decodeListPage(after)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	// Limit counts the items a request reads, not those the filter keeps:
	// a page of limit orders takes a few requests (the table holds event
	// records, references and keys besides orders). When a request keeps
	// more orders than the page has room for, the page ends at the last
	// one it takes, and the next page reads the rest of that request again:
	// at most limit items read twice per page.
	in.Limit = aws.Int32(int32(min(limit, 1<<20)))
	var orders []order.Order
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return nil, "", wrap(err)
		}
		for i, item := range out.Items {
			o, err := unmarshalOrder(item)
			if err != nil {
				return nil, "", err
			}
			if !chooses(f, *o) {
				continue
			}
			orders = append(orders, *o)
			if len(orders) == limit && (i < len(out.Items)-1 || out.LastEvaluatedKey != nil) {
				sortNewestFirst(orders)
				return orders, encodeListPage(item), nil
			}
		}
		if out.LastEvaluatedKey == nil {
			sortNewestFirst(orders)
			return orders, "", nil
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

func sortNewestFirst(orders []order.Order) {
	slices.SortFunc(orders, func(a, b order.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// listPage is where a page of the listing ended: the key the Scan goes on
// after (any item's: the Scan walks the whole table). It is tagged so a
// queue's cursor is refused here, and this one there.
type listPage struct {
	Scan string `json:"scan"`
	PK   string `json:"pk"`
}

func encodeListPage(item map[string]ddb.AttributeValue) string {
	b, _ := json.Marshal(listPage{Scan: "orders", PK: getS(item, KeyAttr)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeListPage(cursor string) (map[string]ddb.AttributeValue, error) {
	var p listPage
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Scan != "orders" || p.PK == "" {
		return nil, fmt.Errorf("dynamostore: %q is not where a page of orders ended", cursor)
	}
	return key(p.PK), nil
}
