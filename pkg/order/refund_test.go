package order_test

import (
	"testing"
	"time"

	"github.com/jampay/jampay/pkg/order"
)

func paid4000() order.Order {
	return order.Order{ID: order.NewID(), Gateway: "stripe", Status: order.Paid, Amount: 4000, Currency: "usd", PaymentRef: "pi_1",
		Evidence: order.Evidence{Paid: true, PaidAmount: 4000, PaidCurrency: "usd", PaidRef: "pi_1"}}
}

// TestRefundable_CountsPendingRequestsOnTopOfWhatTheGatewayReported walks
// a payment of 4000 through refunds asked by jampay and made in the
// gateway's dashboard, confirmed or not: what is left is never more than
// the payment really has left once the pending ones go through, and never
// less once they are confirmed.
func TestRefundable_CountsPendingRequestsOnTopOfWhatTheGatewayReported(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	o := paid4000()
	step := func(name string, want int64) {
		t.Helper()
		if got := o.Refundable(); got != want {
			t.Fatalf("%s: refundable %d, want %d", name, got, want)
		}
	}
	ask := func(amount int64) {
		t.Helper()
		next, _, err := o.RequestRefund(amount, "local", now)
		if err != nil {
			t.Fatal(err)
		}
		o = next
	}
	step("paid", 4000)
	o.Evidence.Refunded = 500 // a dashboard refund, confirmed
	step("dashboard 500", 3500)
	ask(1000) // pending
	step("1000 asked on top of the dashboard's 500", 2500)
	o.Evidence.Refunded = 1500 // jampay's 1000 confirmed
	step("confirmed", 2500)
	o.Evidence.Refunded = 1700 // another dashboard refund
	step("dashboard 200 more", 2300)
	ask(300)
	step("300 asked", 2000)
	next, changed := o.RefuseRefund(2, "charge_disputed", "local", now)
	if !changed {
		t.Fatal("refusal changed nothing")
	}
	o = next
	step("300 refused", 2300)
	if _, _, err := o.RequestRefund(2301, "local", now); order.ErrorCode(err) != order.CodeOverRefund {
		t.Fatalf("2301 of 2300: %v", err)
	}
	if _, r, err := o.RequestRefund(0, "local", now); err != nil || r.Amount != 2300 || r.Seq != 3 || r.RefundedBefore != 1700 {
		t.Fatalf("all that is left: %+v %v", r, err)
	}
}

// TestRequestRefund_SharesNothingWithTheOrderItCameFrom: the stores keep
// clones, and a request edited in place must not change the order read.
func TestRequestRefund_SharesNothingWithTheOrderItCameFrom(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	o := paid4000()
	o.Refunds = make([]order.Refund, 1, 4)
	o.Refunds[0] = order.Refund{Seq: 1, Amount: 100, At: now}
	next, _, err := o.RequestRefund(100, "local", now)
	if err != nil {
		t.Fatal(err)
	}
	withID, _ := next.RecordRefundID(2, "re_2", now)
	c := withID.Clone()
	c.Refunds[1].RefundID = "re_changed"
	if len(o.Refunds) != 1 || next.Refunds[1].RefundID != "" || withID.Refunds[1].RefundID != "re_2" {
		t.Fatalf("edits leaked: %+v / %+v / %+v", o.Refunds, next.Refunds, withID.Refunds)
	}
	if next.Version != o.Version+1 || withID.Version != next.Version+1 {
		t.Fatalf("versions %d %d %d", o.Version, next.Version, withID.Version)
	}
}
