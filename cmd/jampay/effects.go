package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jampay/jampay/pkg/catalog"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/senders"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// effectsPage is how many orders (or subscriptions) one read of an
// effects queue returns.
const effectsPage = 100

// effectsUsage is the command's usage, for its mistakes.
const effectsUsage = "usage: jampay effects [-failed] [-json] | jampay effects retry [ORDER_OR_SUBSCRIPTION_ID] [-catalog FILE]"

// effects lists the effects still to send (or, -failed, those that kept
// failing), orders' and subscriptions', read from the table through the
// queue index; `jampay effects retry [ID]` owes failed ones again and
// sends them. The stream's failure queue holds only record positions, and
// its data lives 24 hours: the item's outbox is what says what failed.
func effects(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "retry" {
		return retryEffects(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("effects", flag.ContinueOnError)
	fs.SetOutput(stderr)
	failed := fs.Bool("failed", false, "the effects that kept failing, for `jampay effects retry`")
	asJSON := fs.Bool("json", false, "one JSON object per effect instead of a table")
	if _, err := parse(fs, args, 0); err != nil {
		return fmt.Errorf("%w (%s)", err, effectsUsage)
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	orders, err := effectOrders(ctx, o, *failed)
	if err != nil {
		return err
	}
	subs, err := effectSubscriptions(ctx, o, *failed)
	if err != nil {
		return err
	}
	var list []effectRow
	for _, ord := range orders {
		for _, w := range ord.Outbox {
			if showEffect(w.State, *failed) {
				r := effectRowOf(w, string(ord.Status))
				r.Order = ord.ID
				list = append(list, r)
			}
		}
	}
	for _, sub := range subs {
		for _, w := range sub.Outbox {
			if showEffect(w.State, *failed) {
				r := effectRowOf(w, string(sub.Status))
				r.Subscription = sub.ID
				list = append(list, r)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else if len(list) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ORDER OR SUBSCRIPTION\tVERSION\tTYPE\tMAIL\tSTATE\tATTEMPTS\tOWED (UTC)\tLAST ERROR")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n", cmp.Or(r.Order, r.Subscription), r.Version, r.Type, orDash(r.Mail), r.State, r.Attempts,
				r.OwedAt.Format("2006-01-02 15:04:05"), orDash(oneLine(r.LastError)))
		}
		tw.Flush()
	}
	on := onWhat(len(orders), len(subs))
	switch {
	case len(list) == 0 && *failed:
		fmt.Fprintln(stderr, "No effect has failed.")
	case len(list) == 0:
		fmt.Fprintln(stderr, "No effect is waiting to be sent.")
	case *failed:
		fmt.Fprintf(stderr, "%d failed %s on %s: `jampay effects retry` sends them again.\n", len(list), plural(len(list), "effect", "effects"), on)
	default:
		fmt.Fprintf(stderr, "%d %s waiting on %s: the notify function sends them within seconds, the reconcile run those owed longer than %s.\n",
			len(list), plural(len(list), "effect", "effects"), on, shop.EffectsAfter)
	}
	return nil
}

// onWhat says how many orders and subscriptions: "2 orders", "1 order and
// 1 subscription".
func onWhat(orders, subs int) string {
	var parts []string
	if orders > 0 || subs == 0 {
		parts = append(parts, fmt.Sprintf("%d %s", orders, plural(orders, "order", "orders")))
	}
	if subs > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", subs, plural(subs, "subscription", "subscriptions")))
	}
	return strings.Join(parts, " and ")
}

// effectRow is one effect as the owner sees it: an order's, or a
// subscription's.
type effectRow struct {
	Order        string    `json:"order,omitempty"`
	Subscription string    `json:"subscription,omitempty"`
	Status       string    `json:"status"`
	Version      int64     `json:"version"`
	Type         string    `json:"type"`
	Mail         string    `json:"mail,omitempty"`
	State        string    `json:"state"`
	Attempts     int       `json:"attempts"`
	OwedAt       time.Time `json:"owedAt"`
	LastError    string    `json:"lastError,omitempty"`
}

func effectRowOf(w order.Owed, status string) effectRow {
	return effectRow{Status: status, Version: w.Version, Type: w.Type, Mail: w.Mail, State: w.State, Attempts: w.Attempts,
		OwedAt: w.OwedAt.UTC(), LastError: w.LastError}
}

func showEffect(state string, failed bool) bool {
	if failed {
		return state == order.EffectFailed
	}
	return state == order.EffectOwed || state == order.EffectClaimed
}

// effectOrders reads every page of the effects queue or, failed, the
// effects-failed one. An open order whose effects failed stays in the open
// queue until it closes (reconcile must find it there), so it is listed
// only then; `jampay effects retry ORDER_ID` reaches it meanwhile.
func effectOrders(ctx context.Context, o *owner, failed bool) ([]order.Order, error) {
	all, err := readAll(func(after string) ([]order.Order, string, error) {
		if failed {
			return o.store.EffectsFailed(ctx, effectsPage, after)
		}
		// Everything owed up to now (the index dates to the second).
		return o.store.EffectsDue(ctx, time.Now().Add(time.Second), effectsPage, after)
	})
	return all, o.explain(err)
}

// effectSubscriptions is effectOrders for subscriptions: the final ones
// from their effects queues, and every open one whose outbox holds such
// an effect (the store reads them off the open-subscriptions queue).
func effectSubscriptions(ctx context.Context, o *owner, failed bool) ([]subscription.Subscription, error) {
	all, err := readAll(func(after string) ([]subscription.Subscription, string, error) {
		if failed {
			return o.store.SubscriptionEffectsFailed(ctx, effectsPage, after)
		}
		return o.store.SubscriptionEffectsDue(ctx, time.Now().Add(time.Second), effectsPage, after)
	})
	return all, o.explain(err)
}

// retryEffects is `jampay effects retry [ID]`: one order's or
// subscription's failed effects, or every one's listed by `jampay effects
// -failed`.
func retryEffects(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("effects retry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	catalogPath := fs.String("catalog", "", "catalog file, for the shop's name in the mails (default $CATALOG_PATH or site/catalog.json)")
	var ids []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return fmt.Errorf("%w (%s)", err, effectsUsage)
		}
		if fs.NArg() == 0 {
			break
		}
		ids, rest = append(ids, fs.Arg(0)), fs.Args()[1:]
	}
	if len(ids) > 1 {
		return fmt.Errorf("effects retry takes at most one order or subscription id, got %d (%s)", len(ids), effectsUsage)
	}
	if len(ids) == 1 && !order.ValidID(ids[0]) && !subscription.ValidID(ids[0]) {
		return fmt.Errorf("unknown order or subscription %q: an id is ord_ or sbn_ and 26 letters and digits (jampay effects -failed lists them)",
			order.Clip(ids[0], 40))
	}
	o, err := openOwner(ctx, getenv, false)
	if err != nil {
		return err
	}
	svc, err := sender(ctx, o, cmp.Or(*catalogPath, o.cfg.CatalogPath, "site/catalog.json"))
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		// Read the whole list first: each retry takes its order out of it.
		orders, err := effectOrders(ctx, o, true)
		if err != nil {
			return err
		}
		for _, ord := range orders {
			ids = append(ids, ord.ID)
		}
		subs, err := effectSubscriptions(ctx, o, true)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			ids = append(ids, sub.ID)
		}
		if len(ids) == 0 {
			fmt.Fprintln(stderr, "No effect has failed: nothing to retry.")
			return nil
		}
	}
	actor, err := o.actor(ctx)
	if err != nil {
		return err
	}
	failures := 0
	for _, id := range ids {
		rep, err := svc.RetryEffects(ctx, id, actor)
		switch {
		case err != nil && rep.Retried == 0:
			failures++
			fmt.Fprintf(stdout, "%s: %v\n", id, plainly(o.explain(notFound(o, id, err))))
		case rep.Retried == 0:
			fmt.Fprintf(stdout, "%s: no effect has failed.\n", id)
		default:
			d := rep.Dispatch
			fmt.Fprintf(stdout, "%s: %d %s owed again; sent %d, nothing to send for %d", id, rep.Retried, plural(rep.Retried, "effect", "effects"), d.Sent, d.Skipped)
			if d.Held {
				fmt.Fprint(stdout, "; another sender holds the next one and sends it")
			}
			if err != nil {
				failures++
				fmt.Fprintf(stdout, "; failed again: %s (owed: the notify function or the next reconcile run tries again)", oneLine(err.Error()))
			}
			fmt.Fprintln(stdout, ".")
		}
	}
	if failures > 0 {
		return fmt.Errorf("%d of %d could not be sent (listed above)", failures, len(ids))
	}
	return nil
}

// notFound says an unknown order or subscription in the owner's terms.
func notFound(o *owner, id string, err error) error {
	switch {
	case errors.Is(err, order.ErrNotFound) && subscription.ValidID(id):
		return fmt.Errorf("unknown subscription: table %s holds no subscription with that id", o.cfg.TableName)
	case errors.Is(err, order.ErrNotFound):
		return fmt.Errorf("unknown order: table %s holds no order with that id", o.cfg.TableName)
	}
	return err
}

// sender is the service that sends effects, built from the settings as
// the notify function builds it: mails rendered with the catalog's shop
// name, sent through SES from MAIL_FROM (unset: skipped, recorded so),
// owner events on EVENT_BUS_NAME (unset: skipped).
func sender(ctx context.Context, o *owner, catalogPath string) (*shop.Service, error) {
	cat, err := catalog.Load(catalogPath)
	if err != nil {
		return nil, fmt.Errorf("the catalog names the shop in the mails: %w (-catalog or CATALOG_PATH)", err)
	}
	svc := shop.Service{Store: o.store}
	if err := senders.Set(ctx, &svc, o.cfg, cat.ShopName); err != nil {
		return nil, err
	}
	return shop.New(svc), nil
}

// oneLine keeps an error's message to one line of a table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
