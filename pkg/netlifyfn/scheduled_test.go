package netlifyfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/internal/logbuf"
	"github.com/jampay/jampay/pkg/netlifyfn"
	"github.com/jampay/jampay/pkg/shop"
)

const reconcileSecret = "reconcile-secret-0123456789"

// countingReconciler stands in for hosted.App: it counts the runs.
type countingReconciler struct {
	runs int
	err  error
}

func (c *countingReconciler) Reconcile(ctx context.Context) (shop.ReconcileReport, error) {
	c.runs++
	return shop.ReconcileReport{Open: 2, Moved: 1, EffectsSent: 3, Errors: []string{"stripe: 500 from api.stripe.com"}}, c.err
}

func scheduled(t *testing.T, app netlifyfn.Reconciler, secret string, log *slog.Logger) func(context.Context, netlifyfn.Event) (events.APIGatewayProxyResponse, error) {
	t.Helper()
	h, err := netlifyfn.Scheduled(app, func(k string) string {
		if k == netlifyfn.ReconcileSecretEnv {
			return secret
		}
		return ""
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// withAuth is ev with an Authorization header, as Netlify would pass it.
func withAuth(ev netlifyfn.Event, value string) netlifyfn.Event {
	ev.Headers = maps.Clone(ev.Headers)
	ev.MultiValueHeaders = maps.Clone(ev.MultiValueHeaders)
	ev.Headers["authorization"], ev.MultiValueHeaders["authorization"] = value, []string{value}
	return ev
}

// The reconcile function runs for Netlify's scheduler (its call as
// netlify-cli emulates it, captured) and for an owner with the secret;
// anything else is 403 and runs nothing.
func TestScheduled_RefusesWhatIsNotTheSchedulerOrTheSecret(t *testing.T) {
	sched := load(t, "dev-schedule.json")
	mutated := func(f func(*netlifyfn.Event)) netlifyfn.Event {
		ev := load(t, "dev-schedule.json")
		f(&ev)
		return ev
	}
	for _, c := range []struct {
		name   string
		secret string
		ev     netlifyfn.Event
		want   int
	}{
		{"the scheduler", reconcileSecret, sched, 200},
		{"the scheduler, no secret set", "", sched, 200},
		{"by hand with the secret", reconcileSecret, withAuth(load(t, "dev-direct-status.json"), "Bearer "+reconcileSecret), 200},
		{"a plain call without the secret", reconcileSecret, load(t, "dev-direct-status.json"), 403},
		{"a wrong secret", reconcileSecret, withAuth(load(t, "dev-direct-status.json"), "Bearer "+reconcileSecret+"x"), 403},
		{"the secret without Bearer", reconcileSecret, withAuth(load(t, "dev-direct-status.json"), reconcileSecret), 403},
		{"a wrong secret in the scheduler's shape", reconcileSecret, withAuth(sched, "Bearer nope-nope-nope-nope"), 403},
		{"any secret when none is set", "", withAuth(load(t, "dev-direct-status.json"), "Bearer "), 403},
		{"a GET with the scheduler's marks", reconcileSecret, mutated(func(ev *netlifyfn.Event) { ev.HTTPMethod = "GET" }), 403},
		{"no X-NF-Event", reconcileSecret, mutated(func(ev *netlifyfn.Event) { delete(ev.Headers, "X-NF-Event") }), 403},
		{"another user agent", reconcileSecret, mutated(func(ev *netlifyfn.Event) { ev.Headers["user-agent"] = "attacker" }), 403},
		{"no next_run", reconcileSecret, mutated(func(ev *netlifyfn.Event) { ev.Body = `{}` }), 403},
		{"next_run not a time", reconcileSecret, mutated(func(ev *netlifyfn.Event) { ev.Body = `{"next_run":"soon"}` }), 403},
		{"no body", reconcileSecret, mutated(func(ev *netlifyfn.Event) { ev.Body = "" }), 403},
		{"a checkout", reconcileSecret, load(t, "dev-checkout.json"), 403},
	} {
		app := &countingReconciler{}
		var logs logbuf.Buffer
		resp, err := scheduled(t, app, c.secret, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), c.ev)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.want || resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("%s: %d %v %s, want %d", c.name, resp.StatusCode, resp.Headers, resp.Body, c.want)
		}
		if ran := app.runs == 1; ran != (c.want == 200) {
			t.Errorf("%s: %d runs", c.name, app.runs)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Errorf("%s: not JSON: %s", c.name, resp.Body)
		}
		if c.want == 403 && (body["error"] == nil || !strings.Contains(logs.String(), "reconcile refused")) {
			t.Errorf("%s: %s; log %s", c.name, resp.Body, logs.String())
		}
		if strings.Contains(logs.String(), reconcileSecret) {
			t.Errorf("%s: the secret is in the log", c.name)
		}
	}
}

func TestScheduled_AnswersTheCounts(t *testing.T) {
	resp, _ := scheduled(t, &countingReconciler{}, "", nil)(context.Background(), load(t, "dev-schedule.json"))
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got["open"] != 2.0 || got["moved"] != 1.0 || got["effectsSent"] != 3.0 || got["errors"] != 1.0 || got["stopped"] != false {
		t.Fatalf("%s", resp.Body)
	}
	if strings.Contains(resp.Body, "api.stripe.com") {
		t.Fatalf("an error's text reached the answer: %s", resp.Body)
	}
}

func TestScheduled_AFailedRunIs500WithoutItsText(t *testing.T) {
	app := &countingReconciler{err: errors.New("dynamodb: connection refused at 10.0.0.1")}
	resp, _ := scheduled(t, app, "", nil)(context.Background(), load(t, "dev-schedule.json"))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "10.0.0.1") || !strings.Contains(resp.Body, "reconcile_failed") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestScheduled_AShortSecretFailsAtStart(t *testing.T) {
	_, err := netlifyfn.Scheduled(&countingReconciler{}, func(k string) string { return "short" }, nil)
	if err == nil || !strings.Contains(err.Error(), netlifyfn.ReconcileSecretEnv) {
		t.Fatalf("%v", err)
	}
}
