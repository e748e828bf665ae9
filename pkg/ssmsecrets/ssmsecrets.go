// Package ssmsecrets reads jampay's secrets from SSM Parameter Store once per
// cold start: every SecureString under a path, decrypted, by its last path
// segment (/jampay/prod/STRIPE_SECRET_KEY is STRIPE_SECRET_KEY). Secrets
// never pass through the template or the function's environment.
//
// It makes its one API call (GetParametersByPath) itself, signed with the
// AWS SDK's own SigV4 signer: the SDK's SSM service package spends about
// 6 ms initialising its schemas at every cold start and adds about 1 MB to
// the binary, for a call made once.
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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
)

// Client calls SSM's GetParametersByPath.
type Client struct {
	Region      string
	Credentials aws.CredentialsProvider
	// Endpoint overrides https://ssm.<region>.amazonaws.com (tests).
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

type page struct {
	Parameters []struct {
		Name  string `json:"Name"`
		Value string `json:"Value"`
	} `json:"Parameters"`
	NextToken string `json:"NextToken"`
}

// Fetch returns the parameters directly under dir, decrypted, by name.
func (c *Client) Fetch(ctx context.Context, dir string) (map[string]string, error) {
	out := map[string]string{}
	token := ""
	for {
		req := map[string]any{"Path": strings.TrimRight(dir, "/"), "WithDecryption": true, "Recursive": false}
		if token != "" {
			req["NextToken"] = token
		}
		var p page
		if err := c.call(ctx, "AmazonSSM.GetParametersByPath", req, &p); err != nil {
			return nil, fmt.Errorf("read secrets under %s: %w", dir, err)
		}
		for _, prm := range p.Parameters {
			out[path.Base(prm.Name)] = prm.Value
		}
		if token = p.NextToken; token == "" {
			return out, nil
		}
	}
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

// LoadConfig reads the settings; with SECRETS_PARAMETER_PATH set, the
// secrets under that path in SSM are layered over the environment.
func LoadConfig(ctx context.Context) (config.Config, error) {
	dir := os.Getenv(config.SecretsParameterPath)
	if dir == "" {
		return config.Load(os.Getenv)
	}
	creds, err := awsenv.Credentials()
	if err != nil {
		return config.Config{}, fmt.Errorf("read secrets: %w", err)
	}
	c := &Client{Region: awsenv.Region("us-east-1"), Credentials: creds}
	secrets, err := c.Fetch(ctx, dir)
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(Getenv(secrets))
}

// Getenv layers secrets over the environment: a name found in secrets wins.
func Getenv(secrets map[string]string) func(string) string {
	return func(name string) string {
		if v, ok := secrets[name]; ok {
			return v
		}
		return os.Getenv(name)
	}
}
