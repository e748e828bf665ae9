package money

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/catalog"
)

func TestFormat_Examples(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{4000, "usd", "$40.00"},
		{1500, "jpy", "¥1,500"},
		{1500, "JPY", "¥1,500"},
		{1234, "kwd", "KWD\u00a01.234"},
		{19900, "inr", "₹199.00"},
		{123456789, "eur", "€1,234,567.89"},
		{5, "usd", "$0.05"},
		{-150, "usd", "-$1.50"},
		{0, "usd", "$0.00"},
		// Stripe counts ISK in hundredths; Intl shows whole krónur.
		{10000, "isk", "ISK\u00a0100"},
		{12350, "isk", "ISK\u00a0124"},
		{-40, "isk", "-ISK\u00a00"},
		{500, "xof", "F\u202fCFA\u00a0500"},
		{-9223372036854775808, "usd", "-$92,233,720,368,547,758.08"},
	} {
		if got := Format(c.amount, c.currency); got != c.want {
			t.Errorf("Format(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}

// TestFormat_MatchesIntl asks node's Intl.NumberFormat (the engine the
// site's formatMoney runs on) to format a table of amounts in every
// currency pkg/catalog knows and site/catalog.json sells, and compares:
// with Intl on amount / 10^exponent everywhere, and with the site's own
// formatMoney wherever Intl's fraction digits are the gateways' exponent.
func TestFormat_MatchesIntl(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is needed to check money formatting against Intl.NumberFormat (CI is set)")
		}
		t.Skip("node not found: cannot compare money formatting with Intl.NumberFormat")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	currencies := knownCurrencies(t, root)

	type testCase struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
		Exponent int    `json:"exponent"`
	}
	amounts := []int64{0, 1, 5, 9, 10, 49, 50, 99, 100, 149, 150, 151, 250, 999, 1000, 1005, 1050,
		12345, 99999, 100000, 123456, 1234567, 99999999, 123456789012, -1, -50, -150, -12345, -99999999}
	var cases []testCase
	for _, cur := range currencies {
		exp, ok := catalog.Exponent(cur)
		if !ok {
			t.Fatalf("site/catalog.json sells %q, which pkg/catalog does not know", cur)
		}
		for _, a := range amounts {
			cases = append(cases, testCase{a, cur, exp})
		}
	}
	in, _ := json.Marshal(cases)
	// The site's module is imported as the browser would: its formatMoney
	// is the text the customer saw on the page.
	script := `
import { formatMoney } from ` + jsString("file://"+filepath.ToSlash(filepath.Join(root, "site", "jampay.js"))) + `;
import { readFileSync } from "node:fs";
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => {
  const f = new Intl.NumberFormat("en-US", { style: "currency", currency: c.currency.toUpperCase() });
  return {
    intl: f.format(c.amount / 10 ** c.exponent),
    digits: f.resolvedOptions().maximumFractionDigits,
    site: formatMoney(c.amount, c.currency, "en-US"),
  };
});
process.stdout.write(JSON.stringify(out));
`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got []struct {
		Intl   string `json:"intl"`
		Digits int    `json:"digits"`
		Site   string `json:"site"`
	}
	if err := json.Unmarshal(raw, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node answered %d results for %d cases (%v): %s", len(got), len(cases), err, raw)
	}
	for i, c := range cases {
		g := got[i]
		mine := Format(c.Amount, c.Currency)
		if mine != g.Intl {
			t.Errorf("Format(%d, %q) = %q, Intl shows %q", c.Amount, c.Currency, mine, g.Intl)
		}
		_, differs := intlDigits[c.Currency]
		if wantDigits := c.Exponent; differs {
			wantDigits = intlDigits[c.Currency]
			if g.Digits != wantDigits {
				t.Errorf("%s: Intl shows %d fraction digits, intlDigits says %d", c.Currency, g.Digits, wantDigits)
			}
		} else if g.Digits != wantDigits {
			t.Errorf("%s: Intl shows %d fraction digits but the gateways' exponent is %d: add it to intlDigits", c.Currency, g.Digits, wantDigits)
		}
		if !differs && mine != g.Site {
			t.Errorf("Format(%d, %q) = %q, the site's formatMoney shows %q", c.Amount, c.Currency, mine, g.Site)
		}
	}
}

// knownCurrencies is every currency pkg/catalog knows and every one
// site/catalog.json prices in.
func knownCurrencies(t *testing.T, root string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	// pkg/catalog exports a lookup, not its list: try every code.
	for a := 'a'; a <= 'z'; a++ {
		for b := 'a'; b <= 'z'; b++ {
			for c := 'a'; c <= 'z'; c++ {
				if code := string([]rune{a, b, c}); func() bool { _, ok := catalog.Exponent(code); return ok }() {
					add(code)
				}
			}
		}
	}
	cat, err := catalog.Load(filepath.Join(root, "site", "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cat.Products {
		add(p.Currency)
	}
	if len(out) < 100 {
		t.Fatalf("only %d currencies to check", len(out))
	}
	return out
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
