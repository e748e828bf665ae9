// Package ownerevents puts the owner's events (order.paid, order.refunded,
// …) on their Amazon EventBridge bus (EVENT_BUS_NAME) with PutEvents, source
// "jampay": owners hang fulfilment, alerts or spreadsheets on rules.
package ownerevents

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/shop"
)

// Source is every jampay event's source: what the owner's rules match on.
const Source = "jampay"

// MaxEntrySize is EventBridge's limit on one PutEvents entry (256 KB),
// counted as AWS counts it: the UTF-8 bytes of Source, DetailType and
// Detail (jampay sends no Time and no Resources).
const MaxEntrySize = 256 * 1024

// ErrTooLarge: the event is over MaxEntrySize; EventBridge would refuse it
// on every attempt.
var ErrTooLarge = errors.New("ownerevents: event larger than EventBridge's 256 KB entry limit")

// ErrFailedEntry: EventBridge kept failing the entry (FailedEntryCount > 0)
// on every attempt.
var ErrFailedEntry = errors.New("ownerevents: EventBridge failed the entry")

// API is the part of the EventBridge client the Publisher uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Options are New's rare knobs.
type Options struct {
	// Attempts is how many times an entry EventBridge failed is put
	// (default 3). The SDK already retries a request that failed whole;
	// a failed entry in an answered request is ours to retry.
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// (default 100ms).
	Backoff time.Duration
}

// Publisher is a shop.Publisher on one EventBridge bus.
type Publisher struct {
	api  API
	bus  string
	opts Options
}

var _ shop.Publisher = (*Publisher)(nil)

// New returns a Publisher putting events on bus (a name or ARN) through api.
func New(api API, bus string, o Options) *Publisher {
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff == 0 {
		o.Backoff = 100 * time.Millisecond
	}
	return &Publisher{api: api, bus: bus, opts: o}
}

// Open returns the Publisher the settings name: the bus EVENT_BUS_NAME
// (required: unset means no owner events, which the caller decides) in the
// region's EventBridge, or at AWS_ENDPOINT_URL_EVENTBRIDGE.
func Open(ctx context.Context, c config.Config) (*Publisher, error) {
	if err := c.Require(config.EventBusName); err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, "")
	if err != nil {
		return nil, err
	}
	return New(client, c.EventBusName, Options{}), nil
}

// NewClient returns an EventBridge client from the environment, as
// dynamostore.NewClient does for DynamoDB: the function's region and role.
// endpoint, else AWS_ENDPOINT_URL_EVENTBRIDGE, else AWS_ENDPOINT_URL (the
// SDK's convention, which its config loader would read and awsenv does
// not) points it at a stand-in; a stand-in without credentials in the
// environment gets throwaway ones.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*eventbridge.Options)) (*eventbridge.Client, error) {
	endpoint = cmp.Or(endpoint, os.Getenv("AWS_ENDPOINT_URL_EVENTBRIDGE"), os.Getenv("AWS_ENDPOINT_URL"))
	creds, err := awsenv.Credentials()
	if errors.Is(err, awsenv.ErrNoCredentials) && endpoint != "" {
		creds, err = credentials.NewStaticCredentialsProvider("local", "local", ""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("EventBridge: %w", err)
	}
	opts := eventbridge.Options{Region: awsenv.Region("us-east-1"), Credentials: creds}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	return eventbridge.New(opts, optFns...), nil
}

// Publish puts e on the bus, putting it again while EventBridge answers it
// as a failed entry, up to Options.Attempts times.
func (p *Publisher) Publish(ctx context.Context, e shop.OwnerEvent) error {
	if err := Check(e); err != nil {
		return err
	}
	entry := types.PutEventsRequestEntry{
		Source:       aws.String(Source),
		DetailType:   aws.String(e.DetailType),
		Detail:       aws.String(string(e.Detail)),
		EventBusName: aws.String(p.bus),
	}
	wait := p.opts.Backoff
	var last string
	for attempt := 1; ; attempt++ {
		out, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
		if err != nil {
			return fmt.Errorf("ownerevents: PutEvents %s: %w", e.DetailType, err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		last = "no entry in the answer"
		if len(out.Entries) > 0 {
			last = aws.ToString(out.Entries[0].ErrorCode) + ": " + aws.ToString(out.Entries[0].ErrorMessage)
		}
		if attempt >= p.opts.Attempts {
			return fmt.Errorf("%w %s after %d attempts (%s)", ErrFailedEntry, e.DetailType, attempt, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ownerevents: %s: %w (last failure %s)", e.DetailType, ctx.Err(), last)
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Check refuses what EventBridge would refuse on every attempt: an empty
// detail-type, a detail that is not a JSON object, an entry over
// MaxEntrySize.
func Check(e shop.OwnerEvent) error {
	if e.DetailType == "" {
		return errors.New("ownerevents: event without a detail-type")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Detail, &obj); err != nil {
		return fmt.Errorf("ownerevents: %s detail is not a JSON object: %w", e.DetailType, err)
	}
	if n := len(Source) + len(e.DetailType) + len(e.Detail); n > MaxEntrySize {
		return fmt.Errorf("%w (%s: %d bytes)", ErrTooLarge, e.DetailType, n)
	}
	return nil
}
