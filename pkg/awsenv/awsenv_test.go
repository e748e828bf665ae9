package awsenv

import (
	"context"
	"testing"
)

func TestCredentials_JampayNamesComeFirstAndAreNeverMixed(t *testing.T) {
	// What Vercel sets in every function, granting nothing.
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIAHOSTHOSTHOST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
	t.Setenv("AWS_SESSION_TOKEN", "host-session")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(JampayAccessKeyID, "AKIAOWNEROWNEROWN")
	t.Setenv(JampaySecretAccessKey, "owner-secret")
	t.Setenv(JampayRegion, "ap-south-1")
	p, err := Credentials()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.Retrieve(context.Background())
	if c.AccessKeyID != "AKIAOWNEROWNEROWN" || c.SecretAccessKey != "owner-secret" || c.SessionToken != "" || Region("x") != "ap-south-1" {
		t.Fatalf("credentials %+v, region %s", c, Region("x"))
	}
	t.Setenv(JampaySecretAccessKey, "")
	if _, err := Credentials(); err == nil {
		t.Fatal("half of the JAMPAY_AWS_ pair was taken")
	}
	t.Setenv(JampayAccessKeyID, "")
	t.Setenv(JampayRegion, "")
	p, err = Credentials()
	if err != nil {
		t.Fatal(err)
	}
	c, _ = p.Retrieve(context.Background())
	if c.AccessKeyID != "ASIAHOSTHOSTHOST" || c.SessionToken != "host-session" || Region("x") != "us-east-1" {
		t.Fatalf("Lambda's names: %+v", c)
	}
}
