package sandbox

import (
	"html/template"
	"net/http"
	"time"

	"github.com/jampay/jampay/pkg/subscription"
)

type subPageData struct {
	Shop, Gateway, Action                   string
	Sub                                     subscription.Subscription
	Checkout, Declined, Status              string
	PeriodStart, PeriodEnd, TrialEnd, Clock time.Time
	Cancel, Trialing, Failing, Ended        bool
	AccountURL, ShopURL                     string
}

// portalPage stands in for Stripe's billing portal: the customer updates
// the card (which, with a renewal failing, pays it) and returns to the shop.
func (s *Sandbox) portalPage(w http.ResponseWriter, r *http.Request) {
	b, ok := s.subscriptionBook(r.PathValue("id"))
	if !ok || b.Gateway != "stripe" {
		http.Error(w, "No such sandbox billing portal session.", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	data := struct {
		Shop, Action, ReturnURL, Status, ControlsURL string
		Sub                                          subscription.Subscription
		Failing, Updated                             bool
	}{Shop: s.cfg.ShopName, Action: "/sandbox/subscriptions/" + b.Sub.ID + "/update-card", ReturnURL: b.ReturnURL,
		Status: b.Status, Sub: b.Sub, Failing: b.failing(), Updated: r.URL.Query().Has("updated"),
		ControlsURL: "/sandbox/subscriptions/" + b.Sub.ID}
	if data.ReturnURL == "" {
		data.ReturnURL = s.cfg.SiteURL + "/account.html?subscription=" + b.Sub.ID
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = portalTemplate.Execute(w, data)
}

const sandboxStyle = `<style>
 :root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1f;background:#f4f1ec}
 main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:14px;box-shadow:0 6px 24px #0001}
 .badge{display:inline-block;background:#fde68a;color:#713f12;border-radius:999px;padding:.15rem .6rem;font-size:.8rem;font-weight:600}
 h1{font-size:1.3rem;margin:.6rem 0 1rem} h2{font-size:1.05rem;margin:1.2rem 0 .5rem} dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem;margin:0 0 1rem} dt{color:#4b5563} dd{margin:0;font-weight:600}
 .buttons{display:grid;gap:.6rem}
 button,.button{font:inherit;font-weight:600;padding:.8rem;border-radius:10px;border:2px solid transparent;cursor:pointer;width:100%;text-align:center;text-decoration:none;display:block;box-sizing:border-box}
 button:focus-visible,a:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
 .pay{background:#166534;color:#fff} .decline{background:#fff;color:#991b1b;border-color:#991b1b} .abandon,.plain{background:#fff;color:#374151;border-color:#9ca3af}
 .note{color:#4b5563;font-size:.85rem;margin-top:1rem} .alert{background:#fef2f2;color:#991b1b;padding:.6rem .8rem;border-radius:8px;border:1px solid #fecaca}
 .done{background:#f3f4f6;padding:.6rem .8rem;border-radius:8px}
</style>`

// subPageTemplate is the subscription's hosted page: Stripe's Checkout in
// subscription mode while it is open, then the subscription's time
// controls. Amounts are formatted in the browser with Intl.NumberFormat.
var subPageTemplate = template.Must(template.New("sub").Funcs(template.FuncMap{
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Subscribe to {{.Sub.Name}} — {{.Gateway}} sandbox</title>` + sandboxStyle + `</head>
<body><main>
 <span class="badge">{{.Gateway}} sandbox — no real money</span>
 <h1>{{if eq .Checkout "complete"}}{{.Sub.Name}} at {{.Shop}}{{else}}Subscribe to {{.Sub.Name}}{{end}}</h1>
 <p><strong id="price" data-amount="{{.Sub.Amount}}"></strong> every {{if gt .Sub.IntervalCount 1}}{{.Sub.IntervalCount}} {{.Sub.Interval}}s{{else}}{{.Sub.Interval}}{{end}}{{if gt .Sub.TrialDays 0}}, after a {{.Sub.TrialDays}}-day free trial{{end}}.</p>
 {{if .Sub.Email}}<p>Receipts to <strong>{{.Sub.Email}}</strong></p>{{end}}
 {{if eq .Checkout ""}}
  {{if .Declined}}<p class="alert" role="alert"><strong>{{.Declined}}</strong> Nothing was charged. Try again, or use another card.</p>{{end}}
  {{if eq .Gateway "Stripe"}}<div class="buttons">
   <form method="post" action="{{.Action}}subscribe"><button class="pay" type="submit">Subscribe</button></form>
   <form method="post" action="{{.Action}}decline"><button class="decline" type="submit">Decline (card declined)</button></form>
   <form method="post" action="{{.Action}}abandon"><button class="abandon" type="submit">Abandon (session expires)</button></form>
  </div>
  <p class="note">Each button sends the webhooks Stripe would send, signed, to this jampay.</p>
  {{else}}<p class="done" role="status">Waiting for the customer in Razorpay Checkout, on the shop's page.</p>{{end}}
 {{else if eq .Checkout "expired"}}
  <p class="done" role="status">This checkout was abandoned. Nothing was charged.</p>
  <p><a href="{{.ShopURL}}">Back to {{.Shop}}</a></p>
 {{else}}
  <dl aria-label="The subscription at {{.Gateway}}">
   <dt>Status at {{.Gateway}}</dt><dd id="gateway-status">{{.Status}}{{if .Cancel}} (ends with its period){{end}}</dd>
   <dt>Current period</dt><dd>{{day .PeriodStart}} → {{day .PeriodEnd}}</dd>
   {{if .Trialing}}<dt>Trial ends</dt><dd>{{day .TrialEnd}}</dd>{{end}}
   <dt>Sandbox clock</dt><dd>{{day .Clock}}</dd>
  </dl>
  {{if .Ended}}<p class="done" role="status">This subscription has ended.</p>
  {{else}}<h2>Make time pass</h2>
  <div class="buttons">
   {{if .Trialing}}<form method="post" action="{{.Action}}end-trial"><button class="pay" type="submit">End the trial</button></form>{{end}}
   {{if .Cancel}}<form method="post" action="{{.Action}}end-period"><button class="pay" type="submit">Let the period end</button></form>
   {{else}}<form method="post" action="{{.Action}}renew"><button class="pay" type="submit">{{if .Failing}}Retry the renewal (it succeeds){{else}}Renew (the next period is paid){{end}}</button></form>
   <form method="post" action="{{.Action}}fail"><button class="decline" type="submit">Fail a renewal</button></form>
   <form method="post" action="{{.Action}}exhaust"><button class="decline" type="submit">Exhaust the retries</button></form>{{end}}
  </div>
  <p class="note">Each button moves this subscription's clock on and sends the webhooks {{.Gateway}} would send, signed, to this jampay. Cancel from the shop's account page.</p>{{end}}
  <p><a class="button plain" href="{{.AccountURL}}">Your account at {{.Shop}}</a></p>
 {{end}}
</main>
<script>
 const el = document.getElementById("price");
 const fmt = new Intl.NumberFormat(undefined, {style: "currency", currency: {{.Sub.Currency}}.toUpperCase()});
 el.textContent = fmt.format(Number(el.dataset.amount) / 10 ** fmt.resolvedOptions().maximumFractionDigits);
</script>
</body></html>`))

// portalTemplate is the stand-in for Stripe's billing portal.
var portalTemplate = template.Must(template.New("portal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Billing — {{.Shop}} — Stripe sandbox</title>` + sandboxStyle + `</head>
<body><main>
 <span class="badge">Stripe sandbox — no real money</span>
 <h1>Manage billing for {{.Sub.Name}}</h1>
 <p>This page stands in for Stripe's billing portal, where a subscriber updates the card {{.Shop}} charges.</p>
 {{if .Updated}}<p class="done" role="status">Your card was updated.{{if not .Failing}} Nothing is owed.{{end}}</p>{{end}}
 {{if .Failing}}<p class="alert" role="alert">The last payment failed. Update your card and Stripe tries again.</p>{{end}}
 <div class="buttons">
  <form method="post" action="{{.Action}}"><button class="pay" type="submit">Update card</button></form>
  <a class="button plain" href="{{.ReturnURL}}">Return to the shop</a>
 </div>
 <p class="note">Updating the card sends what Stripe sends when it pays a failed invoice on the new card. <a href="{{.ControlsURL}}">Sandbox time controls</a>.</p>
</main></body></html>`))
