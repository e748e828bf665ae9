package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

// abandonedRazorpay is a Razorpay order left pending an hour past its
// checkout deadline, as reconcile finds it.
func abandonedRazorpay(now time.Time) *order.Order {
	o := paidOrder("razorpay", now.Add(-2*time.Hour), 39800, "inr")
	o.Status, o.Version, o.Evidence, o.History, o.PaymentRef = order.Pending, 0, order.Evidence{}, nil, ""
	o.Deadline = now.Add(-time.Hour)
	return o
}

// TestReconcile_ReportThenBusyLease: `jampay reconcile -dry-run` shows what
// it would apply and changes nothing; `jampay reconcile` applies it as
// "local" on DynamoDB Local and reports it; a run while another holds the
// lease does nothing and fails; a gateway's failure is reported and fails
// the command.
func TestReconcile_ReportThenBusyLease(t *testing.T) {
	env, store := shopTable(t)
	api, srv := newRazorpayAPI(t)
	env = with(env, razorpayKeys(srv.URL)...)
	ctx := context.Background()
	now := time.Now()
	o := abandonedRazorpay(now)
	mustCreateIndexed(t, store, o)
	api.captured(o, now.Add(-90*time.Minute))

	out, errOut, err := jampay(ctx, env, "reconcile", "-dry-run")
	if err != nil {
		t.Fatal(err, errOut)
	}
	for _, want := range []string{"Reconcile, as local (dry run: nothing was changed)", "events that would be applied", "Would apply",
		"razorpay", "payment.captured", "paid", o.SessionRef, "₹398.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`open orders past their deadline, asked about\s+1\n`).MatchString(out) ||
		!regexp.MustCompile(`subscriptions asked about\s+0\n`).MatchString(out) || !strings.Contains(out, "renewals the webhooks missed, found") {
		t.Errorf("dry run:\n%s", out)
	}
	if got := mustGet(t, store, o.ID); got.Status != order.Pending || got.Version != o.Version {
		t.Fatalf("a dry run changed the order: %s v%d", got.Status, got.Version)
	}

	out, errOut, err = jampay(ctx, env, "reconcile")
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !regexp.MustCompile(`changes made to orders\s+1\n`).MatchString(out) || strings.Contains(out, "Would apply") {
		t.Errorf("report:\n%s", out)
	}
	got := mustGet(t, store, o.ID)
	last := got.History[len(got.History)-1]
	if got.Status != order.Paid || last.Source != order.SourceReconcile || last.Actor != "local" || last.From != order.Pending || last.To != order.Paid {
		t.Fatalf("after reconcile: %s, history %+v", got.Status, got.History)
	}

	// Another run (the schedule, another terminal) holds the lease.
	if ok, err := store.TakeLease(ctx, shop.ReconcileLease, "lambda:other-run", now.Add(5*time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	out, _, err = jampay(ctx, env, "reconcile")
	if err == nil || !strings.Contains(err.Error(), "another reconcile run holds the lease") || out != "" {
		t.Fatalf("while another run holds the lease: %v %q", err, out)
	}
	if err := store.ReleaseLease(ctx, shop.ReconcileLease, "lambda:other-run"); err != nil {
		t.Fatal(err)
	}

	// A gateway that fails for one order: reported, left for the next run,
	// and the command fails.
	broken := abandonedRazorpay(now)
	mustCreateIndexed(t, store, broken)
	api.mu.Lock()
	api.broken[broken.SessionRef] = true
	api.mu.Unlock()
	out, _, err = jampay(ctx, env, "reconcile")
	if err == nil || !strings.Contains(err.Error(), "left 1 failure for the next run") ||
		!strings.Contains(out, "Failures (each is asked again by the next run)") || !strings.Contains(out, broken.ID) {
		t.Fatalf("a failed order: %v\n%s", err, out)
	}
	if got := mustGet(t, store, broken.ID); got.Status != order.Pending {
		t.Fatalf("a gateway error moved the order to %s", got.Status)
	}
}

// TestReconcile_Settings: reconcile needs a gateway's keys, and, with
// Stripe's, STRIPE_MODE, as the function does.
func TestReconcile_Settings(t *testing.T) {
	env, _ := shopTable(t)
	ctx := context.Background()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{env, "no gateway is configured (set STRIPE_SECRET_KEY, or RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET)"},
		{with(env, "STRIPE_SECRET_KEY", "sk_test_123"), "missing setting: STRIPE_MODE"},
		{with(env, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_MODE", "live"), "STRIPE_MODE is live but STRIPE_SECRET_KEY is a test-mode key"},
		{with(env, "RAZORPAY_KEY_ID", "rzp_test_key"), "missing setting: RAZORPAY_KEY_SECRET"},
		// Secrets under an SSM path need AWS credentials to read.
		{with(env, "SECRETS_PARAMETER_PATH", "/jampay/prod"), "SECRETS_PARAMETER_PATH is set, and reading the secrets under it needs AWS credentials"},
	} {
		if _, _, err := jampay(ctx, c.env, "reconcile"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.env, err, c.want)
		}
	}
}

// TestReconcileAndRefund_AsTheAWSPrincipal: against AWS (here DynamoDB
// Local behind AWS_ENDPOINT_URL_DYNAMODB, and stand-ins for STS and SSM),
// the API keys come from SSM under SECRETS_PARAMETER_PATH — those three
// names and no other — and the history records the principal STS names,
// for a reconcile run and for a refund.
func TestReconcileAndRefund_AsTheAWSPrincipal(t *testing.T) {
	env, store := awsTable(t)
	api, rzp := newRazorpayAPI(t)
	const arn = "arn:aws:sts::123456789012:assumed-role/ShopOwner/alice"
	var asked []string
	ssm := ssmAPI(t, map[string]string{
		"/jampay/test/RAZORPAY_KEY_ID": "rzp_test_key", "/jampay/test/RAZORPAY_KEY_SECRET": "key_secret_1234567890",
	}, &asked)
	env = with(env, "SECRETS_PARAMETER_PATH", "/jampay/test", "AWS_ENDPOINT_URL_SSM", ssm.URL, "AWS_ENDPOINT_URL_STS", stsAPI(t, arn).URL,
		"RAZORPAY_API_BASE", rzp.URL,
		// Overridden by SSM: the keys under the path are the ones used.
		"RAZORPAY_KEY_ID", "rzp_test_wrong", "RAZORPAY_KEY_SECRET", "wrong-secret")
	ctx := context.Background()
	now := time.Now()
	o := abandonedRazorpay(now)
	mustCreateIndexed(t, store, o)
	api.captured(o, now.Add(-90*time.Minute))

	out, errOut, err := jampay(ctx, env, "reconcile")
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, "Reconcile, as "+arn) {
		t.Errorf("report:\n%s", out)
	}
	want := []string{"/jampay/test/RAZORPAY_KEY_ID", "/jampay/test/RAZORPAY_KEY_SECRET", "/jampay/test/STRIPE_SECRET_KEY"}
	if slices.Sort(asked); !slices.Equal(asked, want) {
		t.Errorf("asked SSM for %v, want %v", asked, want)
	}
	got := mustGet(t, store, o.ID)
	if last := got.History[len(got.History)-1]; got.Status != order.Paid || last.Actor != arn {
		t.Fatalf("after reconcile: %s, history %+v", got.Status, got.History)
	}

	asked = nil
	out, errOut, err = jampay(ctx, env, "refund", o.ID, "-amount", "100")
	if err != nil || !strings.Contains(out, "Asked razorpay to refund ₹1.00") {
		t.Fatalf("refund: %v %s\n%s", err, errOut, out)
	}
	if slices.Sort(asked); !slices.Equal(asked, want) {
		t.Errorf("refund asked SSM for %v, want %v", asked, want)
	}
	got = mustGet(t, store, o.ID)
	if last := got.History[len(got.History)-1]; last.EventType != order.EventRefundRequested || last.Actor != arn || got.Refunds[0].Actor != arn {
		t.Fatalf("after the refund: history %+v, refunds %+v", got.History, got.Refunds)
	}

	// None of the keys under the path: said so, naming the path.
	asked = nil
	if _, _, err := jampay(ctx, with(env, "SECRETS_PARAMETER_PATH", "/jampay/typo"), "reconcile"); err == nil ||
		!strings.Contains(err.Error(), "none of STRIPE_SECRET_KEY, RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET is in SSM Parameter Store under /jampay/typo") {
		t.Fatalf("wrong path: %v", err)
	}
}
