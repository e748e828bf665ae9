package api_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestLogs_NoSecretTokenOrEmail reads every log line the handlers wrote
// during this package's tests (the file name sorts it last) and fails on a
// webhook secret, an API key, a status token or an email address.
func TestLogs_NoSecretTokenOrEmail(t *testing.T) {
	e := newEnv(t, memory)
	c := e.checkout("stripe", `[{"sku":"mug","quantity":1}]`)
	r := e.do("POST", "/api/checkout", []byte(`{"gateway":"stripe","items":[{"sku":"mug","quantity":1}],"email":"jane.doe@example.com"}`), jsonHeader)
	var withEmail created
	_ = json.Unmarshal(r.Body, &withEmail)
	e.mustReceive(completed(c.OrderID, 1250))
	out := logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 {
		t.Fatalf("only %d log lines were captured; the scan would prove little", len(lines))
	}
	patterns := map[string]*regexp.Regexp{
		"webhook secret": regexp.MustCompile(`whsec_`),
		"stripe key":     regexp.MustCompile(`[sr]k_(test|live)_`),
		"email address":  regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`),
		"bearer":         regexp.MustCompile(`(?i)bearer`),
	}
	for i, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line %d is not JSON: %s", i, line)
		}
		for name, re := range patterns {
			if re.MatchString(line) {
				t.Errorf("log line %d holds a %s: %s", i, name, line)
			}
		}
		for _, token := range []string{c.StatusToken, withEmail.StatusToken} {
			if token != "" && strings.Contains(line, token) {
				t.Errorf("log line %d holds a status token", i)
			}
		}
	}
	for _, want := range []string{`"request_id"`, `"order_id"`, `"event_id"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no log line carries %s", want)
		}
	}
}
