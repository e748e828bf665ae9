// Package senders builds, from the settings, what sends the effects orders
// owe people: the mail templates, SES when MAIL_FROM is set, EventBridge
// when EVENT_BUS_NAME is set. The notify function, the reconcile function
// and the owner's CLI use it alike.
package senders

import (
	"context"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/mail"
	"github.com/jampay/jampay/pkg/ownerevents"
	"github.com/jampay/jampay/pkg/sesmail"
	"github.com/jampay/jampay/pkg/shop"
)

// Set fills in svc's Renderer, Mailer, MailEnabled and Publisher from c;
// shopName is the catalog's, shown in the mails. A sender whose setting is
// unset is left nil (a nil pointer in the interface would read as a
// sender, not as "none").
func Set(ctx context.Context, svc *shop.Service, c config.Config, shopName string) error {
	renderer, err := mail.NewRenderer(shopName, c.SiteURL)
	if err != nil {
		return err
	}
	svc.Renderer, svc.MailEnabled = renderer, c.MailFrom != ""
	if c.SiteURL != "" {
		// Where access links lead: the dispatcher makes their tokens.
		svc.AccountURL = c.AccountURL()
	}
	if c.MailFrom != "" {
		m, err := sesmail.Open(ctx, c)
		if err != nil {
			return err
		}
		svc.Mailer = m
	}
	if c.EventBusName != "" {
		p, err := ownerevents.Open(ctx, c)
		if err != nil {
			return err
		}
		svc.Publisher = p
	}
	return nil
}
