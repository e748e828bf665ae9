package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/jampay/jampay/pkg/awsenv"
)

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
