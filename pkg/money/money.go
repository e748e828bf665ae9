// Package money formats amounts in minor units for people to read, the way
// the site's formatMoney (site/jampay.js) shows them in a browser:
// Intl.NumberFormat("en-US", {style: "currency"}). The customer's emails
// use it, so a receipt says what the page said.
package money

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/jampay/jampay/pkg/catalog"
)

// symbols are the en-US currency symbols Intl shows instead of the code.
// Every other currency is shown by its upper-case code.
var symbols = map[string]string{
	"aud": "A$", "brl": "R$", "cad": "CA$", "cny": "CN¥", "eur": "€", "gbp": "£",
	"hkd": "HK$", "ils": "₪", "inr": "₹", "jpy": "¥", "krw": "₩", "mxn": "MX$",
	"nzd": "NZ$", "php": "₱", "twd": "NT$", "usd": "$", "vnd": "₫",
	"xaf": "FCFA", "xcd": "EC$", "xof": "F\u202fCFA", "xpf": "CFPF",
}

// intlDigits lists the currencies whose Intl (CLDR) fraction digits differ
// from the exponent gateways count their minor units in (pkg/catalog): for
// these Stripe counts hundredths, but Intl shows whole units only. The
// amount is still minor / 10^exponent (what the customer paid); it is
// shown rounded to whole units, as Intl would show that amount.
var intlDigits = map[string]int{
	"afn": 0, "all": 0, "cop": 0, "huf": 0, "idr": 0, "isk": 0,
	"lak": 0, "lbp": 0, "mmk": 0, "pkr": 0, "sos": 0, "yer": 0,
}

// Format returns amount (minor units of currency, a lower- or upper-case
// ISO 4217 code) as Intl.NumberFormat("en-US", {style: "currency"}) shows
// amount / 10^exponent: Format(4000, "usd") is "$40.00", Format(1500,
// "jpy") "¥1,500", Format(1234, "kwd") "KWD 1.234" (with a no-break
// space, as Intl puts between a code and the number).
//
// The exponent is pkg/catalog's (the gateways'), so for the currencies in
// intlDigits the text is the true amount: 10000 ISK minor units are
// "ISK 100". The site's formatMoney uses the same exponents, and a browser
// test compares the two for every currency (site/test/browser.test.mjs).
func Format(amount int64, currency string) string {
	cur := strings.ToLower(currency)
	exp, ok := catalog.Exponent(cur)
	if !ok {
		exp = 2 // Intl's default for a code it has no data for
	}
	digits, ok := intlDigits[cur]
	if !ok {
		digits = exp
	}
	neg := amount < 0
	// Work in uint64 so the magnitude of math.MinInt64 fits.
	mag := uint64(amount)
	if neg {
		mag = -mag
	}
	// Drop the digits Intl does not show, rounding half away from zero
	// (Intl's default roundingMode, halfExpand), in one step: rounding
	// digit by digit would carry 0.49 up to 1.
	if drop := pow10(exp - digits); drop > 1 {
		mag = mag/drop + (mag%drop)/(drop/2)
	}
	scale := pow10(digits)
	number := group(strconv.FormatUint(mag/scale, 10))
	if digits > 0 {
		frac := strconv.FormatUint(mag%scale, 10)
		number += "." + strings.Repeat("0", digits-len(frac)) + frac
	}
	sym, ok := symbols[cur]
	if !ok {
		sym = strings.ToUpper(cur)
	}
	// ICU's currency spacing: a symbol that ends in a letter ("ISK",
	// "FCFA") is kept off the digits by a no-break space; "$" is not.
	if r := []rune(sym); unicode.IsLetter(r[len(r)-1]) {
		sym += "\u00a0"
	}
	// Intl keeps the sign of an amount that rounds to zero ("-ISK 0").
	if neg {
		return "-" + sym + number
	}
	return sym + number
}

// group puts en-US thousands separators into a run of digits.
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(digits[:lead])
	for i := lead; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
