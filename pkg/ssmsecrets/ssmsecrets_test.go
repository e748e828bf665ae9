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
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestFetch checks the call as SSM's API reference describes
// GetParametersByPath (JSON 1.1 protocol, X-Amz-Target, SigV4 for service
// "ssm"), re-signing each request on the server side to prove the
// signature covers the body sent, and follows NextToken.
func TestFetch(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParametersByPath" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			r.Header.Get("X-Amz-Security-Token") != "session-token" {
			t.Errorf("headers %v", r.Header)
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/ssm/aws4_request") {
			t.Errorf("Authorization %q", auth)
		}
		again, _ := http.NewRequest("POST", "http://"+r.Host+r.URL.Path, bytes.NewReader(body))
		for _, h := range []string{"Content-Type", "X-Amz-Target"} {
			again.Header.Set(h, r.Header.Get(h))
		}
		c, _ := creds.Retrieve(context.Background())
		sum := sha256hex(body)
		_ = v4.NewSigner().SignHTTP(context.Background(), c, again, sum, "ssm", "eu-west-1", now)
		if again.Header.Get("Authorization") != auth {
			t.Errorf("signature does not cover the body sent")
		}
		var in struct {
			Path           string
			WithDecryption bool
			NextToken      string
		}
		_ = json.Unmarshal(body, &in)
		if in.Path != "/jampay/prod" || !in.WithDecryption {
			t.Errorf("body %s", body)
		}
		if in.NextToken == "" {
			_, _ = w.Write([]byte(`{"Parameters":[{"Name":"/jampay/prod/STRIPE_SECRET_KEY","Type":"SecureString","Value":"sk_test_1","Version":1}],"NextToken":"page2"}`))
			return
		}
		_, _ = w.Write([]byte(`{"Parameters":[{"Name":"/jampay/prod/STRIPE_WEBHOOK_SECRET","Type":"SecureString","Value":"whsec_a,whsec_b","Version":3}]}`))
	}))
	defer srv.Close()
	c := &Client{Region: "eu-west-1", Credentials: creds, Endpoint: srv.URL + "/", Now: func() time.Time { return now }}
	got, err := c.Fetch(context.Background(), "/jampay/prod/")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || got["STRIPE_SECRET_KEY"] != "sk_test_1" || got["STRIPE_WEBHOOK_SECRET"] != "whsec_a,whsec_b" {
		t.Fatalf("%d calls, %v", calls, got)
	}
	env := Getenv(got)
	if env("STRIPE_SECRET_KEY") != "sk_test_1" {
		t.Fatal("secrets not layered over the environment")
	}
}

func TestFetch_ErrorNamesThePathNotTheSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"User is not authorized to perform ssm:GetParametersByPath"}`))
	}))
	defer srv.Close()
	c := &Client{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", ""), Endpoint: srv.URL + "/"}
	_, err := c.Fetch(context.Background(), "/jampay/prod")
	if err == nil || !strings.Contains(err.Error(), "/jampay/prod") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("%v", err)
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
