// Package functions_test checks what each Lambda function links: a function
// links only what it uses, so it starts fast and carries nothing it does not
// need.
package functions_test

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, fn string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "./"+fn).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./%s: %v\n%s", fn, err, out)
	}
	m := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		m[p] = true
	}
	return m
}

func TestDeps(t *testing.T) {
	const stripe, razorpay = "github.com/stripe/stripe-go/v76", "github.com/razorpay/razorpay-go"
	cases := []struct {
		fn      string
		must    []string
		mustNot []string // package path prefixes
	}{
		// internal/ holds test kits, fixtures and the local server and
		// sandbox: no Lambda function links any of it.
		{"status", []string{"github.com/jampay/jampay/pkg/api", "github.com/aws/aws-lambda-go/lambda"},
			[]string{stripe, razorpay, "github.com/jampay/jampay/internal", "testing", "net/http/httptest", "github.com/aws/aws-sdk-go-v2/service/ssm",
				"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/service/sts"}},
		// The webhook function parses unauthenticated input and calls no
		// gateway: it links the verifiers alone, no client that could.
		{"webhook", []string{"github.com/stripe/stripe-go/v76/webhook", "github.com/jampay/jampay/pkg/stripeverify"},
			[]string{"testing", "net/http/httptest", "github.com/stretchr/testify", "github.com/jampay/jampay/internal",
				stripe + "/checkout/session", razorpay,
				"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/service/sts",
				"github.com/aws/aws-sdk-go-v2/service/ssm"}},
		// Reconcile asks the gateways' APIs; it verifies no webhook either.
		{"reconcile", []string{"github.com/jampay/jampay/pkg/stripegw/stripeinquiry", "github.com/jampay/jampay/pkg/razorpaygw/razorpayinquiry"},
			[]string{"testing", "net/http/httptest", "github.com/jampay/jampay/internal", "github.com/jampay/jampay/pkg/api"}},
		// The checkout function verifies no webhook: it holds no webhook
		// secret and links no verifier. It reads Stripe's answers to a
		// subscription's cancel with stripehook's one mapping of a Stripe
		// subscription, which links no stripe-go package.
		{"checkout", []string{"github.com/stripe/stripe-go/v76/checkout/session"},
			[]string{"testing", "net/http/httptest", "github.com/stretchr/testify", "github.com/jampay/jampay/internal", stripe + "/webhook",
				"github.com/jampay/jampay/pkg/stripeverify", "github.com/jampay/jampay/pkg/razorpayhook"}},
		// Notify sends mail and owner events from the stream: no gateway,
		// no secret, no HTTP handlers, and not the stream client its tests
		// read DynamoDB Local with (Lambda hands it the records).
		{"notify", []string{"github.com/jampay/jampay/pkg/notify", "github.com/aws/aws-sdk-go-v2/service/sesv2", "github.com/aws/aws-sdk-go-v2/service/eventbridge"},
			[]string{stripe, razorpay, "testing", "net/http/httptest", "github.com/jampay/jampay/internal", "github.com/jampay/jampay/pkg/api",
				"github.com/jampay/jampay/pkg/stripehook", "github.com/jampay/jampay/pkg/stripeverify", "github.com/jampay/jampay/pkg/razorpayhook",
				"github.com/aws/aws-sdk-go-v2/service/ssm", "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams",
				"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/service/sts"}},
	}
	for _, tc := range cases {
		d := deps(t, tc.fn)
		for _, p := range tc.must {
			if !d[p] {
				t.Errorf("%s does not link %s", tc.fn, p)
			}
		}
		for p := range d {
			for _, bad := range tc.mustNot {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s links %s", tc.fn, p)
				}
			}
		}
	}
}
