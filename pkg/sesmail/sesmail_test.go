package sesmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/shop"
)

// sesEndpoint is the SES v2 stand-in (npm aws-ses-v2-local): the one
// scripts/test.sh started (SES_TEST_ENDPOINT), or one TestMain starts.
var sesEndpoint string

func TestMain(m *testing.M) {
	sesEndpoint = os.Getenv("SES_TEST_ENDPOINT")
	var stop func()
	if sesEndpoint == "" {
		var err error
		sesEndpoint, stop, err = startStandIn()
		if err != nil {
			fmt.Fprintln(os.Stderr, "sesmail: SES stand-in not started:", err)
		}
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startStandIn runs node_modules/aws-ses-v2-local on a free loopback port.
func startStandIn() (string, func(), error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, err
	}
	_, file, _, _ := runtime.Caller(0)
	cli := filepath.Join(filepath.Dir(file), "..", "..", "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", nil, fmt.Errorf("%w (npm ci installs it)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for range 100 {
		if resp, err := http.Get(endpoint + "/health-check"); err == nil {
			resp.Body.Close()
			return endpoint, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("nothing answered at " + endpoint)
}

func needStandIn(t *testing.T) {
	t.Helper()
	if sesEndpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no SES stand-in (SES_TEST_ENDPOINT, or node with npm aws-ses-v2-local) and CI is set")
		}
		t.Skip("no SES stand-in: set SES_TEST_ENDPOINT or install node and run npm ci")
	}
}

// recorder is the SDK's HTTP client with a copy of each request body, for
// what the stand-in does not keep (tags, charsets).
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
	}
	return http.DefaultClient.Do(req)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func newMailer(t *testing.T) (*Mailer, *recorder) {
	t.Helper()
	needStandIn(t)
	rec := &recorder{}
	client, err := NewClient(context.Background(), sesEndpoint, func(o *sesv2.Options) { o.HTTPClient = rec })
	if err != nil {
		t.Fatal(err)
	}
	return New(client, "Jam & Co. <shop@example.com>", Options{ConfigurationSet: "jampay-test"}), rec
}

type keptEmail struct {
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
}

// kept returns what the stand-in kept for to: the store is shared, so
// each test sends to an address of its own.
func kept(t *testing.T, to string) []keptEmail {
	t.Helper()
	resp, err := http.Get(sesEndpoint + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []keptEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	var out []keptEmail
	for _, e := range store.Emails {
		for _, a := range e.Destination.To {
			if strings.Contains(a, to) {
				out = append(out, e)
			}
		}
	}
	return out
}

func uniqueAddress(t *testing.T) string {
	return fmt.Sprintf("%s-%d@example.com", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano())
}

func TestSend_TheStandInKeepsSubjectTextAndHTML(t *testing.T) {
	m, rec := newMailer(t)
	to := uniqueAddress(t)
	mail := shop.Mail{
		To:      to,
		Subject: "Your receipt from Jam & Co. (order ord_abc)",
		Text:    "Total: ₹199.00\n",
		HTML:    "<p>Total: <strong>₹199.00</strong></p>",
		Tags:    map[string]string{"order_id": "ord_abc", "kind": "receipt"},
	}
	if err := m.Send(context.Background(), mail); err != nil {
		t.Fatal(err)
	}
	got := kept(t, to)
	if len(got) != 1 {
		t.Fatalf("the stand-in kept %d mails for %s, want 1", len(got), to)
	}
	e := got[0]
	if e.Subject != mail.Subject || e.Body.Text != mail.Text || e.Body.HTML != mail.HTML || !strings.Contains(e.From, "shop@example.com") {
		t.Errorf("kept %+v", e)
	}
	// The stand-in keeps no tags: read them from the request itself.
	var req struct {
		ConfigurationSetName string
		EmailTags            []struct{ Name, Value string }
		Content              struct {
			Simple struct {
				Subject struct{ Charset, Data string }
				Body    struct {
					Text, Html struct{ Charset, Data string }
				}
			}
		}
	}
	if rec.count() != 1 {
		t.Fatalf("%d requests", rec.count())
	}
	if err := json.Unmarshal(rec.bodies[0], &req); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(req.EmailTags) != "[{kind receipt} {order_id ord_abc}]" || req.ConfigurationSetName != "jampay-test" {
		t.Errorf("tags %v, configuration set %q", req.EmailTags, req.ConfigurationSetName)
	}
	s := req.Content.Simple
	if s.Subject.Charset != "UTF-8" || s.Body.Text.Charset != "UTF-8" || s.Body.Html.Charset != "UTF-8" {
		t.Errorf("charsets %+v", s)
	}
}

func TestSend_RefusesWhatSESWouldRefuseBeforeSending(t *testing.T) {
	m, rec := newMailer(t)
	to := uniqueAddress(t)
	good := shop.Mail{To: to, Subject: "Receipt", Text: "text", HTML: "<p>html</p>", Tags: map[string]string{"kind": "receipt"}}
	for name, edit := range map[string]func(*shop.Mail){
		"subject with a line break": func(m *shop.Mail) { m.Subject = "Receipt\r\nBcc: x@example.com" },
		"empty subject":             func(m *shop.Mail) { m.Subject = " " },
		"subject of 999 bytes":      func(m *shop.Mail) { m.Subject = strings.Repeat("s", MaxSubjectLen+1) },
		"no body":                   func(m *shop.Mail) { m.Text, m.HTML = "", "" },
		"over 40 MB after base64":   func(m *shop.Mail) { m.Text = strings.Repeat("x", 31*1024*1024) },
		"tag value with a dot":      func(m *shop.Mail) { m.Tags = map[string]string{"order_id": "ord.abc"} },
		"tag name with a space":     func(m *shop.Mail) { m.Tags = map[string]string{"order id": "ord_abc"} },
		"tag value of 257":          func(m *shop.Mail) { m.Tags = map[string]string{"kind": strings.Repeat("a", MaxTagLen+1)} },
		"empty tag value":           func(m *shop.Mail) { m.Tags = map[string]string{"kind": ""} },
		"no recipient":              func(m *shop.Mail) { m.To = "" },
		"not an address":            func(m *shop.Mail) { m.To = "customer at example.com" },
	} {
		mail := good
		edit(&mail)
		if err := m.Send(context.Background(), mail); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if rec.count() != 0 || len(kept(t, to)) != 0 {
		t.Errorf("%d refused requests reached SES", rec.count())
	}
	// The limits are limits, not less: the largest of each goes.
	good.Subject = strings.Repeat("s", MaxSubjectLen)
	good.Tags = map[string]string{strings.Repeat("n", MaxTagLen): strings.Repeat("v", MaxTagLen)}
	if err := m.Send(context.Background(), good); err != nil {
		t.Fatalf("a mail at the limits: %v", err)
	}
	if len(kept(t, to)) != 1 {
		t.Error("the mail at the limits was not kept")
	}
}

func TestCheck_FiftyRecipientsAtMost(t *testing.T) {
	in := New(nil, "shop@example.com", Options{}).Input(shop.Mail{To: "a@example.com", Subject: "s", Text: "t"})
	for i := len(in.Destination.ToAddresses); i < 30; i++ {
		in.Destination.ToAddresses = append(in.Destination.ToAddresses, fmt.Sprintf("to%d@example.com", i))
	}
	for i := range 20 {
		in.Destination.BccAddresses = append(in.Destination.BccAddresses, fmt.Sprintf("bcc%d@example.com", i))
	}
	if err := Check(in); err != nil {
		t.Fatalf("50 recipients: %v", err)
	}
	in.Destination.CcAddresses = []string{"one-more@example.com"}
	if err := Check(in); !errors.Is(err, ErrRefused) {
		t.Errorf("51 recipients: %v", err)
	}
	in.Destination = &types.Destination{ToAddresses: []string{"a@example.com"}}
	in.FromEmailAddress = aws.String("not an address")
	if err := Check(in); !errors.Is(err, ErrRefused) {
		t.Errorf("bad from: %v", err)
	}
}

func TestOpen_NeedsMailFromAndHonoursTheEndpointVariable(t *testing.T) {
	c, _ := config.Load(func(string) string { return "" })
	if _, err := Open(context.Background(), c); err == nil || !strings.Contains(err.Error(), config.MailFrom) {
		t.Errorf("Open without MAIL_FROM: %v", err)
	}
	needStandIn(t)
	t.Setenv("AWS_ENDPOINT_URL_SESV2", sesEndpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	c, err := config.Load(func(k string) string { return map[string]string{config.MailFrom: "shop@example.com"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	to := uniqueAddress(t)
	if err := m.Send(context.Background(), shop.Mail{To: to, Subject: "Hello", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if got := kept(t, to); len(got) != 1 || got[0].From != "shop@example.com" {
		t.Errorf("kept %+v", got)
	}
}
