// jampay sandbox: a local stand-in for Razorpay's Checkout.js. It offers the
// same surface a shop uses — new Razorpay(options), .on("payment.failed"),
// .open(), options.handler and options.modal.ondismiss, with order_id for an
// order or subscription_id for a subscription — and its buttons make the
// sandbox send the webhooks Razorpay would. No real money moves.
(function () {
  "use strict";
  function fmt(amount, currency) {
    var f = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    return f.format(amount / Math.pow(10, f.resolvedOptions().maximumFractionDigits));
  }
  function Razorpay(options) {
    if (!(this instanceof Razorpay)) return new Razorpay(options);
    if (!options || !options.key || !(options.order_id || options.subscription_id)) throw new Error("Razorpay: key and order_id or subscription_id are required");
    this.options = options;
    this.handlers = {};
  }
  Razorpay.prototype.on = function (event, fn) { (this.handlers[event] = this.handlers[event] || []).push(fn); };
  Razorpay.prototype.emit = function (event, arg) { (this.handlers[event] || []).forEach(function (fn) { fn(arg); }); };
  Razorpay.prototype.close = function () { if (this.root) { this.root.remove(); this.root = null; } };
  Razorpay.prototype.open = function () {
    var self = this, o = this.options, sub = !o.order_id && o.subscription_id;
    var root = document.createElement("div");
    root.setAttribute("data-jampay-sandbox", "razorpay");
    root.style.cssText = "position:fixed;inset:0;background:rgba(17,24,39,.55);display:grid;place-items:center;z-index:2147483647;font-family:system-ui,sans-serif";
    var box = document.createElement("div");
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "rzp-sbx-title");
    box.style.cssText = "background:#fff;color:#111827;border-radius:14px;padding:1.4rem;width:min(92vw,24rem);box-shadow:0 10px 40px rgba(0,0,0,.3)";
    box.innerHTML =
      '<p style="margin:0 0 .4rem"><span style="background:#fde68a;color:#713f12;border-radius:999px;padding:.1rem .55rem;font-size:.8rem;font-weight:600">Razorpay sandbox — no real money</span></p>' +
      '<h2 id="rzp-sbx-title" style="margin:.3rem 0;font-size:1.2rem"></h2>' +
      '<p style="margin:.2rem 0 1rem;font-size:1.6rem;font-weight:700" data-total></p>' +
      '<p data-msg role="alert" style="color:#991b1b;min-height:1.2em;margin:.2rem 0"></p>' +
      '<div style="display:grid;gap:.55rem">' +
      '<button data-act="pay" style="font:inherit;font-weight:600;padding:.75rem;border:0;border-radius:10px;background:#1d4ed8;color:#fff;cursor:pointer">Pay</button>' +
      '<button data-act="pay-lose-webhook" aria-describedby="rzp-sbx-lose" style="font:inherit;font-weight:600;padding:.75rem;border:2px solid #1d4ed8;border-radius:10px;background:#fff;color:#1d4ed8;cursor:pointer">Pay, but lose the webhook</button>' +
      '<button data-act="decline" style="font:inherit;font-weight:600;padding:.75rem;border:2px solid #991b1b;border-radius:10px;background:#fff;color:#991b1b;cursor:pointer">Decline (bank declines)</button>' +
      '<button data-act="abandon" style="font:inherit;font-weight:600;padding:.75rem;border:2px solid #6b7280;border-radius:10px;background:#fff;color:#374151;cursor:pointer">Abandon (close Checkout)</button>' +
      "</div>" +
      '<p id="rzp-sbx-lose" style="margin:.8rem 0 0;color:#4b5563;font-size:.85rem">"Pay, but lose the webhook" pays and sends nothing: the order stays pending until reconcile asks Razorpay ("Reconcile now" at <a href="/_jampay/">/_jampay/</a>).</p>';
    box.querySelector("#rzp-sbx-title").textContent = (sub ? "Subscribe — " : "Pay ") + (o.name || "the shop");
    box.querySelector("[data-total]").textContent = o.amount ? fmt(o.amount, o.currency || "INR") : "";
    if (sub) {
      // A subscription: Subscribe authenticates it; no lost-webhook button.
      var first = box.querySelector('[data-act="pay"]');
      first.textContent = "Subscribe";
      first.setAttribute("data-act", "subscribe");
      box.querySelector('[data-act="pay-lose-webhook"]').remove();
      box.querySelector("#rzp-sbx-lose").textContent = o.description || "";
    }
    root.appendChild(box);
    document.body.appendChild(root);
    this.root = root;
    var buttons = box.querySelectorAll("button");
    buttons[0].focus();
    function act(action) {
      buttons.forEach(function (b) { b.disabled = true; });
      var url = sub ? "/sandbox/subscriptions/" + encodeURIComponent(o.subscription_id) + "/" + action
        : "/sandbox/razorpay/" + encodeURIComponent(o.order_id) + "/" + action;
      return fetch(url, { method: "POST", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) throw new Error(res.body.error || "sandbox error");
          if (action === "pay" || action === "pay-lose-webhook" || action === "subscribe") { self.close(); if (o.handler) o.handler(res.body); }
          else if (action === "decline") {
            // Razorpay keeps Checkout open after a failed payment, with the
            // error, so the customer can retry on the same order.
            box.querySelector("[data-msg]").textContent = res.body.error.description + " Try again, or use another method.";
            buttons.forEach(function (b) { b.disabled = false; });
            buttons[0].focus();
            self.emit("payment.failed", res.body);
          }
          else { self.close(); if (o.modal && o.modal.ondismiss) o.modal.ondismiss(); }
        })
        .catch(function (err) {
          box.querySelector("[data-msg]").textContent = String(err.message || err);
          buttons.forEach(function (b) { b.disabled = false; });
        });
    }
    buttons.forEach(function (b) { b.addEventListener("click", function () { act(b.getAttribute("data-act")); }); });
    root.addEventListener("keydown", function (e) { if (e.key === "Escape") act("abandon"); });
  };
  window.Razorpay = Razorpay;
})();
