// The demo shop: renders catalog.json, keeps a cart, and checks out with
// jampay.js. Everything a real shop needs from jampay is in jampay.js; this
// file is only the shop's own page logic.
import { createCheckout, formatMoney } from "./jampay.js";

// Where jampay's API is: "" when the site and the API share an origin (as
// under `jampay serve`); your API Gateway URL when deployed.
const API_BASE = document.querySelector('meta[name="jampay-api"]')?.content || "";

const state = { catalog: null, cart: new Map() }; // sku → quantity
const $ = (sel) => document.querySelector(sel);

function product(sku) {
  return state.catalog.products.find((p) => p.sku === sku);
}

function cartCurrency() {
  const first = state.cart.keys().next();
  return first.done ? null : product(first.value).currency;
}

// A product with an interval is a subscription: it is checked out on its
// own (one per checkout), never added to the cart.
const isSubscription = (p) => !!p.interval;

// The demo sells its rupee plan through Razorpay and the others through
// Stripe; a shop may offer both for one plan.
const planGateway = (p) => (p.currency === "inr" ? "razorpay" : "stripe");

function every(p) {
  const n = p.intervalCount || 1;
  return n === 1 ? "a " + p.interval : "every " + n + " " + p.interval + "s";
}

function renderPlans() {
  const plans = state.catalog.products.filter(isSubscription);
  $("#plans-section").hidden = !plans.length;
  const list = $("#plans");
  list.replaceChildren();
  for (const p of plans) {
    const li = document.createElement("li");
    li.className = "plan";
    li.dataset.sku = p.sku;
    li.innerHTML = `
      <img alt="" width="320" height="220" loading="lazy">
      <div class="body">
        <h3></h3>
        <p class="desc"></p>
        <p class="price"></p>
        <p class="muted via"></p>
        <button type="button" class="primary subscribe">Subscribe</button>
      </div>`;
    li.querySelector("img").src = p.image || "img/jar.svg";
    li.querySelector("h3").textContent = p.name;
    li.querySelector(".desc").textContent = p.description || "";
    li.querySelector(".price").textContent = formatMoney(p.unitAmount, p.currency) + " " + every(p);
    const gateway = planGateway(p);
    li.querySelector(".via").textContent = (p.trialDays ? p.trialDays + "-day free trial. " : "") +
      "Billed through " + (gateway === "razorpay" ? "Razorpay" : "Stripe") + ".";
    const button = li.querySelector(".subscribe");
    button.setAttribute("aria-label", "Subscribe to " + p.name);
    button.addEventListener("click", () => subscribe(p, gateway, button));
    list.appendChild(li);
  }
}

async function subscribe(p, gateway, button) {
  $("#plans-error").textContent = "";
  button.disabled = true;
  button.textContent = "Starting checkout…";
  try {
    await createCheckout({
      apiBase: API_BASE, gateway, items: [{ sku: p.sku, quantity: 1 }],
      email: $("#email").value.trim() || undefined,
    });
  } catch (err) {
    $("#plans-error").textContent = err.message;
    button.disabled = false;
    button.textContent = "Subscribe";
  }
}

function renderProducts() {
  const list = $("#products");
  list.replaceChildren();
  for (const p of state.catalog.products.filter((p) => !isSubscription(p))) {
    const li = document.createElement("li");
    li.className = "card";
    li.dataset.sku = p.sku;
    const qtyId = "qty-" + p.sku;
    li.innerHTML = `
      <img alt="" width="320" height="220" loading="lazy">
      <div class="body">
        <h3></h3>
        <p class="desc"></p>
        <p class="price"></p>
        <div class="row">
          <label for="${qtyId}">Quantity</label>
          <input id="${qtyId}" type="number" min="1" max="99" value="1" inputmode="numeric">
          <button type="button" class="add">Add to cart</button>
        </div>
      </div>`;
    li.querySelector("img").src = p.image || "img/jar.svg";
    li.querySelector("h3").textContent = p.name;
    li.querySelector(".desc").textContent = p.description || "";
    li.querySelector(".price").textContent = formatMoney(p.unitAmount, p.currency);
    li.querySelector(".add").setAttribute("aria-label", "Add " + p.name + " to cart");
    li.querySelector(".add").addEventListener("click", () => {
      const q = Math.max(1, Math.min(99, parseInt(li.querySelector("input").value, 10) || 1));
      const cur = cartCurrency();
      if (cur && cur !== p.currency) {
        $("#cart-note").textContent = `Your cart is in ${cur.toUpperCase()}. Buy or empty it before adding items priced in ${p.currency.toUpperCase()}.`;
        return;
      }
      $("#cart-note").textContent = `Added ${q} × ${p.name}.`;
      state.cart.set(p.sku, (state.cart.get(p.sku) || 0) + q);
      renderCart();
    });
    list.appendChild(li);
  }
  list.removeAttribute("aria-busy");
}

function renderCart() {
  const lines = $("#cart-lines");
  lines.replaceChildren();
  let total = 0;
  const cur = cartCurrency();
  for (const [sku, qty] of state.cart) {
    const p = product(sku);
    total += p.unitAmount * qty;
    const li = document.createElement("li");
    li.innerHTML = `<span class="name"></span><span class="amt"></span><button type="button" class="remove">Remove</button>`;
    li.querySelector(".name").textContent = `${p.name} × ${qty}`;
    li.querySelector(".amt").textContent = formatMoney(p.unitAmount * qty, p.currency);
    li.querySelector(".remove").setAttribute("aria-label", "Remove " + p.name);
    li.querySelector(".remove").addEventListener("click", () => {
      state.cart.delete(sku);
      renderCart();
      $("#cart-note").textContent = `Removed ${p.name}.`;
    });
    lines.appendChild(li);
  }
  if (!state.cart.size) lines.innerHTML = '<li class="empty">Nothing here yet.</li>';
  $("#cart-total").textContent = cur ? formatMoney(total, cur) : "—";
  $("#buy-button").disabled = !state.cart.size;
}

async function buy(event) {
  event.preventDefault();
  const button = $("#buy-button");
  const error = $("#buy-error");
  error.textContent = "";
  button.disabled = true;
  button.textContent = "Starting checkout…";
  try {
    await createCheckout({
      apiBase: API_BASE,
      gateway: new FormData($("#buy")).get("gateway"),
      items: [...state.cart].map(([sku, quantity]) => ({ sku, quantity })),
      email: $("#email").value.trim() || undefined,
    });
  } catch (err) {
    error.textContent = err.message;
    button.disabled = false;
    button.textContent = "Buy";
  }
}

async function main() {
  try {
    const res = await fetch("catalog.json", { cache: "no-cache" });
    state.catalog = await res.json();
  } catch {
    $("#cart-note").textContent = "The catalog could not be loaded.";
    return;
  }
  document.title = state.catalog.shopName + " — shop";
  $("#shop-name").textContent = state.catalog.shopName;
  renderProducts();
  renderPlans();
  renderCart();
  $("#buy").addEventListener("submit", buy);
}

main();
