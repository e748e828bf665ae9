package ssmsecrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/jampay/jampay/pkg/config"
)

// fakeSSM stands in for SSM's GetParameters as its API reference describes
// it: AWS JSON 1.1 (Content-Type application/x-amz-json-1.1, X-Amz-Target
// AmazonSSM.GetParameters), SigV4 for service "ssm", a body of exactly
// Names and WithDecryption; found parameters come back in Parameters, the
// others by name in InvalidParameters. It re-signs each request to prove
// the signature covers the body sent, and keeps the names it was asked for.
type fakeSSM struct {
	t      *testing.T
	creds  credentials.StaticCredentialsProvider
	region string
	params map[string]string // full name → value

	mu       sync.Mutex
	asked    [][]string
	signedAt time.Time
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	body, _ := io.ReadAll(r.Body)
	if r.Method != "POST" || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		r.Header.Get("X-Amz-Security-Token") != "session-token" {
		t.Errorf("%s with headers %v", r.Method, r.Header)
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Errorf("X-Amz-Date %q", r.Header.Get("X-Amz-Date"))
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"+signedAt.Format("20060102")+"/"+f.region+"/ssm/aws4_request") {
		t.Errorf("Authorization %q", auth)
	}
	again, _ := http.NewRequest("POST", "http://"+r.Host+r.URL.Path, bytes.NewReader(body))
	for _, h := range []string{"Content-Type", "X-Amz-Target"} {
		again.Header.Set(h, r.Header.Get(h))
	}
	c, _ := f.creds.Retrieve(context.Background())
	sum := sha256.Sum256(body)
	_ = v4.NewSigner().SignHTTP(context.Background(), c, again, hex.EncodeToString(sum[:]), "ssm", f.region, signedAt)
	if again.Header.Get("Authorization") != auth {
		t.Errorf("signature does not cover the body sent")
	}
	var in map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil || len(in) != 2 || string(in["WithDecryption"]) != "true" {
		t.Errorf("body %s: want exactly Names and WithDecryption true", body)
	}
	var names []string
	_ = json.Unmarshal(in["Names"], &names)
	f.mu.Lock()
	f.asked, f.signedAt = append(f.asked, names), signedAt
	f.mu.Unlock()
	type parameter struct{ ARN, Name, Type, Value, DataType string }
	out := struct {
		Parameters        []parameter
		InvalidParameters []string
	}{Parameters: []parameter{}, InvalidParameters: []string{}}
	for _, n := range names {
		if v, ok := f.params[n]; ok {
			out.Parameters = append(out.Parameters, parameter{"arn:aws:ssm:" + f.region + ":123456789012:parameter" + n, n, "SecureString", v, "text"})
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// everySecret is an SSM path holding every secret of every function.
var everySecret = map[string]string{
	"/jampay/prod/STRIPE_SECRET_KEY":       "sk_live_0123456789",
	"/jampay/prod/STRIPE_WEBHOOK_SECRET":   "whsec_0123456789abcdef0123",
	"/jampay/prod/RAZORPAY_KEY_ID":         "rzp_live_0123456789",
	"/jampay/prod/RAZORPAY_KEY_SECRET":     "rzp-key-secret-0123456789",
	"/jampay/prod/RAZORPAY_WEBHOOK_SECRET": "rzp-webhook-secret-0123456789",
}

func newFakeSSM(t *testing.T, params map[string]string) (*fakeSSM, *httptest.Server) {
	f := &fakeSSM{t: t, creds: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token"),
		region: "eu-west-1", params: params}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestFetch_AsksForExactlyTheNamedParameters(t *testing.T) {
	params := map[string]string{}
	for n, v := range everySecret {
		if !strings.HasSuffix(n, "/RAZORPAY_KEY_ID") && !strings.HasSuffix(n, "/RAZORPAY_KEY_SECRET") {
			params[n] = v // a Stripe-only shop
		}
	}
	f, srv := newFakeSSM(t, params)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := &Client{Region: f.region, Credentials: f.creds, Endpoint: srv.URL + "/", Now: func() time.Time { return now }}
	got, err := c.Fetch(context.Background(), "/jampay/prod/", config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"/jampay/prod/STRIPE_SECRET_KEY", "/jampay/prod/RAZORPAY_KEY_ID", "/jampay/prod/RAZORPAY_KEY_SECRET"}}
	if !reflect.DeepEqual(f.asked, want) {
		t.Errorf("asked for %v, want %v", f.asked, want)
	}
	if !f.signedAt.Equal(now) {
		t.Errorf("signed at %s, want the client's clock %s", f.signedAt, now)
	}
	if !reflect.DeepEqual(got, map[string]string{config.StripeSecretKey: "sk_live_0123456789"}) {
		t.Errorf("got %v: want the Stripe key alone (the Razorpay ones are not in SSM)", got)
	}
}

func TestFetch_ErrorNamesThePathNotTheSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"User is not authorized to perform ssm:GetParameters"}`))
	}))
	defer srv.Close()
	c := &Client{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", ""), Endpoint: srv.URL + "/"}
	_, err := c.Fetch(context.Background(), "/jampay/prod", config.StripeWebhookSecret)
	if err == nil || !strings.Contains(err.Error(), "/jampay/prod") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("%v", err)
	}
}

func lambdaEnv(t *testing.T, ssmURL string) {
	t.Setenv(config.SecretsParameterPath, "/jampay/prod")
	t.Setenv("AWS_ENDPOINT_URL_SSM", ssmURL+"/")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
}

// What the checkout and webhook functions name (functions/*/main.go).
var (
	checkoutSecrets = []string{config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret}
	webhookSecrets  = []string{config.StripeWebhookSecret, config.RazorpayWebhookSecret}
)

// A function holds only the secrets it names, even when SSM, or its
// environment, holds every secret of the shop.
func TestLoadConfig_OnlyTheFunctionsOwnSecrets(t *testing.T) {
	f, srv := newFakeSSM(t, everySecret)
	lambdaEnv(t, srv.URL)
	t.Setenv(config.StripeMode, "live")
	// Left in the environment by mistake: never read.
	t.Setenv(config.StripeSecretKey, "sk_live_from_the_environment")
	t.Setenv(config.StripeWebhookSecret, "whsec_from_the_environment_0123")

	c, err := LoadConfig(context.Background(), checkoutSecrets...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Stripe.SecretKey != "sk_live_0123456789" || c.Razorpay.KeySecret != "rzp-key-secret-0123456789" || c.Razorpay.KeyID != "rzp_live_0123456789" {
		t.Errorf("checkout: %+v", c)
	}
	if len(c.Stripe.WebhookSecrets) != 0 || len(c.Razorpay.WebhookSecrets) != 0 {
		t.Errorf("checkout holds webhook secrets: %+v", c)
	}

	w, err := LoadConfig(context.Background(), webhookSecrets...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w.Stripe.WebhookSecrets, []string{"whsec_0123456789abcdef0123"}) || !reflect.DeepEqual(w.Razorpay.WebhookSecrets, []string{"rzp-webhook-secret-0123456789"}) {
		t.Errorf("webhook: %+v", w)
	}
	if w.Stripe.SecretKey != "" || w.Razorpay.KeySecret != "" || w.Razorpay.KeyID != "" {
		t.Errorf("webhook holds a key that can move money: %+v", w)
	}
	for _, names := range f.asked {
		for _, n := range names {
			if !strings.HasPrefix(n, "/jampay/prod/") {
				t.Errorf("asked for %s", n)
			}
		}
	}
	if len(f.asked) != 2 || len(f.asked[0]) != len(checkoutSecrets) || len(f.asked[1]) != len(webhookSecrets) {
		t.Errorf("asked SSM for %v", f.asked)
	}
}

// Run outside Lambda (no SSM path), the environment's other secrets are
// still out of reach.
func TestLoadConfig_WithoutSSMOnlyTheFunctionsOwnSecrets(t *testing.T) {
	t.Setenv(config.SecretsParameterPath, "")
	t.Setenv(config.StripeMode, "test")
	t.Setenv(config.StripeSecretKey, "sk_test_0123456789")
	t.Setenv(config.StripeWebhookSecret, "whsec_0123456789abcdef0123")
	t.Setenv(config.RazorpayKeySecret, "rzp-key-secret-0123456789")
	c, err := LoadConfig(context.Background(), webhookSecrets...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Stripe.SecretKey != "" || c.Razorpay.KeySecret != "" || len(c.Stripe.WebhookSecrets) != 1 {
		t.Errorf("%+v", c)
	}
}

func TestLoadConfig_NoneOfItsSecretsInSSMIsNamed(t *testing.T) {
	_, srv := newFakeSSM(t, map[string]string{})
	lambdaEnv(t, srv.URL)
	_, err := LoadConfig(context.Background(), webhookSecrets...)
	if err == nil || !strings.Contains(err.Error(), "/jampay/prod") || !strings.Contains(err.Error(), config.StripeWebhookSecret) ||
		!strings.Contains(err.Error(), config.RazorpayWebhookSecret) {
		t.Fatalf("%v", err)
	}
}

// A secret SSM holds is checked like any setting: the error names it and
// never repeats it.
func TestLoadConfig_WeakSecretInSSMIsNamed(t *testing.T) {
	_, srv := newFakeSSM(t, map[string]string{"/jampay/prod/STRIPE_WEBHOOK_SECRET": "whsec_short"})
	lambdaEnv(t, srv.URL)
	_, err := LoadConfig(context.Background(), webhookSecrets...)
	if err == nil || !strings.Contains(err.Error(), config.StripeWebhookSecret) || strings.Contains(err.Error(), "whsec_short") {
		t.Fatalf("%v", err)
	}
}

// In Lambda a secret comes from SSM or not at all: one left in the
// environment never stands in for one missing from the parameter store.
func TestLoadConfig_InLambdaSecretsComeOnlyFromSSM(t *testing.T) {
	_, srv := newFakeSSM(t, map[string]string{"/jampay/prod/STRIPE_WEBHOOK_SECRET": "whsec_0123456789abcdef0123"})
	lambdaEnv(t, srv.URL)
	t.Setenv(config.StripeMode, "test")
	t.Setenv(config.RazorpayWebhookSecret, "rzp-webhook-from-the-environment")
	c, err := LoadConfig(context.Background(), webhookSecrets...)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Stripe.WebhookSecrets) != 1 || len(c.Razorpay.WebhookSecrets) != 0 {
		t.Errorf("%+v", c)
	}
}
