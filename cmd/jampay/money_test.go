package main

import "testing"

// TestFormatMoney_AsTheSiteDoes: the figures are what site/jampay.js's
// formatMoney shows in an en-US browser (Intl.NumberFormat, checked with
// Node 20 for each line), except where Intl's decimals differ from the
// gateway's minor unit.
func TestFormatMoney_AsTheSiteDoes(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{4000, "usd", "$40.00"},
		{5, "usd", "$0.05"},
		{0, "eur", "€0.00"},
		{123456789, "inr", "₹1,234,567.89"},
		{1500, "jpy", "¥1,500"},
		{123456789, "krw", "₩123,456,789"},
		{123456789, "bhd", "BHD 123,456.789"}, // three decimals
		{1250, "chf", "CHF 12.50"},
		{100000, "cad", "CA$1,000.00"},
		{999, "gbp", "£9.99"},
		// ISK: Intl shows no decimals, but Stripe counts ISK in hundredths.
		{12300, "isk", "ISK 123"}, // the true amount, in Intl's whole krónur (pkg/money)
		{42, "xyz", "42 xyz (minor units)"},
		{-2000, "usd", "-$20.00"},
	} {
		if got := formatMoney(c.amount, c.currency); got != c.want {
			t.Errorf("formatMoney(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
