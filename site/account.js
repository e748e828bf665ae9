// The account page: where a subscriber sees their subscription and cancels
// it or manages the card. Its id and token come from this browser's
// localStorage (kept at checkout) or from an access link's fragment
// (#subscription=…&token=…), which is read once and taken off the address
// bar. The token is sent only in the Authorization header, never in a URL's
// query and never logged.
import {
  currentSubscription, saveSubscription, waitForSubscription, cancelSubscription, openBillingPortal,
  formatMoney, ENDED,
} from "./jampay.js";

const API_BASE = document.querySelector('meta[name="jampay-api"]')?.content || "";
const $ = (s) => document.querySelector(s);

const words = {
  pending: ["Waiting for confirmation…", "The payment provider has not confirmed your subscription yet. This page updates by itself."],
  trialing: ["Your free trial is on", "You have full access. Your first payment is taken when the trial ends."],
  active: ["Your subscription is active", "Thank you for subscribing."],
  past_due: ["Your last payment failed", "You still have access while the payment provider tries again. Update your card to keep it."],
  halted: ["Your subscription is on hold", "Payments failed and the payment provider has stopped trying. Update your card, or subscribe again."],
  paused: ["Your subscription is paused", "Nothing is charged while it is paused."],
  canceled: ["Your subscription has ended", "It was canceled. Nothing more will be charged."],
  completed: ["Your subscription is complete", "Every billing cycle has been paid. Nothing more will be charged."],
  expired: ["Checkout not completed", "The checkout expired before you subscribed. Nothing was charged."],
};

function when(iso) {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
}

function every(s) {
  return s.intervalCount > 1 ? "every " + s.intervalCount + " " + s.interval + "s" : "a " + s.interval;
}

// fromFragment takes an access link's id and token and removes them from
// the address bar (and so from the history and any bookmark).
function fromFragment() {
  const h = new URLSearchParams(location.hash.slice(1));
  const id = h.get("subscription"), token = h.get("token");
  if (!location.hash) return null;
  history.replaceState(null, "", location.pathname + location.search);
  if (!id || !token) return null;
  const sub = { apiBase: API_BASE, subscriptionId: id, statusToken: token };
  saveSubscription(sub);
  return sub;
}

function render(s) {
  const status = $("#status");
  status.dataset.status = s.status;
  const [title, message] = words[s.status] || ["Subscription " + s.status, ""];
  $("#title").textContent = title;
  $("#message").textContent = s.cancelAtPeriodEnd && !ENDED.includes(s.status) && s.currentPeriodEnd
    ? "You canceled: your subscription ends on " + when(s.currentPeriodEnd) + ", and nothing more is charged."
    : message;
  $("#facts").hidden = false;
  $("#plan").textContent = s.name + " — " + formatMoney(s.amount, s.currency) + " " + every(s);
  $("#state").textContent = s.status.replace("_", " ");
  $("#entitled").textContent = s.entitled ? "You have access" : "No access";
  $("#entitled").dataset.entitled = String(s.entitled);
  const ending = s.cancelAtPeriodEnd || ENDED.includes(s.status);
  $("#period-label").textContent = ending ? (ENDED.includes(s.status) ? "Ended" : "Ends on") : "Next renewal";
  $("#period").textContent = s.currentPeriodEnd ? when(s.currentPeriodEnd) : "—";
  const trial = s.status === "trialing" && !!s.trialEnd;
  $("#trial-label").hidden = $("#trial").hidden = !trial;
  if (trial) $("#trial").textContent = when(s.trialEnd);
  const reason = !!s.failureReason && (s.status === "past_due" || s.status === "halted");
  $("#reason-label").hidden = $("#reason").hidden = !reason;
  if (reason) $("#reason").textContent = s.failureReason;
  const live = !ENDED.includes(s.status) && s.status !== "pending";
  $("#cancel").hidden = !live || s.cancelAtPeriodEnd;
  $("#portal").hidden = !live || s.gateway !== "stripe";
  $("#sub-ref").textContent = "Subscription " + s.subscriptionId;
}

// watch polls the subscription for as long as the page is open: a renewal,
// a failed payment or the end of the period shows without a reload.
let watching = null;
function watch(sub, until) {
  watching?.abort();
  watching = new AbortController();
  const signal = watching.signal;
  return waitForSubscription(sub.subscriptionId, sub.statusToken, {
    apiBase: sub.apiBase, signal, timeoutMs: 30 * 60 * 1000,
    until: until || (() => false),
    onUpdate: (s) => { if (!signal.aborted) render(s); },
  });
}

function noSubscription(message) {
  $("#status").dataset.status = "none";
  $("#title").textContent = "No subscription here";
  $("#message").textContent = message;
}

async function lostLink(event) {
  event.preventDefault();
  const email = $("#lost-email").value.trim();
  const said = $("#lost-said");
  if (!email) {
    said.textContent = "Enter the email address you subscribed with.";
    return;
  }
  const button = $("#lost button");
  button.disabled = true;
  try {
    const res = await fetch(API_BASE + "/api/access-links", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email }),
    });
    said.textContent = res.ok || res.status === 202
      ? "If a subscription uses that address, we sent a link."
      : "We could not send a link just now (" + res.status + "). Try again later.";
  } catch {
    said.textContent = "Could not reach the shop. Check your connection and try again.";
  } finally {
    button.disabled = false;
  }
}

async function main() {
  $("#lost").addEventListener("submit", lostLink);
  const sub = fromFragment() || currentSubscription();
  const asked = new URLSearchParams(location.search).get("subscription");
  if (!sub) {
    noSubscription("This browser has no subscription to show. Use the link we emailed you, or ask for a new one below.");
    return;
  }
  if (asked && asked !== sub.subscriptionId) {
    noSubscription("This browser keeps another subscription. Use the link we emailed you for this one, or ask for a new one below.");
    return;
  }
  $("#cancel").addEventListener("click", async () => {
    if (!confirm("Cancel your subscription? You keep access until the end of the period you paid for.")) return;
    $("#action-error").textContent = "";
    $("#cancel").disabled = true;
    try {
      await cancelSubscription(sub.subscriptionId, sub.statusToken, { apiBase: sub.apiBase });
      // The gateway confirms by its own word: watch for it.
      watch(sub);
    } catch (err) {
      $("#action-error").textContent = err.message;
    } finally {
      $("#cancel").disabled = false;
    }
  });
  $("#portal").addEventListener("click", async () => {
    $("#action-error").textContent = "";
    try {
      await openBillingPortal(sub.subscriptionId, sub.statusToken, { apiBase: sub.apiBase });
    } catch (err) {
      $("#action-error").textContent = err.message;
    }
  });
  try {
    await watch(sub);
  } catch (err) {
    $("#status").dataset.status = err.status === 404 ? "none" : "error";
    $("#message").textContent = err.status === 404
      ? "This link or browser no longer opens the subscription. Ask for a new link below."
      : err.message;
  }
}

main();
