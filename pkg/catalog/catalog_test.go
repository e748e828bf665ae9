package catalog

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/order"
)

const good = `{"shopName":"Demo","products":[
 {"sku":"tee-m","name":"T-shirt (M)","unitAmount":2000,"currency":"usd"},
 {"sku":"mug","name":"Mug","unitAmount":1250,"currency":"usd"},
 {"sku":"tea-jp","name":"Matcha","unitAmount":1500,"currency":"jpy"}]}`

func TestParse_RejectsWhatCouldChargeWrong(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"duplicate sku", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":1,"currency":"usd"},{"sku":"a","name":"B","unitAmount":2,"currency":"usd"}]}`, `product 2 (sku "a"): duplicate sku`},
		{"negative amount", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":-5,"currency":"usd"}]}`, `product 1 (sku "a"): unitAmount must be a positive`},
		{"zero amount", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":0,"currency":"usd"}]}`, `unitAmount must be a positive`},
		{"fractional amount", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":19.99,"currency":"usd"}]}`, `invalid JSON`},
		{"unknown currency", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":1,"currency":"xyz"}]}`, `unknown currency "xyz"`},
		{"upper-case currency", `{"shopName":"S","products":[{"sku":"a","name":"A","unitAmount":1,"currency":"USD"}]}`, `unknown currency "USD"`},
		{"empty name", `{"shopName":"S","products":[{"sku":"a","name":" ","unitAmount":1,"currency":"usd"}]}`, `product 1 (sku "a"): name is empty`},
		{"bad sku", `{"shopName":"S","products":[{"sku":"a b","name":"A","unitAmount":1,"currency":"usd"}]}`, `sku must be`},
		{"no shop name", `{"products":[{"sku":"a","name":"A","unitAmount":1,"currency":"usd"}]}`, `shopName is empty`},
		{"no products", `{"shopName":"S","products":[]}`, `no products`},
		{"unknown field", `{"shopName":"S","products":[{"sku":"a","name":"A","price":1,"unitAmount":1,"currency":"usd"}]}`, `unknown field "price"`},
	} {
		_, err := Parse(strings.NewReader(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestPrice(t *testing.T) {
	c, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	items, total, cur, err := c.Price([]Line{{"tee-m", 2}, {"mug", 1}, {"tee-m", 1}})
	if err != nil || total != 3*2000+1250 || cur != "usd" || len(items) != 2 || items[0].Quantity != 3 || items[0].Name != "T-shirt (M)" {
		t.Fatalf("Price = %+v %d %s %v", items, total, cur, err)
	}
	if _, total, cur, _ := c.Price([]Line{{"tea-jp", 3}}); total != 4500 || cur != "jpy" {
		t.Fatalf("zero-decimal total = %d %s, want 4500 jpy", total, cur)
	}
	for _, tc := range []struct {
		lines []Line
		code  order.Code
	}{
		{nil, order.CodeEmptyCart},
		{[]Line{{"nope", 1}}, order.CodeUnknownSKU},
		{[]Line{{"mug", 0}}, order.CodeInvalidQuantity},
		{[]Line{{"mug", -1}}, order.CodeInvalidQuantity},
		{[]Line{{"mug", MaxQuantity + 1}}, order.CodeInvalidQuantity},
		{[]Line{{"mug", MaxQuantity}, {"mug", 1}}, order.CodeInvalidQuantity},
		{[]Line{{"mug", 1}, {"tea-jp", 1}}, order.CodeMixedCurrency},
		{make([]Line, MaxLines+1), order.CodeInvalidQuantity},
	} {
		_, _, _, err := c.Price(tc.lines)
		if got := order.ErrorCode(err); got != tc.code {
			t.Errorf("Price(%v) code %s, want %s (%v)", tc.lines, got, tc.code, err)
		}
	}
	big, _ := Parse(strings.NewReader(`{"shopName":"S","products":[{"sku":"car","name":"Car","unitAmount":99999999,"currency":"usd"}]}`))
	if _, _, _, err := big.Price([]Line{{"car", 2}}); order.ErrorCode(err) != order.CodeAmountTooLarge {
		t.Errorf("over the gateway limit: %v", err)
	}
}

func TestLoad_SiteCatalogIsValid(t *testing.T) {
	if _, err := Load("../../site/catalog.json"); err != nil {
		t.Fatal(err)
	}
}
