package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
)

// OpenOptions are Open's rare knobs.
type OpenOptions struct {
	// CreateTable creates the table when it is missing. It is for
	// DynamoDB Local, which starts empty; in AWS the template makes the
	// table and a function's role may not create one.
	CreateTable bool
}

// Open returns the store the settings name: the table TABLE_NAME (required)
// in the region's DynamoDB, or in DynamoDB Local at DYNAMODB_ENDPOINT. The
// Lambda functions, `jampay serve` and (to come) the owner's CLI build
// their store here, so they read the same table the same way.
func Open(ctx context.Context, c config.Config, o OpenOptions) (*Store, error) {
	if err := c.Require(config.TableName); err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, c.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	if o.CreateTable {
		if err := CreateTable(ctx, client, c.TableName); err != nil {
			return nil, err
		}
	}
	return New(client, c.TableName, time.Now), nil
}

// NewClient returns a DynamoDB client from the environment: in Lambda, the
// function's region and role credentials. With endpoint set (DynamoDB
// Local) and no credentials in the environment it uses throwaway ones and
// us-east-1, since DynamoDB Local checks neither.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	creds, err := awsenv.Credentials()
	if errors.Is(err, awsenv.ErrNoCredentials) && endpoint != "" {
		creds, err = credentials.NewStaticCredentialsProvider("local", "local", ""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("DynamoDB: %w", err)
	}
	opts := dynamodb.Options{Region: awsenv.Region("us-east-1"), Credentials: creds}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
		// DynamoDB Local's CRC32 header does not always match the body the
		// SDK reads; AWS's does.
		opts.DisableValidateResponseChecksum = true
	}
	return dynamodb.New(opts, optFns...), nil
}
