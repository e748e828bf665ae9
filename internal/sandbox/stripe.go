package sandbox

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/pkg/order"
)

// StripeGateway is the sandbox's Stripe: Checkout Sessions are local pages.
type StripeGateway struct{ s *Sandbox }

// Stripe returns the sandbox's Stripe gateway.
func (s *Sandbox) Stripe() *StripeGateway { return &StripeGateway{s} }

// CreateCheckout opens a local hosted checkout for the order.
func (g *StripeGateway) CreateCheckout(ctx context.Context, o *order.Order) (order.Checkout, error) {
	ss := g.s.open("stripe", "cs_sandbox_", "pi_sandbox_", o)
	data, _ := json.Marshal(map[string]string{"url": g.s.cfg.BaseURL + "/sandbox/stripe/" + ss.Ref})
	return order.Checkout{SessionRef: ss.Ref, Data: data, Deadline: g.s.cfg.Now().Add(g.s.cfg.ttl())}, nil
}

// SendStripe signs payload with stripe-go's own signer, exactly as Stripe
// signs (t=…,v1=…), and POSTs it to url.
func SendStripe(ctx context.Context, client *http.Client, url, secret string, payload []byte, at time.Time) error {
	return post(ctx, client, url, payload, http.Header{"Stripe-Signature": {payloads.StripeSignature(payload, secret, at)}, "User-Agent": {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"}})
}

func (s *Sandbox) stripePage(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.session("stripe", r.PathValue("session"))
	if !ok {
		http.Error(w, "No such sandbox checkout session.", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	data := pageData{
		Shop: s.cfg.ShopName, Gateway: "Stripe", Action: "/sandbox/stripe/" + ss.Ref + "/",
		Order: ss.Order, Email: ss.Order.Email, Declined: ss.Declined, Closed: ss.Closed,
		SuccessURL: s.cfg.SiteURL + "/success.html", ShopURL: s.cfg.SiteURL + "/",
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTemplate.Execute(w, data)
}

// declineMessage is what Stripe Checkout shows under the card field after a
// generic decline, and the PaymentIntent's last_payment_error.message.
const declineMessage = "Your card was declined."

// stripeAction plays the customer's choice on Stripe's hosted page and
// sends what Stripe would send for it. As on Stripe's page, a decline keeps
// the customer there with the error, free to pay or leave; a session that
// was paid or has expired takes no more attempts.
func (s *Sandbox) stripeAction(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.session("stripe", r.PathValue("session"))
	if !ok {
		http.Error(w, "No such sandbox checkout session.", http.StatusNotFound)
		return
	}
	page := s.cfg.BaseURL + "/sandbox/stripe/" + ss.Ref
	// The same PaymentIntent for every attempt: Stripe Checkout creates one
	// per session and confirms it again after a decline.
	ev := payloads.Stripe{
		OrderID: ss.Order.ID, Amount: ss.Order.Amount, Currency: ss.Order.Currency,
		SessionID: ss.Ref, PaymentIntentID: ss.PaymentRef, Created: s.cfg.Now(),
	}
	var next string
	var open bool
	action := r.PathValue("action")
	switch action {
	case "pay", loseWebhook:
		ev.Type, next, open = "checkout.session.completed", s.cfg.SiteURL+"/success.html", s.close(ss, "paid")
	case "decline":
		// jampay hears the PaymentIntent's failure; the session stays open.
		ev.Type, ev.Reason, ev.DeclineCode = "payment_intent.payment_failed", declineMessage, "generic_decline"
		next, open = page, s.decline(ss, declineMessage)
	case "abandon":
		ev.Type, next, open = "checkout.session.expired", s.cfg.SiteURL+"/cancel.html", s.close(ss, "expired")
	default:
		http.Error(w, "Unknown action.", http.StatusNotFound)
		return
	}
	if !open {
		http.Redirect(w, r, page, http.StatusSeeOther)
		return
	}
	payload, err := ev.Payload()
	if err == nil && action == loseWebhook {
		// Paid in the sandbox's books, and the customer sent on to the
		// success page, but jampay hears nothing until reconcile asks.
		s.lose("stripe", "", payload)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if err == nil {
		err = SendStripe(r.Context(), s.cfg.Client, s.cfg.BaseURL+"/api/webhooks/stripe", s.cfg.StripeSecret, payload, time.Time{})
	}
	if err != nil {
		if ev.Type != "payment_intent.payment_failed" {
			s.reopen(ss)
		}
		http.Error(w, "The sandbox could not deliver Stripe's webhook: "+err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type pageData struct {
	Shop, Gateway, Action, Email string
	Order                        order.Order
	// Declined is the last attempt's decline message; Closed is "paid" or
	// "expired" once the session takes no more attempts.
	Declined, Closed    string
	SuccessURL, ShopURL string
}

// pageTemplate is the hosted checkout page. Amounts are formatted in the
// browser with Intl.NumberFormat, which knows each currency's minor unit.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {{.Shop}} — {{.Gateway}} sandbox</title>
<style>
 :root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1f;background:#f4f1ec}
 main{max-width:30rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:14px;box-shadow:0 6px 24px #0001}
 .badge{display:inline-block;background:#fde68a;color:#713f12;border-radius:999px;padding:.15rem .6rem;font-size:.8rem;font-weight:600}
 h1{font-size:1.3rem;margin:.6rem 0 1rem} table{width:100%;border-collapse:collapse;margin-bottom:1rem}
 td{padding:.45rem 0;border-bottom:1px solid #eee} td.n{text-align:right;font-variant-numeric:tabular-nums}
 tfoot td{font-weight:700;border:0;padding-top:.8rem} .buttons{display:grid;gap:.6rem}
 button{font:inherit;font-weight:600;padding:.8rem;border-radius:10px;border:2px solid transparent;cursor:pointer}
 button:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
 .pay{background:#166534;color:#fff} .lose{background:#fff;color:#166534;border-color:#166534} .decline{background:#fff;color:#991b1b;border-color:#991b1b} .abandon{background:#fff;color:#374151;border-color:#9ca3af}
 .note{color:#4b5563;font-size:.85rem;margin-top:1rem} .alert{background:#fef2f2;color:#991b1b;padding:.6rem .8rem;border-radius:8px;border:1px solid #fecaca}
 .done{background:#f3f4f6;padding:.6rem .8rem;border-radius:8px}
</style></head>
<body><main>
 <span class="badge">{{.Gateway}} sandbox — no real money</span>
 <h1>Pay {{.Shop}}</h1>
 {{if .Declined}}<p class="alert" role="alert"><strong>{{.Declined}}</strong> Nothing was charged. Try again, or use another card.</p>{{end}}
 {{if .Email}}<p>Receipt to <strong>{{.Email}}</strong></p>{{end}}
 <table aria-label="Order lines"><tbody>
 {{range .Order.Items}}<tr><td>{{.Name}} × {{.Quantity}}</td><td class="n" data-amount="{{.UnitAmount}}" data-qty="{{.Quantity}}"></td></tr>{{end}}
 </tbody><tfoot><tr><td>Total</td><td class="n" id="total" data-amount="{{.Order.Amount}}" data-qty="1"></td></tr></tfoot></table>
 {{if eq .Closed "paid"}}<p class="done" role="status">This checkout is complete: it has been paid.</p>
 <p><a href="{{.SuccessURL}}">See your order</a></p>
 {{else if eq .Closed "expired"}}<p class="done" role="status">This checkout has expired. Nothing was charged.</p>
 <p><a href="{{.ShopURL}}">Back to {{.Shop}}</a></p>
 {{else}}<div class="buttons">
  <form method="post" action="{{.Action}}pay"><button class="pay" style="width:100%" type="submit">Pay</button></form>
  <form method="post" action="{{.Action}}pay-lose-webhook"><button class="lose" style="width:100%" type="submit" aria-describedby="lose-note">Pay, but lose the webhook</button></form>
  <form method="post" action="{{.Action}}decline"><button class="decline" style="width:100%" type="submit">Decline (card declined)</button></form>
  <form method="post" action="{{.Action}}abandon"><button class="abandon" style="width:100%" type="submit">Abandon (session expires)</button></form>
 </div>{{end}}
 <p class="note">Each button sends the webhook {{.Gateway}} would send, signed, to this jampay.
 <span id="lose-note">"Pay, but lose the webhook" pays and sends nothing: the order stays pending until reconcile asks {{.Gateway}} ("Reconcile now" at <a href="/_jampay/">/_jampay/</a>).</span></p>
</main>
<script>
 const cur = {{.Order.Currency}};
 const fmt = new Intl.NumberFormat(undefined, {style: "currency", currency: cur.toUpperCase()});
 const exp = fmt.resolvedOptions().maximumFractionDigits;
 for (const el of document.querySelectorAll("[data-amount]")) {
   el.textContent = fmt.format(Number(el.dataset.amount) * Number(el.dataset.qty) / 10 ** exp);
 }
</script>
</body></html>`))
