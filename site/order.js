// The success and cancel pages: poll the order the customer just checked
// out (its id and token are in sessionStorage) and say clearly where it
// stands. Only the status jampay reports counts: arriving on this page is
// never proof of payment.
import { currentOrder, waitForOrder, createCheckout, formatMoney, OPEN, UNPAYABLE } from "./jampay.js";

const $ = (s) => document.querySelector(s);
const cancelPage = document.querySelector("main[data-page=cancel]") !== null;

const words = {
  pending: ["Waiting for confirmation…", "The payment provider has not confirmed yet. This page updates by itself."],
  processing: ["Payment processing", "Your bank is processing the payment. This can take a while for some payment methods; you can close this page."],
  paid: ["Thank you — paid", "Your payment is confirmed."],
  failed: ["Payment failed", "The payment did not go through, and this order can no longer be paid."],
  expired: ["Checkout expired", "This checkout expired before it was paid. Nothing was charged."],
  refunded: ["Refunded", "This order was refunded."],
  partially_refunded: ["Partly refunded", "Part of this order was refunded."],
  disputed: ["Payment disputed", "This payment is disputed with the card issuer."],
  amount_mismatch: ["We need to check this payment", "The amount paid does not match the order. The shop has been alerted and will contact you."],
};

// A pending order with a failureReason: an attempt was declined, and the
// gateway's page still takes another (or the customer has just paid and the
// gateway's word is on its way). Not a failure: the page keeps polling.
const declined = ["Last attempt declined", "You can still pay this order on the payment page, with the same card or another. If you have just paid, this page updates by itself."];

function render(order, saved) {
  const open = OPEN.includes(order.status);
  const declinedAttempt = order.status === "pending" && !!order.failureReason;
  const [title, message] = declinedAttempt ? declined : words[order.status] || ["Order " + order.status, ""];
  const status = $("#status");
  status.dataset.status = order.status;
  status.toggleAttribute("data-declined", declinedAttempt);
  if (!(cancelPage && order.status === "pending")) {
    $("#title").textContent = title;
    $("#message").textContent = message;
  }
  $("#reason")?.remove();
  if (order.failureReason && (open || UNPAYABLE.includes(order.status))) {
    const reason = document.createElement("strong");
    reason.id = "reason";
    reason.textContent = order.failureReason + " ";
    $("#message").prepend(reason);
  }
  // Back to the same checkout while it can still be paid there (Stripe's
  // page has a URL; Razorpay's Checkout lives on the shop's page).
  const resume = $("#resume");
  const canResume = open && (cancelPage || declinedAttempt) && !!saved.checkoutUrl;
  resume.hidden = !canResume;
  if (canResume) resume.href = saved.checkoutUrl;
  // A new checkout only once this order can never be paid.
  $("#retry").hidden = !UNPAYABLE.includes(order.status);
  const body = $("#lines tbody");
  body.replaceChildren();
  for (const it of order.items) {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td><td class='n'></td>";
    tr.children[0].textContent = it.name;
    tr.children[1].textContent = it.quantity;
    tr.children[2].textContent = formatMoney(it.unitAmount * it.quantity, order.currency);
    body.appendChild(tr);
  }
  $("#total").textContent = formatMoney(order.amount, order.currency);
  $("#lines").hidden = false;
  $("#order-ref").textContent = "Order " + order.orderId;
}

// retry places the same cart again as a new order: the old one is over.
async function retry(saved, last) {
  const button = $("#retry");
  button.disabled = true;
  try {
    await createCheckout({
      apiBase: saved.apiBase, gateway: saved.gateway,
      items: last.items.map((it) => ({ sku: it.sku, quantity: it.quantity })),
    });
  } catch (err) {
    $("#message").textContent = err.message;
    button.disabled = false;
  }
}

async function main() {
  const saved = currentOrder();
  if (!saved) {
    $("#status").dataset.status = "none";
    $("#title").textContent = cancelPage ? "Checkout cancelled" : "No order in this tab";
    $("#message").textContent = "Start from the shop to place an order.";
    return;
  }
  let last = null;
  $("#retry").addEventListener("click", () => last && retry(saved, last));
  try {
    await waitForOrder({ order: saved, onUpdate: (o) => { last = o; render(o, saved); }, timeoutMs: cancelPage ? 60000 : 600000 });
  } catch (err) {
    $("#status").dataset.status = "error";
    $("#message").textContent = err.message;
  }
}

main();
