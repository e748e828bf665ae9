package catalog

import (
	"errors"
	"fmt"

	"github.com/jampay/jampay/pkg/order"
)

// Interval is the unit of a subscription's billing period.
type Interval string

// The billing intervals a catalog may name; both gateways know all four
// (Stripe's recurring.interval; Razorpay's plan period daily, weekly,
// monthly, yearly).
const (
	Day   Interval = "day"
	Week  Interval = "week"
	Month Interval = "month"
	Year  Interval = "year"
)

func (i Interval) valid() bool { return i == Day || i == Week || i == Month || i == Year }

// perYear is how many of each interval fit in a year, counting a year as
// 365 days or 52 weeks so that a limit stated in years is never exceeded.
var perYear = map[Interval]int64{Day: 365, Week: 52, Month: 12, Year: 1}

// RazorpayMaxYears: "We support subscriptions for a maximum duration of
// 100 years" (Razorpay API reference, Subscriptions, total_count).
const RazorpayMaxYears = 100

// StripeMaxYears is the longest billing period jampay sells on Stripe: a
// year, as ARCHITECTURE.md's catalog contract fixes it. Stripe's API
// reference allows up to three years (recurring.interval_count: "3 years,
// 36 months, or 156 weeks"); the contract, not the gateway, is the tighter
// bound, and widening it is a one-line change once the contract does.
const StripeMaxYears = 1

// RazorpayMinDailyInterval: Razorpay plans with period daily need an
// interval of at least 7 (Razorpay docs, Subscriptions, Create Plans).
const RazorpayMinDailyInterval = 7

// DefaultTotalCount is the number of billing cycles of a subscription whose
// product sets no totalCount: as many as fit in Razorpay's maximum duration
// of 100 years, which is as close to open-ended as Razorpay allows
// (total_count is required when creating a Razorpay subscription). Stripe
// subscriptions are open-ended and do not use it.
func DefaultTotalCount(interval Interval, intervalCount int64) int64 {
	if intervalCount < 1 || perYear[interval] == 0 {
		return 0
	}
	return RazorpayMaxYears * perYear[interval] / intervalCount
}

// Subscription reports whether the product is sold as a subscription.
func (p Product) Subscription() bool { return p.Interval != "" }

// Plan is what a subscription checkout needs from the catalog: the
// product's price and its billing schedule, defaults applied.
type Plan struct {
	SKU           string
	Name          string
	Amount        int64 // per billing period, in minor units
	Currency      string
	Interval      Interval
	IntervalCount int64 // ≥ 1
	TrialDays     int64 // 0: no trial
	TotalCount    int64 // billing cycles (Razorpay's total_count)
}

// Plan returns the product's billing plan; ok is false for a product that
// is not a subscription.
func (p Product) Plan() (plan Plan, ok bool) {
	if !p.Subscription() {
		return Plan{}, false
	}
	plan = Plan{SKU: p.SKU, Name: p.Name, Amount: p.UnitAmount, Currency: p.Currency,
		Interval: p.Interval, IntervalCount: 1, TrialDays: p.TrialDays}
	if p.IntervalCount != nil {
		plan.IntervalCount = *p.IntervalCount
	}
	plan.TotalCount = DefaultTotalCount(plan.Interval, plan.IntervalCount)
	if p.TotalCount != nil {
		plan.TotalCount = *p.TotalCount
	}
	return plan, true
}

// years is the plan's billing period in years, as a fraction num/den.
func (p Plan) years() (num, den int64) { return p.IntervalCount, perYear[p.Interval] }

// checkRecurring validates a product's subscription fields on their own;
// CheckGateways adds each gateway's limits.
func checkRecurring(p Product) error {
	if !p.Subscription() {
		if p.IntervalCount != nil || p.TrialDays != 0 || p.TotalCount != nil {
			return errors.New("intervalCount, trialDays and totalCount are for subscriptions: set interval too, or remove them")
		}
		return nil
	}
	switch {
	case !p.Interval.valid():
		return fmt.Errorf("interval %q must be one of day, week, month, year", p.Interval)
	case p.IntervalCount != nil && *p.IntervalCount < 1:
		return fmt.Errorf("intervalCount must be at least 1, not %d", *p.IntervalCount)
	// Counts are bounded so that no product can overflow the arithmetic in
	// gatewayLimit; every gateway's own limit is far lower.
	case p.IntervalCount != nil && *p.IntervalCount > 100_000:
		return fmt.Errorf("intervalCount %d is too large", *p.IntervalCount)
	case p.TrialDays < 0:
		return fmt.Errorf("trialDays must be 0 or more, not %d", p.TrialDays)
	case p.TotalCount != nil && *p.TotalCount < 1:
		return fmt.Errorf("totalCount must be at least 1 billing cycle, not %d", *p.TotalCount)
	case p.TotalCount != nil && *p.TotalCount > 100_000:
		return fmt.Errorf("totalCount %d is too large", *p.TotalCount)
	}
	return nil
}

// CheckGateways fails for a subscription product that one of the named
// gateways cannot sell, naming the product and the gateway. Call it at
// start with the configured gateways; names it has no limits for pass.
func (c *Catalog) CheckGateways(names []string) error {
	var errs []error
	for i, p := range c.Products {
		plan, ok := p.Plan()
		if !ok {
			continue
		}
		for _, gw := range names {
			if err := gatewayLimit(gw, p, plan); err != nil {
				errs = append(errs, fmt.Errorf("product %d (sku %q) cannot be sold on %s: %w", i+1, p.SKU, gw, err))
			}
		}
	}
	return errors.Join(errs...)
}

func gatewayLimit(gateway string, p Product, plan Plan) error {
	num, den := plan.years()
	switch gateway {
	case "stripe":
		if num > StripeMaxYears*den {
			return fmt.Errorf("a billing period of %d %s(s) is longer than jampay sells on Stripe (%d year(s) at most)", plan.IntervalCount, plan.Interval, StripeMaxYears)
		}
	case "razorpay":
		if num > RazorpayMaxYears*den {
			return fmt.Errorf("a billing period of %d %s(s) is longer than Razorpay's maximum of %d years", plan.IntervalCount, plan.Interval, RazorpayMaxYears)
		}
		if plan.Interval == Day && plan.IntervalCount < RazorpayMinDailyInterval {
			return fmt.Errorf("daily plans need an intervalCount of at least %d, not %d", RazorpayMinDailyInterval, plan.IntervalCount)
		}
		if plan.Interval == Day && p.TotalCount == nil {
			return errors.New("daily plans need a totalCount (the number of billing cycles)")
		}
		if plan.TotalCount*num > RazorpayMaxYears*den {
			return fmt.Errorf("totalCount %d of %d %s(s) is longer than Razorpay's maximum of %d years", plan.TotalCount, plan.IntervalCount, plan.Interval, RazorpayMaxYears)
		}
	}
	return nil
}

// ErrSubscriptionCart is Price's answer to a cart that is one
// subscription: such a cart is checked out with Subscription, never
// charged once. Until checkout sells subscriptions (issue 17) it reaches
// the customer as 400 not_supported, never as a one-off charge.
var ErrSubscriptionCart = &order.Error{Code: order.CodeNotSupported, Message: "This product is a subscription, and this shop does not sell subscriptions yet."}

func errMixedCart(sku string) *order.Error {
	return order.Errorf(order.CodeMixedCart, "%q is a subscription: check it out on its own, one at a time.", sku)
}

// Subscription tells a subscription checkout from a one-off one. For a
// cart with no subscription product it returns ok false and no error
// (price it with Price, which checks the rest). For a cart of exactly one
// line, quantity 1, of a subscription product it returns the plan. A
// subscription with any other line, including a second subscription, is
// mixed_cart; a quantity other than 1 is invalid_quantity (one subscription
// per checkout, so that one payment method pays one plan).
func (c *Catalog) Subscription(lines []Line) (plan Plan, ok bool, err error) {
	for _, l := range lines {
		p, found := c.bySKU[l.SKU]
		if !found || !p.Subscription() {
			continue
		}
		if len(lines) > 1 {
			return Plan{}, false, errMixedCart(p.SKU)
		}
		if l.Quantity != 1 {
			return Plan{}, false, order.Errorf(order.CodeInvalidQuantity, "The quantity of %q, a subscription, must be 1.", p.SKU)
		}
		plan, _ = p.Plan()
		return plan, true, nil
	}
	return Plan{}, false, nil
}
