package main

import (
	"strconv"
	"strings"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/money"
)

// formatMoney writes amount (minor units of currency) as the site does, by
// pkg/money: formatMoney(4000, "usd") is "$40.00", formatMoney(1500, "jpy")
// "¥1,500", formatMoney(1250, "chf") "CHF 12.50". A terminal table is
// better served by a plain space than Intl's no-break one after a code. A
// currency the catalog does not know is shown in minor units, with its
// code, rather than guessed.
func formatMoney(amount int64, currency string) string {
	if _, ok := catalog.Exponent(strings.ToLower(currency)); !ok {
		return strconv.FormatInt(amount, 10) + " " + strings.ToLower(currency) + " (minor units)"
	}
	return strings.ReplaceAll(money.Format(amount, currency), "\u00a0", " ")
}
