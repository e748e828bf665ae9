package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
)

// reconcileBudget is how long a run from the terminal goes on before it
// leaves the rest to the next run, as the scheduled function does at its
// deadline.
const reconcileBudget = 5 * time.Minute

// reconcile runs reconcile once from the terminal: `jampay reconcile
// [-dry-run]`. It takes the same lease as the scheduled function, so the
// two never run at once.
func reconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("dry-run", false, "ask the gateways and show what would be applied; change nothing")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	o, err := openOwner(ctx, getenv, true)
	if err != nil {
		return err
	}
	// STRIPE_MODE is required where Stripe is configured, as in Lambda:
	// reconcile applies what Stripe says, and events of the other mode
	// must be told apart.
	inqs, err := inquirers.FromConfig(o.cfg, "")
	if err != nil {
		return err
	}
	actor, err := o.actor(ctx)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	svc := shop.Service{Store: o.store, Inquirers: inqs}
	// The effects owed too long are sent too, when the catalog (the shop's
	// name in the mails) is at hand; without it reconcile says so.
	if cat, err := catalog.Load(cmp.Or(o.cfg.CatalogPath, "site/catalog.json")); err == nil {
		if err := senders.Set(ctx, &svc, o.cfg, cat.ShopName); err != nil {
			return err
		}
	}
	rep, err := shop.New(svc).Reconcile(ctx, shop.ReconcileOptions{
		Holder: fmt.Sprintf("cli:%s:%d", host, os.Getpid()), Actor: actor, Stop: time.Now().Add(reconcileBudget), DryRun: *dry,
	})
	if errors.Is(err, shop.ErrBusy) {
		return fmt.Errorf("another reconcile run holds the lease (the scheduled function, or another terminal); nothing was done: try again when it has finished")
	}
	writeReport(stdout, rep, *dry, actor)
	if err != nil {
		return o.explain(err)
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("reconcile left %d %s for the next run (listed above)", len(rep.Errors), plural(len(rep.Errors), "failure", "failures"))
	}
	return nil
}

// writeReport prints what a run did (or, dry, would do).
func writeReport(w io.Writer, rep shop.ReconcileReport, dry bool, actor string) {
	title := "Reconcile, as " + actor
	if dry {
		title += " (dry run: nothing was changed)"
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  open orders past their deadline, asked about\t%d\n", rep.Open)
	fmt.Fprintf(tw, "  events the webhooks missed, found\t%d\n", rep.Missed)
	fmt.Fprintf(tw, "  parked events applied\t%d\n", rep.Replayed)
	if dry {
		fmt.Fprintf(tw, "  events that would be applied\t%d\n", len(rep.WouldApply))
	} else {
		fmt.Fprintf(tw, "  changes made to orders\t%d\n", rep.Moved)
	}
	fmt.Fprintf(tw, "  subscriptions asked about\t%d\n", rep.SubscriptionsAsked)
	fmt.Fprintf(tw, "  subscriptions changed\t%d\n", rep.SubscriptionsMoved)
	fmt.Fprintf(tw, "  abandoned subscription checkouts expired\t%d\n", rep.SubscriptionsExpired)
	fmt.Fprintf(tw, "  renewals the webhooks missed, found\t%d\n", rep.RenewalsFound)
	fmt.Fprintf(tw, "  trial-ending notices owed\t%d\n", rep.TrialsEnding)
	tw.Flush()
	if rep.Stopped {
		fmt.Fprintf(w, "Stopped after %s: the rest is left for the next run.\n", reconcileBudget)
	}
	if len(rep.WouldApply) > 0 {
		fmt.Fprintln(w, "\nWould apply")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range rep.WouldApply {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Gateway, e.ID, e.Type, e.Kind, eventTarget(e))
		}
		tw.Flush()
	}
	if len(rep.WithoutOrder) > 0 {
		fmt.Fprintln(w, "\nPayments without order (money the gateway took that leads to no order of this shop; see the gateway's dashboard)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, ref := range rep.WithoutOrder {
			fmt.Fprintf(tw, "  %s\t%s\twaiting since %s\n", ref.Gateway, ref.Ref, stamp(ref.ParkedAt))
		}
		tw.Flush()
	}
	if len(rep.PaidLate) > 0 {
		fmt.Fprintln(w, "\nPaid late (money arrived after the order had expired: fulfil it, or refund it)")
		for _, id := range rep.PaidLate {
			fmt.Fprintln(w, "  "+id)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "\nThe gateways say events may be missing")
		for _, n := range rep.Notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintln(w, "\nFailures (each is asked again by the next run)")
		for _, e := range rep.Errors {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// eventTarget says which order an event is for, and with how much money.
func eventTarget(e order.Event) string {
	var parts []string
	switch {
	case e.OrderID != "":
		parts = append(parts, e.OrderID)
	case e.SessionRef != "":
		parts = append(parts, e.SessionRef)
	case len(e.Refs) > 0:
		parts = append(parts, strings.Join(e.Refs, ","))
	}
	if e.Kind == order.KindRefunded && e.Currency != "" {
		parts = append(parts, "refunded "+formatMoney(e.Refunded, e.Currency))
	} else if e.Amount != 0 && e.Currency != "" {
		parts = append(parts, formatMoney(e.Amount, e.Currency))
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	return strings.Join(parts, "  ")
}
