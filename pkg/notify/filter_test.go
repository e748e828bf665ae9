package notify_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/jampay/jampay/pkg/notify"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// matches reports whether event matches pattern as Lambda's event
// filtering (EventBridge's content filtering) decides: every field the
// pattern names is in the event; an object recurses; an array lists
// rules, one of which the value (or, for an array value, one of its
// elements) must meet. Only the rules the template uses are known —
// literals, prefix, exists —: another fails the test, rather than being
// guessed at.
func matches(t *testing.T, pattern, event map[string]any) bool {
	t.Helper()
	for k, p := range pattern {
		v, present := event[k]
		switch p := p.(type) {
		case map[string]any:
			if !present {
				// An absent object: only rules that an absent field meets
				// ({"exists": false}) can pass.
				v = map[string]any{}
			}
			if !anyElement(v, func(e any) bool {
				m, ok := e.(map[string]any)
				return ok && matches(t, p, m)
			}) {
				return false
			}
		case []any:
			ok := false
			for _, rule := range p {
				if meets(t, rule, v, present) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		default:
			t.Fatalf("pattern field %q is %T: a pattern's leaves are arrays of rules", k, p)
		}
	}
	return true
}

// meets reports whether the value v (present or not) meets one rule.
func meets(t *testing.T, rule, v any, present bool) bool {
	t.Helper()
	if r, ok := rule.(map[string]any); ok {
		if len(r) != 1 {
			t.Fatalf("rule %v: one operator per rule", r)
		}
		for op, arg := range r {
			switch op {
			case "exists":
				return present == (arg == true)
			case "prefix":
				s, ok := arg.(string)
				if !ok {
					t.Fatalf("prefix %v is not a string", arg)
				}
				return present && anyElement(v, func(e any) bool {
					str, ok := e.(string)
					return ok && strings.HasPrefix(str, s)
				})
			default:
				t.Fatalf("the matcher does not know the %q rule the template uses", op)
			}
		}
	}
	return present && anyElement(v, func(e any) bool { return e == rule })
}

// anyElement: a field whose value is an array matches if one element does.
func anyElement(v any, f func(any) bool) bool {
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if f(e) {
				return true
			}
		}
		return false
	}
	return f(v)
}

func TestMatches_KnowsEventBridgeSemantics(t *testing.T) {
	pattern := map[string]any{}
	if err := json.Unmarshal([]byte(`{"eventName":["INSERT","MODIFY"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"order#"}]}},"NewImage":{"x":[{"exists":false}]}}}`), &pattern); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event string
		want  bool
	}{
		{`{"eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"order#ord_1"}}}}`, true},
		{`{"eventName":"REMOVE","dynamodb":{"Keys":{"pk":{"S":"order#ord_1"}}}}`, false},
		{`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"event#stripe#evt_1"}}}}`, false},
		{`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"xorder#1"}}}}`, false},
		{`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"N":"1"}}}}`, false},
		{`{"eventName":"INSERT","dynamodb":{"Keys":{}}}`, false},
		{`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"order#1"}},"NewImage":{"x":{"S":"1"}}}}`, false},
		{`{"eventName":["MODIFY"],"dynamodb":{"Keys":{"pk":{"S":["a","order#1"]}}}}`, true},
	} {
		var ev map[string]any
		if err := json.Unmarshal([]byte(tc.event), &ev); err != nil {
			t.Fatal(err)
		}
		if got := matches(t, pattern, ev); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.event, got, tc.want)
		}
	}
}

// templatePatterns returns the notify function's stream filter patterns,
// as template.yaml declares them.
func templatePatterns(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources struct {
			NotifyFunction struct {
				Properties struct {
					Events map[string]struct {
						Type       string `yaml:"Type"`
						Properties struct {
							FilterCriteria struct {
								Filters []struct {
									Pattern string `yaml:"Pattern"`
								} `yaml:"Filters"`
							} `yaml:"FilterCriteria"`
						} `yaml:"Properties"`
					} `yaml:"Events"`
				} `yaml:"Properties"`
			} `yaml:"NotifyFunction"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range tpl.Resources.NotifyFunction.Properties.Events {
		if ev.Type != "DynamoDB" {
			continue
		}
		for _, f := range ev.Properties.FilterCriteria.Filters {
			var p map[string]any
			if err := json.Unmarshal([]byte(f.Pattern), &p); err != nil {
				t.Fatalf("filter pattern %q: %v", f.Pattern, err)
			}
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("the notify function's stream event has no filter pattern")
	}
	return out
}

// TestTemplateFilter_PassesOrderRecordsOnly matches the template's filter
// against real stream records (DynamoDB Local has no event source
// mapping to apply it): the writes of orders pass, so no effect is ever
// filtered away, and the table's other items — event records, references,
// parked events — and an order's deletion do not.
func TestTemplateFilter_PassesOrderRecordsOnly(t *testing.T) {
	patterns := templatePatterns(t)
	tbl := newStreamTable(t)
	out := &sink{}
	svc := shop.New(shop.Service{Store: tbl.store, Now: func() time.Time { return now },
		Renderer: plainRenderer{}, Mailer: out, MailEnabled: true, Publisher: out})
	o := paidOrder(t, svc, "cy", true)
	ctx := context.Background()
	// A refund whose charge no order is known by yet is parked.
	orphan := order.Event{Gateway: "stripe", ID: "evt_orphan", Type: "charge.refunded", Kind: order.KindRefunded,
		PaymentRef: "pi_unknown", Amount: 4000, Currency: "usd", Refunded: 4000}
	if err := tbl.store.Park(ctx, "stripe", "pi_unknown", orphan); err != nil {
		t.Fatal(err)
	}
	// The dispatch's own writes are order records too.
	h := &notify.Handler{Dispatcher: svc, Now: func() time.Time { return now }, Log: quiet}
	if _, err := h.Handle(ctx, events.DynamoDBEvent{Records: tbl.records(t)}); err != nil {
		t.Fatal(err)
	}
	// What TTL does to an order that expired unpaid: a REMOVE, owing nothing.
	if _, err := tbl.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &tbl.name,
		Key: map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "order#" + o.ID}}}); err != nil {
		t.Fatal(err)
	}

	raw := tbl.recordsJSON(t)
	recs := tbl.records(t)
	seen := map[string]int{}
	for i, r := range raw {
		passes := false
		for _, p := range patterns {
			// Through JSON, as Lambda's filter sees the record.
			var ev map[string]any
			b, _ := json.Marshal(r)
			_ = json.Unmarshal(b, &ev)
			passes = passes || matches(t, p, ev)
		}
		pk := recs[i].Change.Keys["pk"].String()
		kind, _, _ := strings.Cut(pk, "#")
		name := recs[i].EventName
		seen[kind+" "+name]++
		want := kind == "order" && name != "REMOVE"
		if passes != want {
			t.Errorf("%s record of %s: passes %v, want %v", name, pk, passes, want)
		}
		if _, owes := notify.OwesNew(recs[i], now); owes && !passes {
			t.Errorf("the filter drops %s of %s, which owes an effect", name, pk)
		}
	}
	for _, kind := range []string{"order INSERT", "order MODIFY", "order REMOVE", "event INSERT", "ref INSERT", "parked INSERT"} {
		if seen[kind] == 0 {
			t.Errorf("no %s record on the stream (saw %v): the test proves less than it says", kind, seen)
		}
	}
}
