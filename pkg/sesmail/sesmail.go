// Package sesmail sends the customer's email through Amazon SES v2
// SendEmail from MAIL_FROM, checking every request against SES's
// documented limits first: a request SES would refuse is refused here,
// with a message saying which limit, before it costs a call.
package sesmail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/jampay/jampay/pkg/awsenv"
	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/shop"
)

// SES's limits on one SendEmail request (testdata/README.md names where
// each is documented).
const (
	// MaxRecipients is the most To, Cc and Bcc addresses together.
	MaxRecipients = 50
	// MaxMessageSize is the largest message through the v2 API, counted
	// after base64 encoding.
	MaxMessageSize = 40 * 1024 * 1024
	// MaxTagLen is the longest tag name or value.
	MaxTagLen = 256
	// MaxSubjectLen is the longest subject in bytes: SES documents none,
	// but a header line may not pass RFC 5322's 998 characters.
	MaxSubjectLen = 998
)

// ErrRefused: the request breaks one of SES's limits, so SES would refuse
// it however often it were sent.
var ErrRefused = errors.New("sesmail: request outside SES's limits")

// API is the part of the SES v2 client the Mailer uses.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Options are New's rare knobs.
type Options struct {
	// ConfigurationSet names the SES configuration set whose event
	// destinations see the mails' tags (bounces, complaints); "" for the
	// identity's default.
	ConfigurationSet string
}

// Mailer is a shop.Mailer on SES v2.
type Mailer struct {
	api  API
	from string
	opts Options
}

var _ shop.Mailer = (*Mailer)(nil)

// New returns a Mailer sending from from (a verified SES identity, maybe
// with a display name) through api.
func New(api API, from string, o Options) *Mailer {
	return &Mailer{api: api, from: from, opts: o}
}

// Open returns the Mailer the settings name: from MAIL_FROM (required:
// unset means no email, which the caller decides) through the region's
// SES, or AWS_ENDPOINT_URL_SESV2.
func Open(ctx context.Context, c config.Config) (*Mailer, error) {
	if err := c.Require(config.MailFrom); err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, "")
	if err != nil {
		return nil, err
	}
	return New(client, c.MailFrom, Options{}), nil
}

// NewClient returns an SES v2 client from the environment, as
// dynamostore.NewClient does for DynamoDB: the function's region and role.
// endpoint, else AWS_ENDPOINT_URL_SESV2, else AWS_ENDPOINT_URL (the SDK's
// convention, which its config loader would read and awsenv does not)
// points it at a stand-in; a stand-in without credentials in the
// environment gets throwaway ones.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*sesv2.Options)) (*sesv2.Client, error) {
	endpoint = cmp.Or(endpoint, os.Getenv("AWS_ENDPOINT_URL_SESV2"), os.Getenv("AWS_ENDPOINT_URL"))
	creds, err := awsenv.Credentials()
	if errors.Is(err, awsenv.ErrNoCredentials) && endpoint != "" {
		creds, err = credentials.NewStaticCredentialsProvider("local", "local", ""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("SES: %w", err)
	}
	opts := sesv2.Options{Region: awsenv.Region("us-east-1"), Credentials: creds}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	return sesv2.New(opts, optFns...), nil
}

// Send sends m as a Simple message (SES builds the MIME): subject, text and
// HTML in UTF-8, m's tags as EmailTags.
func (s *Mailer) Send(ctx context.Context, m shop.Mail) error {
	in := s.Input(m)
	if err := Check(in); err != nil {
		return err
	}
	if _, err := s.api.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("sesmail: SendEmail: %w", err)
	}
	return nil
}

// Input is the SendEmail request Send makes for m.
func (s *Mailer) Input(m shop.Mail) *sesv2.SendEmailInput {
	utf8 := func(v string) *types.Content {
		return &types.Content{Data: aws.String(v), Charset: aws.String("UTF-8")}
	}
	body := &types.Body{}
	if m.Text != "" {
		body.Text = utf8(m.Text)
	}
	if m.HTML != "" {
		body.Html = utf8(m.HTML)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content:          &types.EmailContent{Simple: &types.Message{Subject: utf8(m.Subject), Body: body}},
	}
	if s.opts.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.opts.ConfigurationSet)
	}
	// Sorted, so one mail always makes the same request.
	names := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(k), Value: aws.String(m.Tags[k])})
	}
	return in
}

// Check returns an error wrapping ErrRefused naming each of SES's limits
// in breaks (a Simple message: the only kind jampay sends).
func Check(in *sesv2.SendEmailInput) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...))
	}
	if _, err := mail.ParseAddress(aws.ToString(in.FromEmailAddress)); err != nil {
		bad("from address %q: %v", aws.ToString(in.FromEmailAddress), err)
	}
	var rcpt []string
	if d := in.Destination; d != nil {
		rcpt = slices.Concat(d.ToAddresses, d.CcAddresses, d.BccAddresses)
	}
	if len(rcpt) == 0 || len(rcpt) > MaxRecipients {
		bad("%d recipients, want 1 to %d", len(rcpt), MaxRecipients)
	}
	for _, a := range rcpt {
		if _, err := mail.ParseAddress(a); err != nil {
			bad("recipient %q: %v", a, err)
		}
	}
	if in.Content == nil || in.Content.Simple == nil || in.Content.Simple.Body == nil {
		bad("no simple content")
	} else {
		msg := in.Content.Simple
		subject := ""
		if msg.Subject != nil {
			subject = aws.ToString(msg.Subject.Data)
		}
		switch {
		case strings.TrimSpace(subject) == "":
			bad("empty subject")
		case strings.ContainsAny(subject, "\r\n"):
			bad("subject with a line break")
		case len(subject) > MaxSubjectLen:
			bad("subject of %d bytes, more than %d", len(subject), MaxSubjectLen)
		}
		var text, html string
		if msg.Body.Text != nil {
			text = aws.ToString(msg.Body.Text.Data)
		}
		if msg.Body.Html != nil {
			html = aws.ToString(msg.Body.Html.Data)
		}
		if text == "" && html == "" {
			bad("neither text nor HTML")
		}
		if n := messageSize(subject, text, html, in); n > MaxMessageSize {
			bad("message of about %d bytes after base64, more than %d", n, MaxMessageSize)
		}
	}
	for _, t := range in.EmailTags {
		for what, v := range map[string]string{"name": aws.ToString(t.Name), "value": aws.ToString(t.Value)} {
			if !tagText(v) {
				bad("tag %s %q: want 1 to %d ASCII letters, digits, '_' or '-'", what, v, MaxTagLen)
			}
		}
	}
	return errors.Join(errs...)
}

// messageSize bounds the MIME message SES builds: each part base64
// encoded (4 bytes per 3, lines of 76 and CRLF), the subject encoded too,
// and headers.
func messageSize(subject, text, html string, in *sesv2.SendEmailInput) int {
	b64 := func(n int) int { e := (n + 2) / 3 * 4; return e + e/76*2 + 2 }
	headers := 2048 + len(aws.ToString(in.FromEmailAddress))
	if in.Destination != nil {
		for _, a := range slices.Concat(in.Destination.ToAddresses, in.Destination.CcAddresses, in.Destination.BccAddresses) {
			headers += len(a) + 2
		}
	}
	return headers + b64(len(subject)) + b64(len(text)) + b64(len(html))
}

func tagText(s string) bool {
	if s == "" || len(s) > MaxTagLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
