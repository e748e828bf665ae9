package inquirers

import (
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/stripegw"
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

func TestRefunders_EachConfiguredGatewayAndOnlyThose(t *testing.T) {
	both := load(t, map[string]string{config.StripeSecretKey: "sk_test_1", config.StripeMode: "test",
		config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "secret"})
	got, err := Refunders(both, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if _, ok := got["stripe"].(*stripegw.Refunder); !ok {
		t.Errorf("stripe: %T", got["stripe"])
	}
	if _, ok := got["razorpay"].(*razorpaygw.Refunder); !ok {
		t.Errorf("razorpay: %T", got["razorpay"])
	}
	onlyRzp := load(t, map[string]string{config.RazorpayKeyID: "rzp_test_1", config.RazorpayKeySecret: "secret"})
	if got, err := Refunders(onlyRzp, ""); err != nil || got["stripe"] != nil || got["razorpay"] == nil {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := Refunders(load(t, map[string]string{config.StripeSecretKey: "sk_live_1"}), "test"); err == nil {
		t.Fatal("a live key with STRIPE_MODE test made a refunder")
	}
	if _, err := Refunders(load(t, map[string]string{}), ""); err == nil || !strings.Contains(err.Error(), config.StripeSecretKey) {
		t.Fatalf("no keys: %v", err)
	}
}
