package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/jampay/jampay/internal/logbuf"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/localserver"
)

// TestServeStopsOnSignal runs `jampay serve` as main does and stops it the
// way SIGINT does (its context is cancelled).
func TestServeStopsOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-site", "../../site", "-catalog", "../../site/catalog.json"},
			func(string) string { return "" }, &out, &bytes.Buffer{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl+C") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "jampay stopped.") {
		t.Fatalf("output: %s", out.String())
	}
}

func TestTrigger(t *testing.T) {
	s, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", SiteDir: "../../site", CatalogPath: "../../site/catalog.json", Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	resp, err := http.Post(s.URL+"/api/checkout", "application/json", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"mug","quantity":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ OrderID, StatusToken string }
	_ = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	env := func(k string) string { return s.Secrets[k] }
	var out bytes.Buffer
	err = run(context.Background(), []string{"trigger", "stripe", "checkout.session.completed", "-order", c.OrderID, "-amount", "2500", "-url", s.URL}, env, &out, &out)
	if err != nil || !strings.Contains(out.String(), ": 200") {
		t.Fatalf("trigger: %v %s", err, out.String())
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/orders/"+c.OrderID, nil)
	req.Header.Set("Authorization", "Bearer "+c.StatusToken)
	got, _ := http.DefaultClient.Do(req)
	var m map[string]any
	_ = json.NewDecoder(got.Body).Decode(&m)
	if m["status"] != "paid" {
		t.Fatalf("after trigger: %v", m)
	}
	if err := run(context.Background(), []string{"trigger", "stripe", "checkout.session.completed", "-order", c.OrderID, "-url", s.URL, "-secret", "whsec_wrong"}, env, &out, &out); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := run(context.Background(), []string{"trigger", "paypal", "x", "-order", "o"}, env, &out, &out); err == nil {
		t.Fatal("unknown gateway accepted")
	}
	fmt.Fprint(&out)
}

// TestTrigger_AStartedSubscription: a triggered subscription event names
// the subscription's own Stripe subscription (the sandbox knows it), so it
// moves the subscription jampay made rather than being taken for
// another's.
func TestTrigger_AStartedSubscription(t *testing.T) {
	s, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", SiteDir: "../../site", CatalogPath: "../../site/catalog.json", Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	resp, err := http.Post(s.URL+"/api/checkout", "application/json", strings.NewReader(`{"gateway":"stripe","items":[{"sku":"club-monthly","quantity":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ SubscriptionID, StatusToken string }
	_ = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	// The customer subscribes on the sandbox's page.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sub, err := noRedirect.Post(s.URL+"/sandbox/subscriptions/"+c.SubscriptionID+"/subscribe", "application/x-www-form-urlencoded", nil)
	if err != nil || sub.StatusCode >= 400 {
		t.Fatalf("subscribe: %v %v", sub, err)
	}
	sub.Body.Close()
	env := func(k string) string { return s.Secrets[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"trigger", "stripe", "customer.subscription.deleted", "-order", c.SubscriptionID, "-url", s.URL}, env, &out, &out); err != nil {
		t.Fatalf("trigger: %v %s", err, out.String())
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/subscriptions/"+c.SubscriptionID, nil)
	req.Header.Set("Authorization", "Bearer "+c.StatusToken)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.NewDecoder(got.Body).Decode(&m)
	got.Body.Close()
	// The trigger's snapshot is of the subscription's own: it ends it.
	if m["status"] != "canceled" {
		t.Fatalf("after the trigger: %v", m)
	}
}
