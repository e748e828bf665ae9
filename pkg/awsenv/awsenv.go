// Package awsenv gives AWS SDK clients their region and credentials from
// the environment Lambda sets for every function (AWS_REGION, and the
// role's session credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN). It replaces the SDK's config loader, which reads
// shared config files at every cold start and links SSO, STS and IMDS
// clients that a jampay function never uses.
//
// On hosts that reserve the AWS names (Netlify refuses them; Vercel sets
// its own, which grant nothing), the owner's identity is in
// JAMPAY_AWS_ACCESS_KEY_ID, JAMPAY_AWS_SECRET_ACCESS_KEY and
// JAMPAY_AWS_REGION: they come first, and are never mixed with the host's
// (a platform's AWS_SESSION_TOKEN with the owner's key would be refused).
package awsenv

import (
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The names hosts that reserve the AWS ones read first.
const (
	JampayAccessKeyID     = "JAMPAY_AWS_ACCESS_KEY_ID"
	JampaySecretAccessKey = "JAMPAY_AWS_SECRET_ACCESS_KEY"
	JampayRegion          = "JAMPAY_AWS_REGION"
)

// Region returns JAMPAY_AWS_REGION, else AWS_REGION (Lambda sets it), else
// AWS_DEFAULT_REGION, else fallback.
func Region(fallback string) string {
	for _, name := range []string{JampayRegion, "AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return fallback
}

// ErrNoCredentials says the environment holds no AWS credentials.
var ErrNoCredentials = errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")

// Credentials returns the environment's credentials: JAMPAY_AWS_* when
// set (an IAM user's key: no session token), else the AWS names. Lambda's
// last as long as the execution environment, so they need no refreshing.
func Credentials() (aws.CredentialsProvider, error) {
	if id, secret := os.Getenv(JampayAccessKeyID), os.Getenv(JampaySecretAccessKey); id != "" || secret != "" {
		if id == "" || secret == "" {
			return nil, errors.New("set both " + JampayAccessKeyID + " and " + JampaySecretAccessKey + ", or neither")
		}
		return credentials.NewStaticCredentialsProvider(id, secret, ""), nil
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, ErrNoCredentials
	}
	return credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")), nil
}
