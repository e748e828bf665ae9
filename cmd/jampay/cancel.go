package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/razorpaygw"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/stripegw"
)

// cancel asks the subscription's gateway to end it: `jampay cancel ID
// [-now]`. By default it ends with the period paid for; -now ends it at
// once. Nothing is refunded either way.
func cancel(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	now := fs.Bool("now", false, "end it now, not at the end of the period paid for (nothing is refunded either way)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return fmt.Errorf("%w (usage: jampay cancel ID [-now])", err)
	}
	id := pos[0]
	if order.ValidID(id) {
		return fmt.Errorf("%s is an order: cancel ends subscriptions; `jampay refund %s` refunds an order", id, id)
	}
	if err := checkSubscriptionID(id); err != nil {
		return err
	}
	o, err := openOwner(ctx, getenv, true)
	if err != nil {
		return err
	}
	// Read first, so that an unknown id, one already ended, or one of a
	// gateway whose keys are missing is told in the owner's terms.
	sub, err := o.getSubscription(ctx, id)
	if err != nil {
		return err
	}
	if sub.Status.Final() {
		fmt.Fprintf(stdout, "Subscription %s is %s already: there is nothing to cancel.\n", id, sub.Status)
		return nil
	}
	if !*now && sub.CancelAtPeriodEnd() {
		fmt.Fprintf(stdout, "Subscription %s ends at the end of its period already (%s); `jampay cancel %s -now` ends it at once.\n",
			id, stamp(sub.CurrentPeriodEnd()), id)
		return nil
	}
	gws, err := subscriptionGateways(o)
	if err != nil {
		return err
	}
	if gws[sub.Gateway] == nil {
		return fmt.Errorf("missing setting: subscription %s is billed through %s, and canceling it needs %s's API keys: %s",
			id, sub.Gateway, sub.Gateway, keyNames[sub.Gateway])
	}
	actor, err := o.actor(ctx)
	if err != nil {
		return err
	}
	svc := shop.New(shop.Service{Store: o.store, Gateways: gws})
	after, err := svc.CancelSubscription(ctx, shop.CancelRequest{ID: id, Now: *now, Source: order.SourceOwner, Actor: actor})
	var gwErr *shop.GatewayError
	switch {
	case errors.Is(err, shop.ErrNotCancelable):
		return fmt.Errorf("subscription %s is %s: its checkout was never completed, so %s has nothing to cancel (the checkout expires by itself)",
			id, sub.Status, sub.Gateway)
	case errors.As(err, &gwErr):
		return fmt.Errorf("%s did not cancel subscription %s: %s. Nothing changed; try again, or cancel it in %s's dashboard (its webhook then ends it here)",
			sub.Gateway, id, gwErr.Message, sub.Gateway)
	case err != nil:
		return plainly(o.explain(err))
	}
	switch {
	case after.Status.Final():
		fmt.Fprintf(stdout, "%s canceled subscription %s now: it is %s, and the subscriber is no longer entitled.\n", sub.Gateway, id, after.Status)
	case *now:
		// The gateway's answer did not show it ended (yet): its webhook
		// will, or the next reconcile run.
		fmt.Fprintf(stdout, "Asked %s to cancel subscription %s now; its answer still shows it %s. It ends here when %s confirms (its webhook, or the next reconcile run).\n",
			sub.Gateway, id, after.Status, sub.Gateway)
	case after.CancelAtPeriodEnd():
		fmt.Fprintf(stdout, "%s will cancel subscription %s at the end of its period (%s): it stays %s until then, and renews no more.\n",
			sub.Gateway, id, stamp(after.CurrentPeriodEnd()), after.Status)
	default:
		fmt.Fprintf(stdout, "Asked %s to cancel subscription %s at the end of its period; its answer does not show it yet. It changes here when %s confirms (its webhook, or the next reconcile run).\n",
			sub.Gateway, id, sub.Gateway)
	}
	fmt.Fprintf(stdout, "Recorded in its history as the owner's, by %s. Nothing was refunded.\n", actor)
	return nil
}

// subscriptionGateways builds the subscription client of each gateway
// with keys, checked as `jampay refund` checks them (STRIPE_MODE required
// with a Stripe key; whole Razorpay key pairs). The owner's CLI makes no
// checkout, so SITE_URL is not needed: only the gateways' subscription
// APIs are asked.
func subscriptionGateways(o *owner) (map[string]shop.Gateway, error) {
	configured, err := inquirers.Refunders(o.cfg, "")
	if err != nil {
		return nil, err
	}
	c := o.cfg
	gws := map[string]shop.Gateway{}
	if configured["stripe"] != nil {
		gws["stripe"] = stripegw.New(stripegw.Config{SecretKey: c.Stripe.SecretKey, APIBase: c.Stripe.APIBase})
	}
	if configured["razorpay"] != nil {
		gws["razorpay"] = razorpaygw.New(razorpaygw.Config{KeyID: c.Razorpay.KeyID, KeySecret: c.Razorpay.KeySecret,
			APIBase: c.Razorpay.APIBase, Plans: o.store})
	}
	return gws, nil
}
