// jampay.js — the one file a static site includes to sell through jampay.
// A dependency-free ES module: no build step, works from Hugo, Astro, Next
// export or plain HTML.
//
//   import { createCheckout, waitForOrder, formatMoney } from "/jampay.js";
//   await createCheckout({ apiBase: "https://abc.execute-api.eu-west-1.amazonaws.com",
//                          gateway: "stripe", items: [{ sku: "tee-m", quantity: 2 }] });
//   // …and on the success page:
//   waitForOrder({ onUpdate: (order) => render(order) });
//
// Prices never leave the browser: the cart says which products and how many,
// and jampay prices them from the catalog it ships with. The order id and
// its status token are kept in sessionStorage, never put in a URL.
//
// A cart of one subscription product checks out a subscription instead:
// its id and token are kept in localStorage (the account page needs them
// next month too), read with getSubscription or waitForSubscription, and
// the subscriber cancels with cancelSubscription or, on Stripe, manages the
// card with openBillingPortal. The token never goes in a URL's query.

const STORAGE_KEY = "jampay.order";
const SUBSCRIPTION_KEY = "jampay.subscription";
const RAZORPAY_SCRIPT = "https://checkout.razorpay.com/v1/checkout.js";

/**
 * Statuses of an order the customer can still pay: a declined attempt leaves
 * the order pending (with its failureReason) and the gateway's page open for
 * another try, so polling goes on.
 */
export const OPEN = ["pending", "processing"];

/** Statuses after which polling stops: nothing more is expected soon. */
export const SETTLED = ["paid", "failed", "expired", "refunded", "partially_refunded", "disputed", "amount_mismatch"];

/** Statuses after which this order can never be paid: a new checkout is the way on. */
export const UNPAYABLE = ["failed", "expired"];

/** JampayError carries the API's error code ("unknown_sku", …) and HTTP status. */
export class JampayError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = "JampayError";
    this.code = code;
    this.status = status;
  }
}

function base(apiBase) {
  return (apiBase || "").replace(/\/+$/, "");
}

async function request(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new JampayError("network_error", "Could not reach the payment service. Check your connection and try again.", 0);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (body && body.error) || {};
    throw new JampayError(e.code || "http_" + res.status, e.message || "The payment service answered " + res.status + ".", res.status);
  }
  return body;
}

/**
 * Creates an order and sends the customer to pay.
 * @param {object} o
 * @param {string} [o.apiBase]  where jampay's API is ("" for the same origin)
 * @param {"stripe"|"razorpay"} o.gateway
 * @param {{sku:string, quantity:number}[]} o.items
 * @param {string} [o.email]
 * @param {string} [o.idempotencyKey]  defaults to a fresh random UUID; pass the same one to retry safely
 * @param {boolean} [o.redirect=true]  false: only create, return the response
 * @param {string} [o.successUrl="success.html"]  Razorpay: where to go after paying
 * @param {string} [o.cancelUrl="cancel.html"]   Razorpay: where to go if Checkout is closed
 */
export async function createCheckout(o) {
  const apiBase = base(o.apiBase);
  const key = o.idempotencyKey || newIdempotencyKey();
  const body = { gateway: o.gateway, items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity })) };
  if (o.email) body.email = o.email;
  const headers = { "Content-Type": "application/json" };
  if (key) headers["Idempotency-Key"] = key;
  const created = await request(apiBase + "/api/checkout", { method: "POST", headers, body: JSON.stringify(body) });
  if (created.subscriptionId) {
    saveSubscription({ apiBase, subscriptionId: created.subscriptionId, statusToken: created.statusToken, gateway: created.gateway });
    if (o.redirect === false) return created;
    if (created.gateway === "razorpay") {
      await openRazorpay(created, { ...o, successUrl: o.successUrl || "account.html", cancelUrl: o.cancelUrl || "account.html" });
    } else {
      location.assign(created.checkout.url);
    }
    return created;
  }
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
    apiBase, orderId: created.orderId, statusToken: created.statusToken, gateway: created.gateway,
    checkoutUrl: created.checkout && created.checkout.url, amount: created.amount, currency: created.currency,
  }));
  if (o.redirect === false) return created;
  if (created.gateway === "razorpay") {
    await openRazorpay(created, o);
  } else {
    location.assign(created.checkout.url);
  }
  return created;
}

// newIdempotencyKey returns 128 random bits from the browser's CSPRNG, or
// undefined where there is none: a guessable key would let another page
// replay this checkout's response, status token included, so no key (and
// no double-click protection) is the safer loss.
function newIdempotencyKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  if (c && typeof c.getRandomValues === "function") {
    return Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return undefined;
}

// isLocal says whether a URL is on this machine: only there does jampay run
// the sandbox, whose stand-in for Checkout.js it may load.
function isLocal(url) {
  return ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

// razorpayScript is where Checkout.js comes from: Razorpay's own URL, always,
// unless the API is the local sandbox and names its stand-in on its own
// origin. A script the API merely names is never enough: it runs with the
// shop page's full power.
function razorpayScript(apiBase, script) {
  if (!script) return RAZORPAY_SCRIPT;
  let api, src;
  try {
    api = new URL(apiBase || "/", location.href);
    src = new URL(script, api);
  } catch {
    return RAZORPAY_SCRIPT;
  }
  return isLocal(api) && src.origin === api.origin ? src.href : RAZORPAY_SCRIPT;
}

function loadScript(src) {
  if (window.Razorpay) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new JampayError("gateway_unavailable", "Razorpay Checkout could not be loaded.", 0));
    document.head.appendChild(s);
  });
}

async function openRazorpay(created, o) {
  const c = created.checkout;
  await loadScript(razorpayScript(o.apiBase, c.script));
  const go = (url) => location.assign(url);
  // No `notes`: Checkout.js copies them onto the payment, where anyone can
  // set them, so jampay finds the order by the Razorpay order id it created.
  const options = {
    key: c.keyId,
    amount: c.amount,
    currency: c.currency,
    name: c.name,
    prefill: c.prefill || {},
    // Not proof of payment (only the webhook is): just where to wait.
    handler: () => go(o.successUrl || "success.html"),
    modal: { ondismiss: () => go(o.cancelUrl || "cancel.html") },
  };
  // An order is paid on its Razorpay order; a subscription is authenticated
  // on the Razorpay subscription jampay made for it.
  if (c.subscriptionId) {
    options.subscription_id = c.subscriptionId;
    if (c.description) options.description = c.description;
  } else {
    options.order_id = c.orderId;
  }
  // Checkout's own deadline (seconds), when jampay sets one: the order's TTL.
  if (c.timeout) options.timeout = c.timeout;
  // No "payment.failed" handler: Razorpay keeps Checkout open after a
  // failed attempt, showing the error, and the customer may retry there.
  new window.Razorpay(options).open();
}

/** The order this browser tab last checked out, or null. */
export function currentOrder() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    return null;
  }
}

/** Forgets the current order (e.g. after showing it paid). */
export function clearOrder() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Fetches an order's status with its token. */
export function getOrder({ apiBase, orderId, statusToken }) {
  return request(base(apiBase) + "/api/orders/" + encodeURIComponent(orderId), {
    headers: { Authorization: "Bearer " + statusToken },
    cache: "no-store",
  });
}

/**
 * Polls the current order (or the one given) with backoff — 1 s, growing
 * to 8 s — until it settles or timeoutMs passes, calling onUpdate with every
 * answer. Resolves with the last order seen.
 */
export async function waitForOrder({ order = currentOrder(), onUpdate = () => {}, timeoutMs = 10 * 60 * 1000, signal } = {}) {
  if (!order) throw new JampayError("no_order", "There is no order to wait for in this browser tab.", 0);
  const deadline = Date.now() + timeoutMs;
  let delay = 1000, last = null;
  for (;;) {
    try {
      last = await getOrder(order);
      onUpdate(last);
      if (SETTLED.includes(last.status)) return last;
    } catch (err) {
      if (err.status === 404) throw err; // wrong token or no such order: polling will not help
    }
    if (Date.now() + delay > deadline || (signal && signal.aborted)) return last;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 8000);
  }
}

/** Subscription statuses in which the subscriber gets what they pay for. */
export const ENTITLED = ["trialing", "active", "past_due"];

/** Subscription statuses that never change again. */
export const ENDED = ["canceled", "completed", "expired"];

/**
 * Keeps a subscription's id and token in this browser (localStorage), so
 * the account page finds it on later visits. {apiBase, subscriptionId,
 * statusToken, gateway}
 */
export function saveSubscription(sub) {
  try {
    localStorage.setItem(SUBSCRIPTION_KEY, JSON.stringify(sub));
  } catch {
    // Storage refused (private mode): the access link still works.
  }
}

/** The subscription this browser checked out or opened last, or null. */
export function currentSubscription() {
  try {
    return JSON.parse(localStorage.getItem(SUBSCRIPTION_KEY));
  } catch {
    return null;
  }
}

/** Forgets the subscription kept in this browser. */
export function clearSubscription() {
  localStorage.removeItem(SUBSCRIPTION_KEY);
}

function subscriptionURL(apiBase, id, action) {
  return base(apiBase) + "/api/subscriptions/" + encodeURIComponent(id) + (action ? "/" + action : "");
}

/** Fetches a subscription's state with its token (apiBase as in createCheckout, "" for the same origin). */
export function getSubscription(id, token, { apiBase } = {}) {
  return request(subscriptionURL(apiBase, id), {
    headers: { Authorization: "Bearer " + token },
    cache: "no-store",
  });
}

/**
 * Asks the gateway to cancel the subscription at the end of its period.
 * Resolves with {subscriptionId, cancelAtPeriodEnd}; the state read with
 * getSubscription changes once the gateway confirms.
 */
export function cancelSubscription(id, token, { apiBase } = {}) {
  return request(subscriptionURL(apiBase, id, "cancel"), {
    method: "POST",
    headers: { Authorization: "Bearer " + token },
  });
}

/**
 * Opens the gateway's billing portal (Stripe), where the subscriber
 * updates the card; it returns to the shop's account page. {redirect:
 * false} only resolves with the URL. Razorpay answers not_supported.
 */
export async function openBillingPortal(id, token, { apiBase, redirect = true } = {}) {
  const { url } = await request(subscriptionURL(apiBase, id, "portal"), {
    method: "POST",
    headers: { Authorization: "Bearer " + token },
  });
  if (redirect) location.assign(url);
  return url;
}

/**
 * Polls a subscription with backoff — 1 s, growing to 8 s — calling
 * onUpdate with every answer, until until(subscription) is true (by
 * default: it is out of pending), it has ended, or timeoutMs passes.
 * Resolves with the last state seen.
 */
export async function waitForSubscription(id, token, { apiBase, until = (s) => s.status !== "pending", onUpdate = () => {}, timeoutMs = 10 * 60 * 1000, signal } = {}) {
  const deadline = Date.now() + timeoutMs;
  let delay = 1000, last = null;
  for (;;) {
    try {
      last = await getSubscription(id, token, { apiBase });
      onUpdate(last);
      if (until(last) || ENDED.includes(last.status)) return last;
    } catch (err) {
      if (err.status === 404) throw err; // wrong token or no such subscription
    }
    if (Date.now() + delay > deadline || (signal && signal.aborted)) return last;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 8000);
  }
}

// The gateways' minor units (pkg/catalog's exponents): hundredths unless
// listed here. The API and the catalog give amounts in these units.
const EXPONENT = new Map([
  ..."bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(" ").map((c) => [c, 0]),
  ..."bhd jod kwd omr tnd".split(" ").map((c) => [c, 3]),
]);
// Currencies the gateways count in hundredths but people read in whole
// units (CLDR shows no decimals): 10000 ISK from the API is "ISK 100".
// pkg/money keeps the same list for the emails.
const WHOLE_UNITS = new Set("afn all cop huf idr isk lak lbp mmk pkr sos yer".split(" "));

/**
 * Formats an amount in the gateways' minor units (as the catalog and the API
 * give it) for display: formatMoney(4000, "usd") → "$40.00",
 * formatMoney(1500, "jpy") → "¥1,500", formatMoney(10000, "isk") → "ISK 100".
 * The digits shown are fixed here, not left to the browser's own currency
 * data, which differs between engines (Chromium's shows RSD without
 * decimals, node's with two): the page says what the receipt says.
 */
export function formatMoney(amount, currency, locale) {
  const cur = currency.toLowerCase();
  const exponent = EXPONENT.get(cur) ?? 2;
  const digits = WHOLE_UNITS.has(cur) ? 0 : exponent;
  const f = new Intl.NumberFormat(locale, {
    style: "currency", currency: cur.toUpperCase(), minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
  return f.format(amount / 10 ** exponent);
}
