package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
	"github.com/jampay/jampay/pkg/ssmsecrets"
)

// The owner's commands (orders, order, refund, reconcile) share what is
// here: the settings, read by the names and the rules the Lambda functions
// read them by; the owner's AWS credentials; the store; and who is acting,
// for the order's history.

// apiKeys are the secrets the owner's actions use, as the reconcile
// function: the gateways' API keys, never a webhook secret.
var apiKeys = []string{config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret}

// credentialsHelp says where the owner's AWS credentials come from. The
// SDK's default chain (profiles, SSO, ~/.aws files) lives in its config
// package, which jampay does not link (see pkg/awsenv): the environment
// variables are enough, and the AWS CLI prints them from any profile.
const credentialsHelp = "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and AWS_REGION —" +
	` eval "$(aws configure export-credentials --format env)" sets them from your AWS CLI profile, then AWS_REGION to your stack's region —` +
	" or set DYNAMODB_ENDPOINT to use DynamoDB Local"

// owner is one owner's command's view of the shop.
type owner struct {
	getenv func(string) string
	cfg    config.Config
	store  *dynamostore.Store
	// aws is the owner's AWS access; nil when the environment holds no
	// credentials (DynamoDB Local).
	aws *awsAccess
	// local: the store is DynamoDB Local (DYNAMODB_ENDPOINT), so actions
	// are recorded as "local", as `jampay serve` records them.
	local bool
}

// awsAccess is the owner's AWS credentials and region, from the
// environment.
type awsAccess struct {
	region string
	creds  aws.CredentialsProvider
}

// openOwner reads the settings through getenv — with secrets (the API
// keys), from SSM Parameter Store under SECRETS_PARAMETER_PATH when it is
// set, as in Lambda — and opens the table. Commands that only read orders
// pass secrets false: they need no gateway key.
func openOwner(ctx context.Context, getenv func(string) string, secrets bool) (*owner, error) {
	a, err := awsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	var names []string
	if secrets {
		names = apiKeys
	}
	cfg, err := ownerSettings(ctx, getenv, a, names)
	if err != nil {
		return nil, err
	}
	if err := cfg.Require(config.TableName); err != nil {
		return nil, err
	}
	o := &owner{getenv: getenv, cfg: cfg, aws: a, local: cfg.DynamoDBEndpoint != ""}
	endpoint := cfg.DynamoDBEndpoint
	if !o.local {
		if a == nil {
			return nil, fmt.Errorf("missing setting: no AWS credentials to reach table %s: %s", cfg.TableName, credentialsHelp)
		}
		// Another endpoint of AWS's DynamoDB (a VPC endpoint, a test's
		// stand-in), by the SDK's convention for every service.
		endpoint = getenv("AWS_ENDPOINT_URL_DYNAMODB")
	}
	client, err := dynamostore.NewClient(ctx, endpoint, func(opts *dynamodb.Options) {
		// getenv, not the process environment, is what the command was
		// given to read.
		if a != nil {
			opts.Region, opts.Credentials = a.region, a.creds
		} else {
			// DynamoDB Local checks neither.
			opts.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		}
	})
	if err != nil {
		return nil, err
	}
	o.store = dynamostore.New(client, cfg.TableName, time.Now)
	return o, nil
}

// awsFromEnv reads the owner's AWS credentials and region, or nil when
// there are no credentials at all.
func awsFromEnv(getenv func(string) string) (*awsAccess, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id == "" && secret == "":
		return nil, nil
	case id == "":
		return nil, fmt.Errorf("missing setting: AWS_ACCESS_KEY_ID (AWS_SECRET_ACCESS_KEY is set without it)")
	case secret == "":
		return nil, fmt.Errorf("missing setting: AWS_SECRET_ACCESS_KEY (AWS_ACCESS_KEY_ID is set without it)")
	}
	// No default region: a table looked for in the wrong one is "not
	// found", which says less than this.
	region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return nil, fmt.Errorf("missing setting: AWS_REGION (the region of your jampay stack, such as eu-west-1)")
	}
	return &awsAccess{region: region, creds: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))}, nil
}

// ownerSettings reads the settings as ssmsecrets.LoadConfig does for a
// function, through getenv rather than the process environment: the
// secrets names lists come from SSM under SECRETS_PARAMETER_PATH when it is
// set (else from getenv), and any other secret reads as unset, so no
// command holds a key it does not use.
func ownerSettings(ctx context.Context, getenv func(string) string, a *awsAccess, names []string) (config.Config, error) {
	lookup := func(name string) string {
		if slices.Contains(config.Secrets, name) && !slices.Contains(names, name) {
			return ""
		}
		return getenv(name)
	}
	dir := getenv(config.SecretsParameterPath)
	if dir == "" || len(names) == 0 {
		return config.Load(lookup)
	}
	if a == nil {
		return config.Config{}, fmt.Errorf("missing setting: %s is set, and reading the secrets under it needs AWS credentials: %s",
			config.SecretsParameterPath, credentialsHelp)
	}
	ssm := &ssmsecrets.Client{Region: a.region, Credentials: a.creds, Endpoint: getenv("AWS_ENDPOINT_URL_SSM")}
	secrets, err := ssm.Fetch(ctx, dir, names...)
	if err != nil {
		return config.Config{}, err
	}
	if len(secrets) == 0 {
		return config.Config{}, fmt.Errorf("missing setting: none of %s is in SSM Parameter Store under %s (%s)",
			strings.Join(names, ", "), dir, config.SecretsParameterPath)
	}
	return config.Load(func(name string) string {
		if slices.Contains(names, name) {
			return secrets[name]
		}
		return lookup(name)
	})
}

// actor is who acts, for the order's history: the AWS principal the
// credentials belong to (STS GetCallerIdentity), or "local" on DynamoDB
// Local, where there is no AWS identity to speak of.
func (o *owner) actor(ctx context.Context) (string, error) {
	if o.local {
		return "local", nil
	}
	arn, err := callerARN(ctx, o.aws, o.getenv("AWS_ENDPOINT_URL_STS"))
	if err != nil {
		return "", fmt.Errorf("who is acting (recorded in the order's history): %w", err)
	}
	return arn, nil
}

// explain turns a store failure the owner can mend into a sentence: a
// table that is not there is a wrong TABLE_NAME, region or endpoint.
func (o *owner) explain(err error) error {
	var missing *ddb.ResourceNotFoundException
	if !errors.As(err, &missing) {
		return err
	}
	if o.local {
		return fmt.Errorf("there is no table %s at %s: check %s and %s (jampay serve creates it)", o.cfg.TableName,
			o.cfg.DynamoDBEndpoint, config.TableName, config.DynamoDBEndpoint)
	}
	return fmt.Errorf("there is no table %s in %s: check %s (your stack's TableName output) and AWS_REGION", o.cfg.TableName, o.aws.region, config.TableName)
}
