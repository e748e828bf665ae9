package subscription

import (
	"slices"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

// The mails a subscription's changes may owe the customer.
const (
	MailStarted        = "subscription_started"
	MailRenewalReceipt = "renewal_receipt"
	MailRenewalFailed  = "renewal_failed"
	MailTrialEnding    = "trial_ending"
	MailCanceled       = "subscription_canceled"
	// MailAccessLink is a link to the account page with a fresh token, for
	// a subscriber on another device: owed by their request (not by a
	// change), and its token made only when it is sent.
	MailAccessLink = "access_link"
)

// AccessLinkEffect is the type of the effect an access-link request owes.
const AccessLinkEffect = "subscription.access_link"

// OwedEffects lists what the write from before to after owes (invariant
// 10): a new status (subscription.<status>, and the customer's mail for
// it), each renewal paid after the first (subscription.renewed and a
// receipt), a renewal of another amount (subscription.amount_mismatch), a
// trial about to end, a payment refunded or disputed at the gateway.
// Effects are keyed by the subscription id in
// Effect.OrderID.
func OwedEffects(before, after Subscription, now time.Time) []order.Effect {
	var out []order.Effect
	owe := func(typ, mail string) {
		out = append(out, order.Effect{OrderID: after.ID, Version: after.Version, Type: typ, Mail: mail, OwedAt: now})
	}
	if after.Status != before.Status {
		mail := ""
		switch after.Status {
		case Trialing, Active:
			if before.Status == Pending {
				mail = MailStarted
			}
		case PastDue, Halted:
			if before.Status != PastDue && before.Status != Halted {
				mail = MailRenewalFailed
			}
		case Canceled:
			mail = MailCanceled
		}
		owe("subscription."+string(after.Status), mail)
	}
	for _, r := range after.Evidence.Renewals {
		// The first payment starts the subscription: its mail is the
		// started one. Every later one renews it, with a receipt.
		if !r.First && !before.Evidence.Renewed(r.Ref) {
			owe("subscription.renewed", MailRenewalReceipt)
		}
	}
	for _, ref := range after.Evidence.Mismatched {
		if !slices.Contains(before.Evidence.Mismatched, ref) {
			owe("subscription.amount_mismatch", "")
		}
	}
	for _, ref := range after.Evidence.Refunded {
		if !slices.Contains(before.Evidence.Refunded, ref) {
			owe("subscription.payment_refunded", "")
		}
	}
	for _, ref := range after.Evidence.Disputed {
		if !slices.Contains(before.Evidence.Disputed, ref) {
			owe("subscription.payment_disputed", "")
		}
	}
	if after.Evidence.TrialEnding > before.Evidence.TrialEnding && !after.Status.Final() {
		owe("subscription.trial_will_end", MailTrialEnding)
	}
	return out
}
