package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/order"
)

// oneProduct is a catalog of one product with the given extra fields.
func oneProduct(fields string) string {
	return `{"shopName":"S","products":[{"sku":"club","name":"Club","unitAmount":900,"currency":"usd"` + fields + `}]}`
}

func TestParse_RejectsMalformedSubscriptions(t *testing.T) {
	for _, tc := range []struct{ name, fields, want string }{
		{"unknown interval", `,"interval":"fortnight"`, `product 1 (sku "club"): interval "fortnight" must be one of`},
		{"upper-case interval", `,"interval":"Month"`, `interval "Month" must be one of`},
		{"zero intervalCount", `,"interval":"month","intervalCount":0`, `product 1 (sku "club"): intervalCount must be at least 1, not 0`},
		{"negative intervalCount", `,"interval":"month","intervalCount":-1`, `intervalCount must be at least 1, not -1`},
		{"huge intervalCount", `,"interval":"day","intervalCount":100001`, `intervalCount 100001 is too large`},
		{"negative trialDays", `,"interval":"month","trialDays":-7`, `product 1 (sku "club"): trialDays must be 0 or more, not -7`},
		{"negative totalCount", `,"interval":"month","totalCount":-12`, `product 1 (sku "club"): totalCount must be at least 1 billing cycle, not -12`},
		{"zero totalCount", `,"interval":"month","totalCount":0`, `totalCount must be at least 1 billing cycle, not 0`},
		{"huge totalCount", `,"interval":"month","totalCount":100001`, `totalCount 100001 is too large`},
		{"fractional intervalCount", `,"interval":"month","intervalCount":1.5`, `invalid JSON`},
		{"intervalCount without interval", `,"intervalCount":1`, `product 1 (sku "club"): intervalCount, trialDays and totalCount are for subscriptions`},
		{"trialDays without interval", `,"trialDays":7`, `are for subscriptions`},
		{"totalCount without interval", `,"totalCount":12`, `are for subscriptions`},
	} {
		_, err := Parse(strings.NewReader(oneProduct(tc.fields)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestProductPlan_Defaults(t *testing.T) {
	for _, tc := range []struct {
		name, fields string
		want         Plan
	}{
		{"monthly, defaults", `,"interval":"month"`, Plan{Interval: Month, IntervalCount: 1, TotalCount: 1200}},
		{"quarterly with trial", `,"interval":"month","intervalCount":3,"trialDays":14`, Plan{Interval: Month, IntervalCount: 3, TrialDays: 14, TotalCount: 400}},
		{"yearly", `,"interval":"year"`, Plan{Interval: Year, IntervalCount: 1, TotalCount: 100}},
		{"weekly", `,"interval":"week","intervalCount":2`, Plan{Interval: Week, IntervalCount: 2, TotalCount: 2600}},
		{"daily", `,"interval":"day","intervalCount":7`, Plan{Interval: Day, IntervalCount: 7, TotalCount: 5214}},
		{"explicit totalCount", `,"interval":"month","totalCount":12`, Plan{Interval: Month, IntervalCount: 1, TotalCount: 12}},
	} {
		c, err := Parse(strings.NewReader(oneProduct(tc.fields)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, ok := c.Products[0].Plan()
		tc.want.SKU, tc.want.Name, tc.want.Amount, tc.want.Currency = "club", "Club", 900, "usd"
		if !ok || got != tc.want {
			t.Errorf("%s: Plan() = %+v %v, want %+v", tc.name, got, ok, tc.want)
		}
	}
	c, _ := Parse(strings.NewReader(good))
	if _, ok := c.Products[0].Plan(); ok {
		t.Error("a one-off product has a plan")
	}
}

func TestCheckGateways(t *testing.T) {
	both := []string{"razorpay", "stripe"}
	for _, tc := range []struct {
		name, fields string
		gateways     []string
		want         string // "" for no error
	}{
		{"monthly sells everywhere", `,"interval":"month"`, both, ""},
		{"one-off sells everywhere", ``, both, ""},
		{"unknown gateway has no limits", `,"interval":"day","intervalCount":1`, []string{"sandbox"}, ""},
		{"razorpay daily below 7", `,"interval":"day","intervalCount":6,"totalCount":10`, both, `product 1 (sku "club") cannot be sold on razorpay: daily plans need an intervalCount of at least 7, not 6`},
		{"razorpay daily defaults to 1", `,"interval":"day","totalCount":10`, []string{"razorpay"}, `at least 7, not 1`},
		{"stripe sells daily at 1", `,"interval":"day","intervalCount":1`, []string{"stripe"}, ""},
		{"razorpay daily without totalCount", `,"interval":"day","intervalCount":7`, both, `cannot be sold on razorpay: daily plans need a totalCount`},
		{"razorpay daily with both", `,"interval":"day","intervalCount":7,"totalCount":52`, both, ""},
		{"razorpay over 100 years", `,"interval":"year","totalCount":101`, both, `cannot be sold on razorpay: totalCount 101 of 1 year(s) is longer than Razorpay's maximum of 100 years`},
		{"razorpay exactly 100 years", `,"interval":"month","intervalCount":6,"totalCount":200`, both, ""},
		{"razorpay period over 100 years", `,"interval":"year","intervalCount":101`, []string{"razorpay"}, `a billing period of 101 year(s) is longer than Razorpay's maximum`},
		{"stripe a year", `,"interval":"month","intervalCount":12`, []string{"stripe"}, ""},
		{"stripe 52 weeks", `,"interval":"week","intervalCount":52`, []string{"stripe"}, ""},
		{"stripe 365 days", `,"interval":"day","intervalCount":365`, []string{"stripe"}, ""},
		{"stripe over a year in months", `,"interval":"month","intervalCount":13`, both, `product 1 (sku "club") cannot be sold on stripe: a billing period of 13 month(s) is longer than jampay sells on Stripe (1 year(s) at most)`},
		{"stripe over a year in years", `,"interval":"year","intervalCount":2`, []string{"stripe"}, `cannot be sold on stripe`},
		{"stripe over a year in weeks", `,"interval":"week","intervalCount":53`, []string{"stripe"}, `cannot be sold on stripe`},
		{"stripe over a year in days", `,"interval":"day","intervalCount":367`, []string{"stripe"}, `cannot be sold on stripe`},
		{"only configured gateways count", `,"interval":"month","intervalCount":37`, []string{"razorpay"}, ""},
	} {
		c, err := Parse(strings.NewReader(oneProduct(tc.fields)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = c.CheckGateways(tc.gateways)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: CheckGateways: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: CheckGateways error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

const withClub = `{"shopName":"Demo","products":[
 {"sku":"mug","name":"Mug","unitAmount":1250,"currency":"usd"},
 {"sku":"club","name":"Jam club","unitAmount":900,"currency":"usd","interval":"month","trialDays":7},
 {"sku":"club-in","name":"Jam club","unitAmount":49900,"currency":"inr","interval":"month","totalCount":12}]}`

func TestSubscription_TellsCartsApart(t *testing.T) {
	c, err := Parse(strings.NewReader(withClub))
	if err != nil {
		t.Fatal(err)
	}
	plan, ok, err := c.Subscription([]Line{{"club", 1}})
	want := Plan{SKU: "club", Name: "Jam club", Amount: 900, Currency: "usd", Interval: Month, IntervalCount: 1, TrialDays: 7, TotalCount: 1200}
	if err != nil || !ok || plan != want {
		t.Fatalf("Subscription(club) = %+v %v %v, want %+v", plan, ok, err, want)
	}
	for _, tc := range []struct {
		name  string
		lines []Line
		code  order.Code // "" for a one-off cart: ok false, no error
	}{
		{"one-off cart", []Line{{"mug", 2}}, ""},
		{"empty cart is Price's to refuse", nil, ""},
		{"unknown sku is Price's to refuse", []Line{{"nope", 1}}, ""},
		{"subscription and a one-off", []Line{{"mug", 1}, {"club", 1}}, order.CodeMixedCart},
		{"one-off then subscription", []Line{{"club", 1}, {"mug", 1}}, order.CodeMixedCart},
		{"two subscriptions", []Line{{"club", 1}, {"club-in", 1}}, order.CodeMixedCart},
		{"the same subscription twice", []Line{{"club", 1}, {"club", 1}}, order.CodeMixedCart},
		{"subscription and an unknown sku", []Line{{"club", 1}, {"nope", 1}}, order.CodeMixedCart},
		{"quantity 2", []Line{{"club", 2}}, order.CodeInvalidQuantity},
		{"quantity 0", []Line{{"club", 0}}, order.CodeInvalidQuantity},
	} {
		plan, ok, err := c.Subscription(tc.lines)
		if tc.code == "" {
			if ok || err != nil {
				t.Errorf("%s: Subscription = %+v %v %v, want a one-off cart", tc.name, plan, ok, err)
			}
			continue
		}
		if ok || order.ErrorCode(err) != tc.code {
			t.Errorf("%s: Subscription ok %v, code %s, want %s (%v)", tc.name, ok, order.ErrorCode(err), tc.code, err)
		}
	}
}

func TestPrice_NeverChargesASubscriptionOnce(t *testing.T) {
	c, err := Parse(strings.NewReader(withClub))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.Price([]Line{{"club", 1}}); !errors.Is(err, ErrSubscriptionCart) || order.ErrorCode(err) != order.CodeNotSupported {
		t.Errorf("Price(one subscription) = %v, want ErrSubscriptionCart", err)
	}
	for _, lines := range [][]Line{
		{{"mug", 1}, {"club", 1}},
		{{"club", 1}, {"club-in", 1}},
	} {
		if _, _, _, err := c.Price(lines); order.ErrorCode(err) != order.CodeMixedCart {
			t.Errorf("Price(%v) = %v, want mixed_cart", lines, err)
		}
	}
	if items, total, cur, err := c.Price([]Line{{"mug", 2}}); err != nil || total != 2500 || cur != "usd" || len(items) != 1 {
		t.Errorf("one-off cart beside a subscription product: %+v %d %s %v", items, total, cur, err)
	}
}
