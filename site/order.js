// The success and cancel pages: poll the order the customer just checked
// out (its id and token are in sessionStorage) and say clearly where it
// stands. Only the status jampay reports counts: arriving on this page is
// never proof of payment.
import { currentOrder, waitForOrder, formatMoney } from "./jampay.js";

const $ = (s) => document.querySelector(s);
const cancelPage = document.querySelector("main[data-page=cancel]") !== null;

const words = {
  pending: ["Waiting for confirmation…", "The payment provider has not confirmed yet. This page updates by itself."],
  processing: ["Payment processing", "Your bank is processing the payment. This can take a while for some payment methods; you can close this page."],
  paid: ["Thank you — paid", "Your payment is confirmed."],
  failed: ["Payment failed", "The payment did not go through."],
  expired: ["Checkout expired", "This checkout expired before it was paid. Nothing was charged."],
  refunded: ["Refunded", "This order was refunded."],
  partially_refunded: ["Partly refunded", "Part of this order was refunded."],
  disputed: ["Payment disputed", "This payment is disputed with the card issuer."],
  amount_mismatch: ["We need to check this payment", "The amount paid does not match the order. The shop has been alerted and will contact you."],
};

function render(order, saved) {
  const [title, message] = words[order.status] || ["Order " + order.status, ""];
  $("#status").dataset.status = order.status;
  if (!(cancelPage && order.status === "pending")) {
    $("#title").textContent = title;
    $("#message").textContent = message;
  }
  if (order.status === "failed" && order.failureReason) {
    const reason = document.createElement("strong");
    reason.id = "reason";
    reason.textContent = " " + order.failureReason;
    $("#message").append(reason);
  }
  const retry = $("#retry");
  const canRetry = (order.status === "failed" || (cancelPage && order.status === "pending")) && saved.checkoutUrl;
  retry.hidden = !canRetry;
  if (canRetry) retry.href = saved.checkoutUrl;
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

async function main() {
  const saved = currentOrder();
  if (!saved) {
    $("#status").dataset.status = "none";
    $("#title").textContent = cancelPage ? "Checkout cancelled" : "No order in this tab";
    $("#message").textContent = "Start from the shop to place an order.";
    return;
  }
  try {
    await waitForOrder({ order: saved, onUpdate: (o) => render(o, saved), timeoutMs: cancelPage ? 60000 : 600000 });
  } catch (err) {
    $("#status").dataset.status = "error";
    $("#message").textContent = err.message;
  }
}

main();
