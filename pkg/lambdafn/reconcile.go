package lambdafn

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/jampay/jampay/pkg/shop"
)

// stopMargin is how long before the Lambda deadline a reconcile run stops
// starting new work, so what it began is finished and its lease released.
const stopMargin = 15 * time.Second

// Reconcile runs one scheduled reconcile and logs what it did. Another run
// holding the lease is not a failure (the schedule may overlap a CLI run);
// a store failure is, so Lambda reports it.
func Reconcile(ctx context.Context, svc *shop.Service, log *slog.Logger, holder string) error {
	stop := time.Now().Add(5 * time.Minute)
	if d, ok := ctx.Deadline(); ok {
		stop = d.Add(-stopMargin)
	}
	rep, err := svc.Reconcile(ctx, shop.ReconcileOptions{
		Holder: holder, Actor: "lambda:" + os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Stop: stop,
	})
	if errors.Is(err, shop.ErrBusy) {
		log.Info("reconcile skipped", "reason", err.Error())
		return nil
	}
	attrs := []any{"open", rep.Open, "moved", rep.Moved, "missed", rep.Missed, "replayed", rep.Replayed,
		"subscriptions_asked", rep.SubscriptionsAsked, "subscriptions_moved", rep.SubscriptionsMoved,
		"subscriptions_expired", rep.SubscriptionsExpired, "renewals_found", rep.RenewalsFound, "trials_ending", rep.TrialsEnding,
		"stopped_early", rep.Stopped, "errors", len(rep.Errors)}
	for _, n := range rep.Notes {
		log.Warn("reconcile: the gateway says events may be missing", "note", n)
	}
	for _, id := range rep.PaidLate {
		log.Warn("late payment: money arrived for an order that had expired", "order_id", id)
	}
	for _, ref := range rep.WithoutOrder {
		log.Error("payment without order", "gateway", ref.Gateway, "ref", ref.Ref, "parked_at", ref.ParkedAt)
	}
	for _, e := range rep.Errors {
		log.Warn("reconcile: left for the next run", "err", e)
	}
	if err != nil {
		log.Error("reconcile failed", append(attrs, "err", err)...)
		return err
	}
	log.Info("reconcile", attrs...)
	return nil
}
