// Package ssmsecrets reads a Lambda function's own secrets from SSM
// Parameter Store once per cold start: the SecureStrings it names, under
// one path, decrypted, by their last path segment
// (/jampay/prod/STRIPE_SECRET_KEY is STRIPE_SECRET_KEY). Secrets never pass
// through the template or the function's environment, and a function never
// receives a secret it did not name: its IAM policy allows exactly those
// parameters, and the request asks for nothing else.
//
// It makes its one API call (GetParameters) itself, signed with the AWS
// SDK's own SigV4 signer: the SDK's SSM service package spends about 6 ms
// initialising its schemas at every cold start and adds about 1 MB to the
// binary, for a call made once.
package ssmsecrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
)

// Client calls SSM's GetParameters.
type Client struct {
	Region      string
	Credentials aws.CredentialsProvider
	// Endpoint overrides https://ssm.<region>.amazonaws.com (tests, and
	// AWS_ENDPOINT_URL_SSM).
	Endpoint string
	HTTP     *http.Client
	Now      func() time.Time
}

func (c *Client) endpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(c.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://ssm." + c.Region + "." + domain + "/"
}

// maxNames is how many names one GetParameters call takes.
const maxNames = 10

type getParametersOutput struct {
	Parameters []struct {
		Name  string `json:"Name"`
		Value string `json:"Value"`
	} `json:"Parameters"`
	InvalidParameters []string `json:"InvalidParameters"`
}

// Fetch returns the parameters dir/<name> for each of names, decrypted, by
// name. A parameter SSM does not have (it lists it in InvalidParameters) is
// absent from the map: a shop may use one gateway, and the settings' own
// checks say which secrets a function cannot start without.
func (c *Client) Fetch(ctx context.Context, dir string, names ...string) (map[string]string, error) {
	if len(names) == 0 || len(names) > maxNames {
		return nil, fmt.Errorf("read secrets under %s: want 1 to %d names, have %d", dir, maxNames, len(names))
	}
	full := make([]string, len(names))
	for i, n := range names {
		full[i] = strings.TrimRight(dir, "/") + "/" + n
	}
	var out getParametersOutput
	if err := c.call(ctx, "AmazonSSM.GetParameters", map[string]any{"Names": full, "WithDecryption": true}, &out); err != nil {
		return nil, fmt.Errorf("read secrets under %s: %w", dir, err)
	}
	got := map[string]string{}
	for _, p := range out.Parameters {
		got[path.Base(p.Name)] = p.Value
	}
	return got, nil
}

func (c *Client) call(ctx context.Context, target string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, "POST", c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.Region, now().UTC()); err != nil {
		return err
	}
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("SSM answered %d %s: %s", resp.StatusCode, e.Type, e.Message)
	}
	return json.Unmarshal(b, out)
}

// LoadConfig reads the settings, with the secrets names lists and no
// other: from SSM under SECRETS_PARAMETER_PATH when it is set (Lambda), else
// from the environment. Any other secret reads as unset whatever the
// environment holds, so the function never holds a key it does not use.
func LoadConfig(ctx context.Context, names ...string) (config.Config, error) {
	dir := os.Getenv(config.SecretsParameterPath)
	if dir == "" {
		return config.Load(getenv(nil, names))
	}
	creds, err := awsenv.Credentials()
	if err != nil {
		return config.Config{}, fmt.Errorf("read secrets: %w", err)
	}
	c := &Client{Region: awsenv.Region("us-east-1"), Credentials: creds, Endpoint: os.Getenv("AWS_ENDPOINT_URL_SSM")}
	secrets, err := c.Fetch(ctx, dir, names...)
	if err != nil {
		return config.Config{}, err
	}
	if len(secrets) == 0 {
		// Each function needs at least one of its secrets: none at all is a
		// wrong path or parameters not yet made, and says so better than
		// "no gateway is configured".
		return config.Config{}, fmt.Errorf("missing setting: none of %s is in SSM Parameter Store under %s (%s)",
			strings.Join(names, ", "), dir, config.SecretsParameterPath)
	}
	return config.Load(getenv(secrets, names))
}

// getenv reads a setting. One of names comes from secrets, or from the
// environment where secrets is nil (no SSM path: a local run); any other
// secret (config.Secrets) reads as unset; the rest come from the
// environment.
func getenv(secrets map[string]string, names []string) func(string) string {
	return func(name string) string {
		mine := slices.Contains(names, name)
		switch {
		case mine && secrets != nil:
			return secrets[name]
		case !mine && slices.Contains(config.Secrets, name):
			return ""
		}
		return os.Getenv(name)
	}
}
