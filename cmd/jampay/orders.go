package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// listPage is how many orders (or subscriptions) one call of the store's
// listing returns: every page is read (see listing.run), so it sets only
// how many are held at once.
const listPage = 100

// orders lists orders: `jampay orders [-status S] [-gateway G] [-since T]
// [-until T] [-limit N] [-json]`.
func orders(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "only orders in this status: "+statusNames())
	gateway := fs.String("gateway", "", "only orders of this gateway: stripe or razorpay")
	since := fs.String("since", "", "only orders created at or after this time: 2026-11-01 (UTC) or 2026-11-01T09:30:00+05:30")
	until := fs.String("until", "", "only orders created before this time; a date alone includes its whole day")
	limit := fs.Int("limit", 50, "show the newest this many")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	var f shop.OrderFilter
	if f.Status = order.Status(*status); f.Status != "" && !f.Status.Valid() {
		return fmt.Errorf("-status %q is not a status; want one of %s", *status, statusNames())
	}
	if f.Gateway = *gateway; f.Gateway != "" && f.Gateway != "stripe" && f.Gateway != "razorpay" {
		return fmt.Errorf("-gateway %q: want stripe or razorpay", *gateway)
	}
	var err error
	if f.Since, err = parseTime("-since", *since, false); err != nil {
		return err
	}
	if f.Until, err = parseTime("-until", *until, true); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return fmt.Errorf("-since %s is not before -until %s", *since, *until)
	}
	if *limit < 1 {
		return fmt.Errorf("-limit must be at least 1, not %d", *limit)
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	return listing[order.Order]{
		one: "order", many: "orders",
		page: func(after string) ([]order.Order, string, error) {
			page, next, err := o.store.ListOrders(ctx, f, listPage, after)
			return page, next, o.explain(err)
		},
		created: func(ord order.Order) (time.Time, string) { return ord.CreatedAt, ord.ID },
		json:    func(ord order.Order) any { return summaryOf(ord) },
		table:   ordersTable,
	}.run(stdout, stderr, *limit, *asJSON)
}

// ordersTable writes one aligned line per order, amounts aligned right.
func ordersTable(w io.Writer, list []order.Order) {
	rows := [][]string{{"ORDER", "CREATED (UTC)", "STATUS", "GATEWAY", "AMOUNT", "EMAIL"}}
	for _, o := range list {
		rows = append(rows, []string{o.ID, o.CreatedAt.UTC().Format("2006-01-02 15:04"), string(o.Status), o.Gateway,
			formatMoney(o.Amount, o.Currency), orDash(o.Email)})
	}
	alignedTable(w, rows, 4)
}

// alignedTable writes rows (a header first) in aligned columns: the
// column numbered right (the amounts) flush right, the last unpadded.
func alignedTable(w io.Writer, rows [][]string, right int) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == len(r)-1:
				b.WriteString(c)
			case i == right:
				b.WriteString(pad + c + "  ")
			default:
				b.WriteString(c + pad + "  ")
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// order shows one order whole: `jampay order ID [-json]`.
func showOrder(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("order", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "the order as one JSON object")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return fmt.Errorf("%w (usage: jampay order ID [-json])", err)
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	ord, err := o.getOrder(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(viewOf(*ord))
	}
	orderText(stdout, *ord)
	return nil
}

// getOrder reads one order, with the error an owner can act on for an id
// that is not an order.
func (o *owner) getOrder(ctx context.Context, id string) (*order.Order, error) {
	if subscription.ValidID(id) {
		return nil, fmt.Errorf("%s is a subscription, not an order: see it with `jampay subscription %s` (`jampay cancel %s` ends it)", id, id, id)
	}
	if !order.ValidID(id) {
		return nil, fmt.Errorf("unknown order %q: an order id is ord_ and 26 letters and digits (jampay orders lists them)", order.Clip(id, 40))
	}
	ord, err := o.store.GetOrder(ctx, id)
	if errors.Is(err, order.ErrNotFound) {
		return nil, fmt.Errorf("unknown order %s: table %s holds no order with that id", id, o.cfg.TableName)
	}
	if err != nil {
		return nil, o.explain(err)
	}
	return ord, nil
}

// orderText writes everything about an order, for a person.
func orderText(w io.Writer, o order.Order) {
	tw, line := details(w)
	money := func(n int64) string { return formatMoney(n, o.Currency) }
	line("Order", o.ID)
	line("Status", string(o.Status))
	line("Gateway", o.Gateway)
	line("Amount", money(o.Amount)+" ("+o.Currency+")")
	line("Email", orDash(o.Email))
	line("Created", stamp(o.CreatedAt))
	line("Updated", stamp(o.UpdatedAt)+fmt.Sprintf(" (version %d)", o.Version))
	if !o.Deadline.IsZero() {
		line("Deadline", stamp(o.Deadline)+" (the checkout could be paid until then)")
	}
	line("Failure", o.FailureReason)
	line("Gateway error", o.GatewayError)
	line("Checkout ref", o.SessionRef)
	line("Payment ref", o.PaymentRef)
	ev := o.Evidence
	if ev.Paid {
		line("Paid", money(ev.PaidAmount)+" "+ev.PaidCurrency+" "+paren(ev.PaidRef))
	}
	if ev.Refunded > 0 {
		line("Refunded", money(ev.Refunded)+" (confirmed by the gateway)")
	}
	if o.Status == order.Paid || o.Status == order.PartiallyRefunded {
		line("Refundable", money(o.Refundable())+" (refunds still pending counted)")
	}
	line("Evidence", evidenceText(ev))
	tw.Flush()

	fmt.Fprintln(w, "\nItems")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, it := range o.Items {
		fmt.Fprintf(tw, "  %d ×\t%s\t%s\t@ %s\t%s\n", it.Quantity, it.Name, it.SKU, money(it.UnitAmount), money(it.UnitAmount*it.Quantity))
	}
	tw.Flush()

	if len(o.Refunds) > 0 {
		fmt.Fprintln(w, "\nRefunds asked")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range o.Refunds {
			fmt.Fprintf(tw, "  #%d\t%s\t%s\tby %s\t%s\n", r.Seq, money(r.Amount), stamp(r.At), orDash(r.Actor), refundState(o, r))
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nHistory")
	if len(o.History) == 0 {
		fmt.Fprintln(w, "  (none recorded: the order has not changed since it was created, or changed before this release kept a history)")
		return
	}
	historyText(w, o.History)
}

// refundState says where a refund request stands.
func refundState(o order.Order, r order.Refund) string {
	switch {
	case r.Refused != "":
		return "refused by the gateway: " + r.Refused
	case r.RefundID == "":
		return "no answer from the gateway yet (asked again, same key, before any new refund)"
	case o.Evidence.Refunded >= r.RefundedBefore+r.Amount:
		return r.RefundID + ", confirmed"
	default:
		return r.RefundID + ", waiting for the gateway's confirmation"
	}
}

// evidenceText is every piece of evidence that is set, by the name the
// store keeps it under.
func evidenceText(ev order.Evidence) string {
	m := evidenceView(ev)
	var parts []string
	for _, name := range evidenceNames {
		if v, ok := m[name]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", name, v))
		}
	}
	return strings.Join(parts, " ")
}

// evidenceNames are order.Evidence's fields' store names, in field order:
// what the stores keep is what the owner sees, a new field included.
var evidenceNames = func() []string {
	t := reflect.TypeFor[order.Evidence]()
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Tag.Get("store")
	}
	return out
}()

// evidenceView is the evidence that is set, by store name.
func evidenceView(ev order.Evidence) map[string]any {
	v := reflect.ValueOf(ev)
	out := map[string]any{}
	for i, name := range evidenceNames {
		if f := v.Field(i); !f.IsZero() {
			out[name] = f.Interface()
		}
	}
	return out
}

// summary is an order in `jampay orders -json`: the status endpoint's
// fields, and what the owner filters by. Never the token's hash.
type summary struct {
	OrderID       string           `json:"orderId"`
	Status        order.Status     `json:"status"`
	Gateway       string           `json:"gateway"`
	Amount        int64            `json:"amount"`
	Currency      string           `json:"currency"`
	Email         string           `json:"email,omitempty"`
	Items         []order.LineItem `json:"items"`
	FailureReason string           `json:"failureReason,omitempty"`
	CreatedAt     time.Time        `json:"createdAt"`
	UpdatedAt     time.Time        `json:"updatedAt"`
}

func summaryOf(o order.Order) summary {
	return summary{o.ID, o.Status, o.Gateway, o.Amount, o.Currency, o.Email, o.Items, o.FailureReason, o.CreatedAt.UTC(), o.UpdatedAt.UTC()}
}

// view is an order in `jampay order -json`: everything but the token's
// hash and the checkout the site was sent (replayed to the customer only).
type view struct {
	summary
	Version      int64          `json:"version"`
	Deadline     *time.Time     `json:"deadline,omitempty"`
	SessionRef   string         `json:"sessionRef,omitempty"`
	PaymentRef   string         `json:"paymentRef,omitempty"`
	GatewayError string         `json:"gatewayError,omitempty"`
	Evidence     map[string]any `json:"evidence"`
	Refundable   int64          `json:"refundable"`
	Refunds      []refundView   `json:"refunds"`
	History      []changeView   `json:"history"`
}

type refundView struct {
	Seq            int       `json:"seq"`
	Amount         int64     `json:"amount"`
	At             time.Time `json:"at"`
	Actor          string    `json:"actor"`
	RefundedBefore int64     `json:"refundedBefore"`
	RefundID       string    `json:"refundId,omitempty"`
	Refused        string    `json:"refused,omitempty"`
}

type changeView struct {
	At        time.Time    `json:"at"`
	EventID   string       `json:"eventId"`
	EventType string       `json:"eventType"`
	Source    string       `json:"source"`
	Actor     string       `json:"actor,omitempty"`
	From      order.Status `json:"from"`
	To        order.Status `json:"to"`
}

func viewOf(o order.Order) view {
	v := view{summary: summaryOf(o), Version: o.Version, SessionRef: o.SessionRef, PaymentRef: o.PaymentRef,
		GatewayError: o.GatewayError, Evidence: evidenceView(o.Evidence), Refundable: o.Refundable(),
		Refunds: []refundView{}, History: []changeView{}}
	if !o.Deadline.IsZero() {
		d := o.Deadline.UTC()
		v.Deadline = &d
	}
	for _, r := range o.Refunds {
		v.Refunds = append(v.Refunds, refundView{r.Seq, r.Amount, r.At.UTC(), r.Actor, r.RefundedBefore, r.RefundID, r.Refused})
	}
	for _, c := range o.History {
		v.History = append(v.History, changeView{c.At.UTC(), c.EventID, c.EventType, c.Source, c.Actor, c.From, c.To})
	}
	return v
}

// parseTime reads a -since or -until: RFC 3339, or a date (UTC). A date
// as an upper bound means the end of that day: -since 2026-11-01 -until
// 2026-11-30 is November.
func parseTime(flagName, s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a date such as 2026-11-01 or a time such as 2026-11-01T09:30:00Z", flagName, s)
	}
	if upper {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// parse parses fs's flags wherever they stand among args, and wants
// exactly n other arguments.
func parse(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != n {
		if n == 0 {
			return nil, fmt.Errorf("%s takes no arguments, got %q", fs.Name(), pos)
		}
		return nil, fmt.Errorf("%s takes %d %s, got %d", fs.Name(), n, plural(n, "argument", "arguments"), len(pos))
	}
	return pos, nil
}

func statusNames() string {
	names := make([]string, len(order.Statuses))
	for i, s := range order.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
