package main

import (
	"strconv"
	"strings"

	"github.com/jampay/jampay/pkg/catalog"
)

// symbols are the currency signs en-US's Intl.NumberFormat writes, which
// the site's formatMoney (site/jampay.js) uses in an English browser;
// every other currency is written with its code, as Intl does.
var symbols = map[string]string{
	"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "cad": "CA$", "aud": "A$", "nzd": "NZ$",
	"hkd": "HK$", "mxn": "MX$", "brl": "R$", "cny": "CN¥", "krw": "₩", "ils": "₪", "vnd": "₫", "twd": "NT$",
	"php": "₱", "xcd": "EC$", "xaf": "FCFA", "xof": "F CFA", "xpf": "CFPF",
}

// formatMoney writes amount (minor units of currency) as the site does:
// formatMoney(4000, "usd") is "$40.00", formatMoney(1500, "jpy") "¥1,500",
// formatMoney(1250, "chf") "CHF 12.50". The decimals are the currency's
// minor-unit exponent as the gateways count it (pkg/catalog), so the figure
// is the money the gateway took. Intl puts a no-break space after a code;
// a terminal table is better served by a plain one. A currency the catalog
// does not know is shown in minor units, with its code, rather than guessed.
func formatMoney(amount int64, currency string) string {
	exp, ok := catalog.Exponent(strings.ToLower(currency))
	if !ok {
		return strconv.FormatInt(amount, 10) + " " + strings.ToLower(currency) + " (minor units)"
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	digits := strconv.FormatInt(amount, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if exp > 0 {
		b.WriteString("." + frac)
	}
	prefix, ok := symbols[strings.ToLower(currency)]
	if !ok {
		prefix = strings.ToUpper(currency) + " "
	}
	return sign + prefix + b.String()
}
