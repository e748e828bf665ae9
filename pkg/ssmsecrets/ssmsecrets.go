// Package ssmsecrets reads jampay's secrets from SSM Parameter Store once per
// cold start: every SecureString under a path, decrypted, by its last path
// segment (/jampay/prod/STRIPE_SECRET_KEY is STRIPE_SECRET_KEY). Secrets
// never pass through the template or the function's environment.
package ssmsecrets

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
)

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
	client := ssm.New(ssm.Options{Region: awsenv.Region(""), Credentials: creds})
	secrets, err := Fetch(ctx, client, dir)
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(Getenv(secrets))
}

// Client is the part of the SSM client this package uses.
type Client interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Fetch returns the parameters under dir by name.
func Fetch(ctx context.Context, client Client, dir string) (map[string]string, error) {
	out := map[string]string{}
	in := &ssm.GetParametersByPathInput{Path: aws.String(strings.TrimRight(dir, "/")), WithDecryption: aws.Bool(true), Recursive: aws.Bool(false)}
	p := ssm.NewGetParametersByPathPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read secrets under %s: %w", dir, err)
		}
		for _, prm := range page.Parameters {
			out[path.Base(aws.ToString(prm.Name))] = aws.ToString(prm.Value)
		}
	}
	return out, nil
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
