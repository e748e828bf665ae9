package shop

import (
	"context"

	"github.com/jampay/jampay/pkg/order"
)

// Mail is one customer email, rendered: what a Mailer sends.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Tags name the order and the kind of mail for the mail service's
	// records (SES tag values: letters, digits, '_' and '-' only).
	Tags map[string]string
}

// Mailer sends customer email (Amazon SES v2 from MAIL_FROM; locally, a
// recorder jampay serve shows at /_jampay/).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// OwnerEvent is one event for the owner's EventBridge bus: source
// "jampay", DetailType the effect's type (order.paid, …), Detail the JSON
// the contract describes (ids, amounts, items, email, version, and a
// stable id for consumers to drop duplicates; never a token).
type OwnerEvent struct {
	DetailType string
	Detail     []byte
}

// Publisher puts owner events on the bus (EventBridge PutEvents on
// EVENT_BUS_NAME; locally, a recorder).
type Publisher interface {
	Publish(ctx context.Context, e OwnerEvent) error
}

// Renderer turns an effect owed by an order into the customer's mail (nil
// when the effect owes none) and the owner's event. shopName is shown in
// the mail.
type Renderer interface {
	Render(o order.Order, e order.Effect) (*Mail, OwnerEvent, error)
}
