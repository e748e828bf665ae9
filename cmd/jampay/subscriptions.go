package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// subscriptions lists subscriptions: `jampay subscriptions [-status S]
// [-gateway G] [-limit N] [-json]`.
func subscriptions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("subscriptions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "only subscriptions in this status: "+subscriptionStatusNames())
	gateway := fs.String("gateway", "", "only subscriptions of this gateway: stripe or razorpay")
	limit := fs.Int("limit", 50, "show the newest this many")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	st := subscription.Status(*status)
	if st != "" && !st.Valid() {
		return fmt.Errorf("-status %q is not a subscription status; want one of %s", *status, subscriptionStatusNames())
	}
	if *gateway != "" && *gateway != "stripe" && *gateway != "razorpay" {
		return fmt.Errorf("-gateway %q: want stripe or razorpay", *gateway)
	}
	if *limit < 1 {
		return fmt.Errorf("-limit must be at least 1, not %d", *limit)
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	return listing[subscription.Subscription]{
		one: "subscription", many: "subscriptions",
		page: func(after string) ([]subscription.Subscription, string, error) {
			page, next, err := o.store.ListSubscriptions(ctx, st, listPage, after)
			return page, next, o.explain(err)
		},
		keep:    func(s subscription.Subscription) bool { return *gateway == "" || s.Gateway == *gateway },
		created: func(s subscription.Subscription) (time.Time, string) { return s.CreatedAt, s.ID },
		json:    func(s subscription.Subscription) any { return subscriptionSummaryOf(s) },
		table:   subscriptionsTable,
	}.run(stdout, stderr, *limit, *asJSON)
}

// subscriptionsTable writes one aligned line per subscription, amounts
// aligned right.
func subscriptionsTable(w io.Writer, list []subscription.Subscription) {
	rows := [][]string{{"SUBSCRIPTION", "CREATED (UTC)", "STATUS", "ENTITLED", "GATEWAY", "PLAN", "AMOUNT", "PERIOD ENDS (UTC)", "EMAIL"}}
	for _, s := range list {
		rows = append(rows, []string{s.ID, s.CreatedAt.UTC().Format("2006-01-02 15:04"), string(s.Status), yesNo(s.Entitled()), s.Gateway,
			s.SKU, formatMoney(s.Amount, s.Currency) + "/" + subscription.IntervalText(s.Interval, s.IntervalCount), periodEnds(s), orDash(s.Email)})
	}
	alignedTable(w, rows, 6)
}

// periodEnds is when the paid period (or the trial) ends, and what then:
// the next renewal, or the end.
func periodEnds(s subscription.Subscription) string {
	end := s.CurrentPeriodEnd()
	switch {
	case end.IsZero():
		return "-"
	case s.Status.Final():
		return end.Format("2006-01-02 15:04") + " (ended)"
	case s.CancelAtPeriodEnd():
		return end.Format("2006-01-02 15:04") + " (then ends)"
	}
	return end.Format("2006-01-02 15:04")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// showSubscription shows one subscription whole: `jampay subscription ID
// [-json]`.
func showSubscription(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("subscription", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "the subscription as one JSON object")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return fmt.Errorf("%w (usage: jampay subscription ID [-json])", err)
	}
	if err := checkSubscriptionID(pos[0]); err != nil {
		return err
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	s, err := o.getSubscription(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(subscriptionViewOf(*s))
	}
	subscriptionText(stdout, *s)
	return nil
}

// checkSubscriptionID refuses, before anything is read, what is not a
// subscription id: an order's id is pointed to its own commands.
func checkSubscriptionID(id string) error {
	switch {
	case subscription.ValidID(id):
		return nil
	case order.ValidID(id):
		return fmt.Errorf("%s is an order, not a subscription: see it with `jampay order %s`", id, id)
	}
	return fmt.Errorf("unknown subscription %q: a subscription id is sbn_ and 26 letters and digits (jampay subscriptions lists them)", order.Clip(id, 40))
}

// getSubscription reads one subscription, with the error an owner can act
// on for an id that is not one.
func (o *owner) getSubscription(ctx context.Context, id string) (*subscription.Subscription, error) {
	if err := checkSubscriptionID(id); err != nil {
		return nil, err
	}
	s, err := o.store.GetSubscription(ctx, id)
	if errors.Is(err, order.ErrNotFound) {
		return nil, fmt.Errorf("unknown subscription %s: table %s holds no subscription with that id", id, o.cfg.TableName)
	}
	if err != nil {
		return nil, o.explain(err)
	}
	return s, nil
}

// subscriptionText writes everything about a subscription, for a person.
func subscriptionText(w io.Writer, s subscription.Subscription) {
	tw, line := details(w)
	money := func(n int64) string { return formatMoney(n, s.Currency) }
	line("Subscription", s.ID)
	line("Status", string(s.Status))
	line("Entitled", entitledText(s))
	line("Gateway", s.Gateway)
	line("Plan", fmt.Sprintf("%s (%s) × %d", s.Name, s.SKU, s.Quantity))
	line("Amount", money(s.Amount)+" every "+subscription.IntervalText(s.Interval, s.IntervalCount)+" ("+s.Currency+")")
	if s.TrialDays > 0 {
		line("Trial", fmt.Sprintf("%d %s", s.TrialDays, plural(int(s.TrialDays), "day", "days")))
	}
	if te := s.TrialEnd(); !te.IsZero() {
		line("Trial ends", stamp(te))
	}
	if s.TotalCount > 0 {
		line("Billing cycles", strconv.FormatInt(s.TotalCount, 10)+" in all")
	}
	line("Email", orDash(s.Email))
	line("Created", stamp(s.CreatedAt))
	line("Updated", stamp(s.UpdatedAt)+fmt.Sprintf(" (version %d)", s.Version))
	if s.Status == subscription.Pending && !s.Deadline.IsZero() {
		line("Deadline", stamp(s.Deadline)+" (the checkout could be completed until then)")
	}
	line("Period ends", stamp(s.CurrentPeriodEnd()))
	switch {
	case s.CancelAtPeriodEnd():
		line("Cancel at period end", "yes: it ends then, and renews no more")
	case !s.Status.Final():
		line("Cancel at period end", "no")
	}
	line("Failure", s.FailureReason())
	line("Gateway error", s.GatewayError)
	line("Checkout ref", s.SessionRef)
	if s.SubscriptionRef != s.SessionRef {
		line("Subscription ref", s.SubscriptionRef)
	}
	line("Plan ref", s.PlanRef)
	line("Customer ref", s.Customer)
	line("Evidence", subscriptionEvidenceText(s.Evidence))
	tw.Flush()

	fmt.Fprintln(w, "\nPayments")
	if len(s.Evidence.Renewals) == 0 {
		fmt.Fprintln(w, "  (none recorded yet)")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range renewalsByTime(s.Evidence.Renewals) {
			what := "renewal"
			if r.First {
				what = "first"
			}
			var notes []string
			if slices.Contains(s.Evidence.Mismatched, r.Ref) {
				notes = append(notes, "MISMATCH: the subscription is "+money(s.Amount)+" "+s.Currency)
			}
			if slices.Contains(s.Evidence.Refunded, r.Ref) {
				notes = append(notes, "refunded at the gateway")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s → %s\tpaid %s", r.Ref, what, formatMoney(r.Amount, r.Currency), r.Currency,
				unixStamp(r.PeriodStart), unixStamp(r.PeriodEnd), unixStamp(r.At))
			if len(notes) > 0 {
				fmt.Fprint(tw, "\t"+strings.Join(notes, "; "))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if n := len(s.Evidence.Mismatched); n > 0 {
		fmt.Fprintf(w, "  %d %s charged another amount or currency than the subscription's %s %s: %s\n", n,
			plural(n, "payment", "payments"), money(s.Amount), s.Currency, strings.Join(s.Evidence.Mismatched, ", "))
	}
	// A refund or dispute of a payment the renewals do not show (a
	// Razorpay payment reported under its own id) is listed too.
	var others []string
	for _, ref := range s.Evidence.Refunded {
		if !s.Evidence.Renewed(ref) {
			others = append(others, ref)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "  Refunded at the gateway: %s\n", strings.Join(others, ", "))
	}
	if len(s.Evidence.Disputed) > 0 {
		fmt.Fprintf(w, "  Disputes opened at the gateway: %s\n", strings.Join(s.Evidence.Disputed, ", "))
	}

	fmt.Fprintln(w, "\nHistory")
	if len(s.History) == 0 {
		fmt.Fprintln(w, "  (none recorded: the subscription has not changed since it was created)")
	} else {
		historyText(w, s.History)
	}

	fmt.Fprintln(w, "\nEffects (mail and owner events)")
	if len(s.Outbox) == 0 {
		fmt.Fprintln(w, "  (none owed)")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range s.Outbox {
		fmt.Fprintf(tw, "  v%d\t%s\t%s\t%s\t%d %s\towed %s", e.Version, e.Type, orDash(e.Mail), e.State, e.Attempts,
			plural(e.Attempts, "attempt", "attempts"), stamp(e.OwedAt))
		if e.LastError != "" {
			fmt.Fprint(tw, "\t"+oneLine(e.LastError))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// entitledText says whether the subscriber gets what they pay for, and
// why.
func entitledText(s subscription.Subscription) string {
	switch {
	case s.Status == subscription.PastDue:
		return "yes (a renewal failed; the gateway is retrying)"
	case s.Entitled():
		return "yes"
	}
	return "no"
}

// historyText writes a history, oldest first, as `jampay order` does.
func historyText(w io.Writer, h []order.Change) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range h {
		move := string(c.From) + " → " + string(c.To)
		if c.From == c.To {
			move = string(c.To) + " (no change of status)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", stamp(c.At), c.EventType, c.EventID, c.Source, orDash(c.Actor), move)
	}
	tw.Flush()
}

// renewalsByTime is the payments in the order they were paid (the
// evidence keeps them by reference).
func renewalsByTime(rs []subscription.Renewal) []subscription.Renewal {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b subscription.Renewal) int {
		return cmp.Or(cmp.Compare(a.PeriodStart, b.PeriodStart), cmp.Compare(a.At, b.At))
	})
	return out
}

func unixStamp(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return stamp(time.Unix(sec, 0))
}

// subscriptionEvidenceText is the evidence's flags and the latest
// snapshot the gateway sent, in a line.
func subscriptionEvidenceText(ev subscription.Evidence) string {
	var parts []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"completed", ev.Completed}, {"expired", ev.Expired}, {"canceled", ev.Canceled}, {"ended", ev.Ended}, {"cancelScheduled", ev.CancelScheduled}} {
		if f.set {
			parts = append(parts, f.name+"=true")
		}
	}
	if sn := ev.Snapshot; sn.At != 0 {
		parts = append(parts, fmt.Sprintf("snapshot=%s@%s", sn.Status, unixStamp(sn.At)))
		if sn.CancelAtPeriodEnd {
			parts = append(parts, "snapshotCancelAtPeriodEnd=true")
		}
	}
	if ev.FailureAt != 0 {
		parts = append(parts, "lastFailure="+unixStamp(ev.FailureAt))
	}
	return strings.Join(parts, " ")
}

func subscriptionStatusNames() string {
	names := make([]string, len(subscription.Statuses))
	for i, s := range subscription.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// subscriptionSummary is a subscription in `jampay subscriptions -json`:
// the status endpoint's fields and what the owner filters by. Never a
// token's hash.
type subscriptionSummary struct {
	SubscriptionID    string              `json:"subscriptionId"`
	Status            subscription.Status `json:"status"`
	Gateway           string              `json:"gateway"`
	SKU               string              `json:"sku"`
	Name              string              `json:"name"`
	Quantity          int64               `json:"quantity"`
	Amount            int64               `json:"amount"`
	Currency          string              `json:"currency"`
	Interval          string              `json:"interval"`
	IntervalCount     int64               `json:"intervalCount"`
	Email             string              `json:"email,omitempty"`
	Entitled          bool                `json:"entitled"`
	TrialEnd          *time.Time          `json:"trialEnd"`
	CurrentPeriodEnd  *time.Time          `json:"currentPeriodEnd"`
	CancelAtPeriodEnd bool                `json:"cancelAtPeriodEnd"`
	FailureReason     *string             `json:"failureReason"`
	CreatedAt         time.Time           `json:"createdAt"`
	UpdatedAt         time.Time           `json:"updatedAt"`
}

func subscriptionSummaryOf(s subscription.Subscription) subscriptionSummary {
	v := subscriptionSummary{
		SubscriptionID: s.ID, Status: s.Status, Gateway: s.Gateway, SKU: s.SKU, Name: s.Name, Quantity: s.Quantity,
		Amount: s.Amount, Currency: s.Currency, Interval: s.Interval, IntervalCount: s.IntervalCount, Email: s.Email,
		Entitled: s.Entitled(), TrialEnd: timeOrNil(s.TrialEnd()), CurrentPeriodEnd: timeOrNil(s.CurrentPeriodEnd()),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd(), CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
	if r := s.FailureReason(); r != "" {
		v.FailureReason = &r
	}
	return v
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// subscriptionView is a subscription in `jampay subscription -json`:
// everything but the tokens' hashes and the checkout the site was sent
// (replayed to the customer only).
type subscriptionView struct {
	subscriptionSummary
	Version         int64                `json:"version"`
	UnitAmount      int64                `json:"unitAmount"`
	TrialDays       int64                `json:"trialDays"`
	TotalCount      int64                `json:"totalCount,omitempty"`
	Deadline        *time.Time           `json:"deadline,omitempty"`
	SessionRef      string               `json:"sessionRef,omitempty"`
	SubscriptionRef string               `json:"subscriptionRef,omitempty"`
	PlanRef         string               `json:"planRef,omitempty"`
	Customer        string               `json:"customer,omitempty"`
	GatewayError    string               `json:"gatewayError,omitempty"`
	Evidence        subscriptionEvidence `json:"evidence"`
	Renewals        []renewalView        `json:"renewals"`
	Mismatched      []string             `json:"mismatchedRenewals"`
	Refunded        []string             `json:"refundedPayments"`
	Disputed        []string             `json:"disputes"`
	History         []changeView         `json:"history"`
	Outbox          []effectView         `json:"outbox"`
}

type subscriptionEvidence struct {
	Completed       bool       `json:"completed,omitempty"`
	Expired         bool       `json:"expired,omitempty"`
	Canceled        bool       `json:"canceled,omitempty"`
	Ended           bool       `json:"ended,omitempty"`
	CancelScheduled bool       `json:"cancelScheduled,omitempty"`
	Snapshot        *snapshot  `json:"snapshot,omitempty"`
	FailureAt       *time.Time `json:"failureAt,omitempty"`
	FailureReason   string     `json:"failureReason,omitempty"`
}

type snapshot struct {
	At                time.Time           `json:"at"`
	Status            subscription.Status `json:"status"`
	TrialEnd          *time.Time          `json:"trialEnd,omitempty"`
	CancelAtPeriodEnd bool                `json:"cancelAtPeriodEnd"`
}

type renewalView struct {
	Ref         string     `json:"ref"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	PeriodStart *time.Time `json:"periodStart"`
	PeriodEnd   *time.Time `json:"periodEnd"`
	PaidAt      *time.Time `json:"paidAt"`
	First       bool       `json:"first"`
	Mismatched  bool       `json:"mismatched"`
}

type effectView struct {
	Version   int64     `json:"version"`
	Type      string    `json:"type"`
	Mail      string    `json:"mail,omitempty"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	OwedAt    time.Time `json:"owedAt"`
	LastError string    `json:"lastError,omitempty"`
}

func unixOrNil(sec int64) *time.Time {
	if sec == 0 {
		return nil
	}
	return timeOrNil(time.Unix(sec, 0))
}

func subscriptionViewOf(s subscription.Subscription) subscriptionView {
	ev := s.Evidence
	v := subscriptionView{
		subscriptionSummary: subscriptionSummaryOf(s), Version: s.Version, UnitAmount: s.UnitAmount, TrialDays: s.TrialDays,
		TotalCount: s.TotalCount, SessionRef: s.SessionRef, SubscriptionRef: s.SubscriptionRef, PlanRef: s.PlanRef,
		Customer: s.Customer, GatewayError: s.GatewayError,
		Evidence: subscriptionEvidence{Completed: ev.Completed, Expired: ev.Expired, Canceled: ev.Canceled, Ended: ev.Ended,
			CancelScheduled: ev.CancelScheduled, FailureAt: unixOrNil(ev.FailureAt), FailureReason: ev.FailureReason},
		Renewals: []renewalView{}, Mismatched: append([]string{}, ev.Mismatched...), Refunded: append([]string{}, ev.Refunded...),
		Disputed: append([]string{}, ev.Disputed...), History: []changeView{}, Outbox: []effectView{},
	}
	if s.Status == subscription.Pending {
		v.Deadline = timeOrNil(s.Deadline)
	}
	if sn := ev.Snapshot; sn.At != 0 {
		v.Evidence.Snapshot = &snapshot{At: *unixOrNil(sn.At), Status: sn.Status, TrialEnd: unixOrNil(sn.TrialEnd), CancelAtPeriodEnd: sn.CancelAtPeriodEnd}
	}
	for _, r := range renewalsByTime(ev.Renewals) {
		v.Renewals = append(v.Renewals, renewalView{Ref: r.Ref, Amount: r.Amount, Currency: r.Currency, PeriodStart: unixOrNil(r.PeriodStart),
			PeriodEnd: unixOrNil(r.PeriodEnd), PaidAt: unixOrNil(r.At), First: r.First, Mismatched: slices.Contains(ev.Mismatched, r.Ref)})
	}
	for _, c := range s.History {
		v.History = append(v.History, changeView{c.At.UTC(), c.EventID, c.EventType, c.Source, c.Actor, c.From, c.To})
	}
	for _, e := range s.Outbox {
		v.Outbox = append(v.Outbox, effectView{e.Version, e.Type, e.Mail, e.State, e.Attempts, e.OwedAt.UTC(), e.LastError})
	}
	return v
}
