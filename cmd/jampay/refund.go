package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/inquirers"
	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/shop"
	"github.com/jampay/jampay/pkg/subscription"
)

// How `jampay refund -wait` waits for the gateway's confirmation: Stripe's
// and Razorpay's refund webhooks come within seconds; a refund still
// pending after two minutes is the gateway's own business (Razorpay's
// "normal" refunds are processed in days), and reconcile picks it up.
const (
	refundPoll = 2 * time.Second
	refundWait = 2 * time.Minute
)

// refund asks the order's gateway for a refund: `jampay refund ID [-amount
// N] [-wait]`. The order moves only when the gateway confirms.
func refund(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("refund", flag.ContinueOnError)
	fs.SetOutput(stderr)
	amount := fs.Int64("amount", 0, "how much, in minor units of the order's currency (cents, paise); unset: all that is left")
	wait := fs.Bool("wait", false, "wait (up to 2 minutes) until the gateway confirms the refund")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return fmt.Errorf("%w (usage: jampay refund ID [-amount N] [-wait])", err)
	}
	id := pos[0]
	if subscription.ValidID(id) {
		// shop.Refund refunds orders; a subscription's payments are the
		// gateway's own invoices and charges.
		return fmt.Errorf("%s is a subscription: jampay refund refunds orders. Refund one of its payments in the gateway's dashboard, and the subscription records it when the gateway's webhook comes (see `jampay subscription %s`); `jampay cancel %s` ends it",
			id, id, id)
	}
	amountSet := false
	fs.Visit(func(f *flag.Flag) { amountSet = amountSet || f.Name == "amount" })
	if *amount < 0 || amountSet && *amount == 0 {
		return fmt.Errorf("-amount %d: a refund is at least 1 (in minor units); leave -amount out to refund all that is left", *amount)
	}
	o, err := openOwner(ctx, getenv, true)
	if err != nil {
		return err
	}
	// Read first, so that an unknown id, or an order of a gateway whose
	// keys are missing, is told in the owner's terms.
	ord, err := o.getOrder(ctx, id)
	if err != nil {
		return err
	}
	rfs, err := refunders(o)
	if err != nil {
		return err
	}
	if rfs[ord.Gateway] == nil {
		return fmt.Errorf("missing setting: order %s was paid through %s, and refunding it needs %s's API keys: %s",
			id, ord.Gateway, ord.Gateway, keyNames[ord.Gateway])
	}
	actor, err := o.actor(ctx)
	if err != nil {
		return err
	}
	svc := shop.New(shop.Service{Store: o.store, Refunders: rfs})
	res, err := svc.Refund(ctx, shop.RefundRequest{OrderID: id, Amount: *amount, Actor: actor})
	if errors.Is(err, order.ErrNotFound) {
		return fmt.Errorf("unknown order %s: table %s holds no order with that id", id, o.cfg.TableName)
	}
	if order.ErrorCode(err) == order.CodeRefundRefused {
		return fmt.Errorf("%s refused the refund, and would again: %s. Nothing was refunded, and the request no longer counts against what is refundable",
			ord.Gateway, strings.TrimRight(plainly(err).Error(), "."))
	}
	if err != nil {
		return plainly(o.explain(err))
	}
	ord = res.Order
	money := formatMoney(res.Amount, ord.Currency)
	if res.Retried {
		fmt.Fprintf(stdout, "Refund #%d of %s for order %s had no answer from %s yet: asked again under the same idempotency key, so it is made once.\n",
			res.Seq, money, ord.ID, ord.Gateway)
	}
	fmt.Fprintf(stdout, "Asked %s to refund %s of order %s: refund #%d, %s (idempotency key %s).\n",
		ord.Gateway, money, ord.ID, res.Seq, orDash(res.RefundID), order.RefundKey(ord.ID, res.Seq))
	if res.Unrecorded != nil {
		fmt.Fprintf(stderr, "The refund was asked, but its id could not be written on the order (%v). Do not ask for another amount: `jampay refund %s` asks again under the same key, and the gateway answers with this same refund.\n",
			res.Unrecorded, ord.ID)
	}
	then := order.PartiallyRefunded
	if ord.Refundable() == 0 {
		then = order.Refunded
	}
	fmt.Fprintf(stdout, "The order stays %s until %s confirms the refund (its webhook, or the next reconcile run); then it becomes %s.\n",
		ord.Status, ord.Gateway, then)
	if !*wait {
		return nil
	}
	return waitForRefund(ctx, o, *ord, res, stdout, stderr)
}

// waitForRefund reads the order every refundPoll until the gateway's
// confirmation shows (the refunded amount the gateway reports covers this
// request), for up to refundWait or until the command is stopped.
func waitForRefund(ctx context.Context, o *owner, ord order.Order, res shop.RefundResult, stdout, stderr io.Writer) error {
	r, _ := ord.RefundBySeq(res.Seq)
	target := r.RefundedBefore + r.Amount
	fmt.Fprintf(stderr, "Waiting for %s's confirmation (up to %s)…\n", ord.Gateway, refundWait)
	ctx, cancel := context.WithTimeout(ctx, refundWait)
	defer cancel()
	tick := time.NewTicker(refundPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("refund #%d of order %s is asked (%s) but %s has not confirmed it yet: it is still pending. Do not ask again; the order moves when %s confirms (webhook or reconcile): see `jampay order %s`",
				res.Seq, ord.ID, orDash(res.RefundID), ord.Gateway, ord.Gateway, ord.ID)
		case <-tick.C:
		}
		cur, err := o.store.GetOrder(ctx, ord.ID)
		if err != nil {
			if ctx.Err() != nil {
				continue // reported by the select above
			}
			return o.explain(err)
		}
		if cur.Evidence.Refunded >= target && (cur.Status == order.PartiallyRefunded || cur.Status == order.Refunded) {
			fmt.Fprintf(stdout, "Confirmed: order %s is %s; %s of %s refunded.\n", cur.ID, cur.Status,
				formatMoney(cur.Evidence.Refunded, cur.Currency), formatMoney(cur.Evidence.PaidAmount, cur.Currency))
			return nil
		}
	}
}

// plainly shows an application error as its sentence: the owner reads
// "Order … is pending: nothing was paid…", not its code. An error that
// wraps more (the gateway's own words) is shown whole.
func plainly(err error) error {
	var e *order.Error
	if errors.As(err, &e) && e.Error() == err.Error() {
		return errors.New(e.Message)
	}
	return err
}

// keyNames say where each gateway's API keys are set.
var keyNames = map[string]string{
	"stripe":   config.StripeSecretKey + " (and " + config.StripeMode + ")",
	"razorpay": config.RazorpayKeyID + " and " + config.RazorpayKeySecret,
}

// refunders builds each configured gateway's refund client. STRIPE_MODE
// is required with a Stripe key, as in Lambda.
func refunders(o *owner) (map[string]shop.Refunder, error) {
	return inquirers.Refunders(o.cfg, "")
}
