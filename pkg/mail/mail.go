// Package mail renders what the effects of orders and subscriptions owe
// people (invariant 10): the customer's email (receipt, refund, late
// payment; subscription started, renewal receipt, renewal failed, trial
// ending, canceled; and the access link), in HTML and text from the
// templates in templates/, and the owner's event. It sends nothing: a
// shop.Mailer and a shop.Publisher do.
package mail

import (
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/jampay/jampay/pkg/money"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
)

//go:embed templates
var templates embed.FS

// kinds are the mails an effect may owe, each with a template pair
// templates/<kind>.html and templates/<kind>.txt.
var kinds = []string{order.MailReceipt, order.MailRefund, order.MailLatePayment}

// Renderer is a shop.Renderer for one shop.
type Renderer struct {
	shopName string
	siteURL  string
	html     map[string]*htmltemplate.Template
	text     map[string]*texttemplate.Template
}

var _ shop.Renderer = (*Renderer)(nil)

// NewRenderer returns a Renderer for the shop named shopName (the
// catalog's shopName) whose site is at siteURL (SITE_URL; "" for no link).
// The mails link only to the site, never to an order's status: that needs
// the status token, which jampay never keeps.
func NewRenderer(shopName, siteURL string) (*Renderer, error) {
	r := &Renderer{
		shopName: oneLine(shopName),
		siteURL:  strings.TrimRight(siteURL, "/"),
		html:     map[string]*htmltemplate.Template{},
		text:     map[string]*texttemplate.Template{},
	}
	for _, k := range kinds {
		if err := r.parse(k); err != nil {
			return nil, err
		}
	}
	if err := r.parseSubscriptionTemplates(); err != nil {
		return nil, err
	}
	return r, nil
}

// Render returns the mail e owes the customer (nil when it owes none or
// the customer gave no address) and the owner's event. Both show the
// order as it is now (o), which may be past e.Version; the event's id
// names the effect, so consumers can drop a duplicate.
func (r *Renderer) Render(o order.Order, e order.Effect) (*shop.Mail, shop.OwnerEvent, error) {
	ev, err := r.event(o, e)
	if err != nil {
		return nil, shop.OwnerEvent{}, err
	}
	if e.Mail == "" || strings.TrimSpace(o.Email) == "" {
		return nil, ev, nil
	}
	if _, ok := r.html[e.Mail]; !ok || !slices.Contains(kinds, e.Mail) {
		return nil, shop.OwnerEvent{}, fmt.Errorf("mail: effect %s of %s owes a mail %q with no template", e.Type, e.OrderID, e.Mail)
	}
	m, err := r.compose(e.Mail, o.Email, r.data(o), map[string]string{"order_id": TagValue(o.ID)})
	if err != nil {
		return nil, shop.OwnerEvent{}, err
	}
	return m, ev, nil
}

// compose renders the mail of kind k from d for the address to, tagged
// with tags and its kind: every mail, an order's, a subscription's or an
// access link, is put together so.
func (r *Renderer) compose(k, to string, d any, tags map[string]string) (*shop.Mail, error) {
	subject, text, html, err := r.execute(k, d)
	if err != nil {
		return nil, err
	}
	tags["kind"] = TagValue(k)
	return &shop.Mail{To: strings.TrimSpace(to), Subject: subject, Text: text, HTML: html, Tags: tags}, nil
}

// mailData is what the templates see: money already formatted as the
// site formats it.
type mailData struct {
	ShopName, SiteURL, OrderID  string
	Items                       []mailItem
	Total, Paid, Refunded, Left string
	FullyRefunded               bool
}

// Reference is the footer's line naming the order.
func (d mailData) Reference() string { return "Order " + d.OrderID }

type mailItem struct {
	Name, SKU            string
	Quantity             int64
	UnitPrice, LineTotal string
}

func (r *Renderer) data(o order.Order) mailData {
	f := func(amount int64) string { return money.Format(amount, o.Currency) }
	paid := o.Amount
	if o.Evidence.PaidAmount > 0 {
		paid = o.Evidence.PaidAmount
	}
	refunded := min(o.Evidence.Refunded, paid)
	d := mailData{
		ShopName: r.shopName, SiteURL: r.siteURL, OrderID: o.ID,
		Total: f(o.Amount), Paid: f(paid), Refunded: f(refunded), Left: f(paid - refunded),
		FullyRefunded: refunded >= paid,
	}
	for _, it := range o.Items {
		d.Items = append(d.Items, mailItem{Name: it.Name, SKU: it.SKU, Quantity: it.Quantity,
			UnitPrice: f(it.UnitAmount), LineTotal: f(it.UnitAmount * it.Quantity)})
	}
	return d
}

// Detail is the owner event's detail (the contract's: ids, amounts,
// currency, items, email, status, version), with ID stable per effect so a
// consumer can drop a redelivered event. It never carries the status
// token or its hash.
type Detail struct {
	// ID is "<orderId>:<version>:<type>": the same for every sending of
	// one effect.
	ID      string `json:"id"`
	Type    string `json:"type"`
	OrderID string `json:"orderId"`
	// Version is the order's version after the change that owed the
	// event; Status and the amounts are the order's when it was sent.
	Version    int64            `json:"version"`
	Status     order.Status     `json:"status"`
	Gateway    string           `json:"gateway"`
	Amount     int64            `json:"amount"`
	Currency   string           `json:"currency"`
	Items      []order.LineItem `json:"items"`
	Email      string           `json:"email"`
	PaidAmount int64            `json:"paidAmount"`
	Refunded   int64            `json:"refunded"`
	PaymentRef string           `json:"paymentRef,omitempty"`
	// ExtraPayments are payments taken on top of the one that paid: what
	// the owner should refund after an order.duplicate_payment.
	ExtraPayments []string  `json:"extraPayments,omitempty"`
	PaidLate      bool      `json:"paidLate"`
	CreatedAt     time.Time `json:"createdAt"`
	OwedAt        time.Time `json:"owedAt"`
}

// EventID is the stable id of an effect's owner event.
func EventID(e order.Effect) string {
	return e.OrderID + ":" + strconv.FormatInt(e.Version, 10) + ":" + e.Type
}

func (r *Renderer) event(o order.Order, e order.Effect) (shop.OwnerEvent, error) {
	items := o.Items
	if items == nil {
		items = []order.LineItem{}
	}
	d := Detail{
		ID: EventID(e), Type: e.Type, OrderID: e.OrderID, Version: e.Version,
		Status: o.Status, Gateway: o.Gateway, Amount: o.Amount, Currency: o.Currency,
		Items: items, Email: o.Email, PaidAmount: o.Evidence.PaidAmount, Refunded: o.Evidence.Refunded,
		PaymentRef: o.PaidPayment(), ExtraPayments: o.Evidence.ExtraPayments, PaidLate: o.PaidLate(),
		CreatedAt: o.CreatedAt.UTC(), OwedAt: e.OwedAt.UTC(),
	}
	b, err := json.Marshal(d)
	if err != nil {
		return shop.OwnerEvent{}, fmt.Errorf("mail: event %s: %w", d.ID, err)
	}
	return shop.OwnerEvent{DetailType: e.Type, Detail: b}, nil
}

// TagValue makes s a valid SES tag value: SES takes only ASCII letters,
// digits, '_' and '-', at most 256 of them; anything else becomes '_'.
func TagValue(s string) string {
	b := []byte(s)
	if len(b) > 256 {
		b = b[:256]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// oneLine keeps a header (the subject, the shop's name in it) on one line:
// a newline there would end the header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
