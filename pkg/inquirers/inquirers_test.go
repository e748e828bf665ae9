package inquirers

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
)

func load(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFromConfig_EachConfiguredGatewayAndOnlyThose(t *testing.T) {
	both := load(t, map[string]string{config.StripeSecretKey: "sk_test_1", config.StripeMode: "test",
		config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "secret"})
	got, err := FromConfig(both, "")
	if err != nil || got["stripe"] == nil || got["razorpay"] == nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	onlyRzp := load(t, map[string]string{config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "secret"})
	if got, err := FromConfig(onlyRzp, ""); err != nil || got["stripe"] != nil || got["razorpay"] == nil {
		t.Fatalf("%v %v", got, err)
	}
}

func TestFromConfig_MissingSettingsAreNamed(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"nothing":         {map[string]string{}, config.StripeSecretKey},
		"no mode":         {map[string]string{config.StripeSecretKey: "sk_test_1"}, config.StripeMode},
		"half a key pair": {map[string]string{config.RazorpayKeyID: "rzp_test_1"}, config.RazorpayKeySecret},
	} {
		if _, err := FromConfig(load(t, tc.env), ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		}
	}
}
