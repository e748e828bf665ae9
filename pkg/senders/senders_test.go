package senders

import (
	"context"
	"testing"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/shop"
)

func TestSet_OnlyWhatIsConfigured(t *testing.T) {
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
	for name, tc := range map[string]struct {
		set                 map[string]string
		mail, publish, send bool
	}{
		"nothing":      {nil, false, false, false},
		"mail only":    {map[string]string{config.MailFrom: "shop@example.com"}, true, false, true},
		"events only":  {map[string]string{config.EventBusName: "jampay"}, false, true, false},
		"mail, events": {map[string]string{config.MailFrom: "shop@example.com", config.EventBusName: "jampay"}, true, true, true},
	} {
		for k, v := range env {
			t.Setenv(k, v)
		}
		c, err := config.Load(func(k string) string { return tc.set[k] })
		if err != nil {
			t.Fatal(err)
		}
		var svc shop.Service
		if err := Set(context.Background(), &svc, c, "Jam & Co."); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if svc.Renderer == nil || (svc.Mailer != nil) != tc.mail || (svc.Publisher != nil) != tc.publish || svc.MailEnabled != tc.send {
			t.Errorf("%s: renderer %v, mailer %v, publisher %v, mail enabled %v", name, svc.Renderer != nil, svc.Mailer != nil, svc.Publisher != nil, svc.MailEnabled)
		}
	}
}
