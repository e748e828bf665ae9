// Command moneytable prints, as JSON, pkg/money's text for a table of
// amounts in every currency pkg/catalog knows and every one a catalog file
// prices in: the browser test (site/test/browser.test.mjs) compares it
// with the site's formatMoney running in Chromium, so a receipt says what
// the shop page said.
//
//	go run ./internal/moneytable site/catalog.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/money"
)

// amounts straddle every rounding edge Intl has for zero-, two- and
// three-decimal currencies, and both signs.
var amounts = []int64{0, 1, 5, 9, 10, 49, 50, 99, 100, 149, 150, 151, 250, 999, 1000, 1005, 1050,
	12345, 99999, 100000, 123456, 1234567, 99999999, 123456789012, -1, -50, -150, -12345, -99999999}

type row struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Text     string `json:"text"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: moneytable path/to/catalog.json")
		os.Exit(2)
	}
	cat, err := catalog.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "moneytable:", err)
		os.Exit(1)
	}
	seen := map[string]bool{}
	var currencies []string
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			currencies = append(currencies, c)
		}
	}
	// pkg/catalog exports a lookup, not its list: try every code.
	for a := 'a'; a <= 'z'; a++ {
		for b := 'a'; b <= 'z'; b++ {
			for c := 'a'; c <= 'z'; c++ {
				if code := string([]rune{a, b, c}); known(code) {
					add(code)
				}
			}
		}
	}
	for _, p := range cat.Products {
		add(p.Currency)
	}
	var rows []row
	for _, cur := range currencies {
		for _, a := range amounts {
			rows = append(rows, row{a, cur, money.Format(a, cur)})
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rows); err != nil {
		fmt.Fprintln(os.Stderr, "moneytable:", err)
		os.Exit(1)
	}
}

func known(code string) bool {
	_, ok := catalog.Exponent(code)
	return ok
}
