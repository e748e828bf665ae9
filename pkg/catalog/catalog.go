// Package catalog loads site/catalog.json, the single source of prices, and
// prices a cart from it. A catalog that could charge the wrong amount (a
// duplicate sku, a non-positive amount, an unknown currency, a malformed
// billing interval) fails to load.
package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jampay/jampay/pkg/order"
)

// Product is one thing for sale. UnitAmount is in the currency's minor unit
// (cents, paise; yen for JPY, which has none). A product with an Interval
// is a subscription, charged UnitAmount every IntervalCount Intervals; the
// other subscription fields are nil (or zero) when the catalog leaves them
// out, and Plan gives them with their defaults.
type Product struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	UnitAmount  int64  `json:"unitAmount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
	Image       string `json:"image,omitempty"`

	Interval      Interval `json:"interval,omitempty"`
	IntervalCount *int64   `json:"intervalCount,omitempty"` // nil: 1
	TrialDays     int64    `json:"trialDays,omitempty"`
	TotalCount    *int64   `json:"totalCount,omitempty"` // nil: DefaultTotalCount
}

// Catalog is the shop: its name and products by sku.
type Catalog struct {
	ShopName string    `json:"shopName"`
	Products []Product `json:"products"`
	bySKU    map[string]Product
}

// Limits on one checkout: enough for any real cart, small enough that no
// total can overflow or exceed what the gateways accept.
const (
	MaxQuantity = 999
	MaxLines    = 100
	// MaxTotal is Stripe's upper bound for an amount (eight digits).
	MaxTotal = 99_999_999
)

// validSKU: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter
// or digit. A loop, not a regexp: the regexp's compile ran at every cold
// start of every function that links the catalog.
func validSKU(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// Load reads and validates the catalog file at path.
func Load(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates a catalog.
func Parse(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if strings.TrimSpace(c.ShopName) == "" {
		return nil, fmt.Errorf("shopName is empty")
	}
	if len(c.Products) == 0 {
		return nil, fmt.Errorf("no products")
	}
	c.bySKU = make(map[string]Product, len(c.Products))
	for i, p := range c.Products {
		name := fmt.Sprintf("product %d (sku %q)", i+1, p.SKU)
		switch {
		case !validSKU(p.SKU):
			return nil, fmt.Errorf("%s: sku must be 1-64 letters, digits, '.', '_' or '-'", name)
		case c.bySKU[p.SKU].SKU != "":
			return nil, fmt.Errorf("%s: duplicate sku", name)
		case strings.TrimSpace(p.Name) == "":
			return nil, fmt.Errorf("%s: name is empty", name)
		case p.UnitAmount <= 0:
			return nil, fmt.Errorf("%s: unitAmount must be a positive number of minor units, not %d", name, p.UnitAmount)
		case p.UnitAmount > MaxTotal:
			return nil, fmt.Errorf("%s: unitAmount %d is above the gateways' limit %d", name, p.UnitAmount, MaxTotal)
		}
		cur := strings.ToLower(p.Currency)
		if _, ok := Exponent(cur); !ok || cur != p.Currency {
			return nil, fmt.Errorf("%s: unknown currency %q (use a lower-case ISO 4217 code such as \"usd\")", name, p.Currency)
		}
		if err := checkRecurring(p); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.bySKU[p.SKU] = p
	}
	return &c, nil
}

// Product returns the product with sku.
func (c *Catalog) Product(sku string) (Product, bool) {
	p, ok := c.bySKU[sku]
	return p, ok
}

// Line is one line of a cart as a customer asks for it: no price.
type Line struct {
	SKU      string
	Quantity int64
}

// Price turns a cart into priced line items and their total from the
// catalog alone (invariant 1: nothing priced comes from the request).
// Lines naming the same sku are merged. Errors are *order.Error with the
// contract's codes (mixed_cart for a subscription with other lines), or
// ErrSubscriptionCart for a cart that is one subscription: price that
// with Subscription.
func (c *Catalog) Price(lines []Line) (items []order.LineItem, total int64, currency string, err error) {
	if len(lines) == 0 {
		return nil, 0, "", order.Errorf(order.CodeEmptyCart, "The cart is empty.")
	}
	if len(lines) > MaxLines {
		return nil, 0, "", order.Errorf(order.CodeInvalidQuantity, "A cart holds at most %d lines.", MaxLines)
	}
	index := map[string]int{}
	for _, l := range lines {
		p, ok := c.bySKU[l.SKU]
		if !ok {
			return nil, 0, "", order.Errorf(order.CodeUnknownSKU, "There is no product with sku %q.", truncate(l.SKU, 64))
		}
		if p.Subscription() {
			// A subscription is never priced as a one-off payment: a caller
			// that has not asked Subscription first fails loudly here.
			if len(lines) > 1 {
				return nil, 0, "", errMixedCart(p.SKU)
			}
			return nil, 0, "", ErrSubscriptionCart
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return nil, 0, "", order.Errorf(order.CodeInvalidQuantity, "The quantity of %q must be a whole number from 1 to %d.", p.SKU, MaxQuantity)
		}
		if currency == "" {
			currency = p.Currency
		} else if p.Currency != currency {
			return nil, 0, "", order.Errorf(order.CodeMixedCurrency, "All products in one checkout must share a currency; %q is in %s, not %s.", p.SKU, strings.ToUpper(p.Currency), strings.ToUpper(currency))
		}
		if i, seen := index[p.SKU]; seen {
			items[i].Quantity += l.Quantity
			if items[i].Quantity > MaxQuantity {
				return nil, 0, "", order.Errorf(order.CodeInvalidQuantity, "The quantity of %q must be a whole number from 1 to %d.", p.SKU, MaxQuantity)
			}
			continue
		}
		index[p.SKU] = len(items)
		items = append(items, order.LineItem{SKU: p.SKU, Name: p.Name, Quantity: l.Quantity, UnitAmount: p.UnitAmount})
	}
	for _, it := range items {
		// Both factors are bounded (999 × 99,999,999 per line, 100 lines), so
		// the running total cannot overflow int64 before this check.
		total += it.Quantity * it.UnitAmount
	}
	if total > MaxTotal {
		return nil, 0, "", order.Errorf(order.CodeAmountTooLarge, "The total is above what the payment gateways accept in one payment.")
	}
	return items, total, currency, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
