// Browser tests: a real Chromium (Debian's, driven by playwright-core) buys
// from the demo shop served by `jampay serve`, pays, declines and abandons
// on each gateway's sandbox, and checks what the customer sees. Screenshots
// of every final page go to artifacts/browser/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const root = path.resolve(import.meta.dirname, "..", "..");
const shots = path.join(root, "artifacts", "browser");
let server, base, browser;

function jampayBinary() {
  if (process.env.JAMPAY_BIN) return process.env.JAMPAY_BIN;
  const bin = path.join(root, ".tools", "bin", "jampay");
  execFileSync("go", ["build", "-o", bin, "./cmd/jampay"], { cwd: root, stdio: "inherit" });
  return bin;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = spawn(jampayBinary(), ["serve", "-addr", "127.0.0.1:0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  base = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("jampay serve did not start: " + out)), 20000);
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/jampay serving (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on("exit", (code) => reject(new Error("jampay serve exited " + code + ": " + out)));
  });
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  assert.ok(existsSync(executablePath), "Chromium not found at " + executablePath + " (apt-get install chromium)");
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

async function newPage(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  const page = await context.newPage();
  page.on("pageerror", (err) => { throw err; });
  return page;
}

// buy adds a product to the cart, picks the gateway and presses Buy.
async function buy(page, gateway, sku) {
  await page.goto(base + "/");
  const card = page.locator(`li.card[data-sku="${sku}"]`);
  await card.getByLabel("Quantity").fill("2");
  await card.getByRole("button", { name: /Add .* to cart/ }).click();
  await page.getByRole("radio", { name: gateway === "stripe" ? "Stripe" : "Razorpay" }).check();
  await page.getByLabel(/Email for the receipt/).fill("customer@example.com");
  await page.getByRole("button", { name: "Buy" }).click();
}

async function settle(page, status) {
  await page.locator(`#status[data-status="${status}"]`).waitFor({ timeout: 20000 });
}

test("the shop renders the catalog with prices in their currencies", async () => {
  const page = await newPage();
  await page.goto(base + "/");
  await page.locator("li.card").first().waitFor();
  assert.equal(await page.locator("li.card").count(), 6);
  assert.match(await page.locator('li.card[data-sku="tee-m"] .price').textContent(), /^\$20\.00$/);
  assert.match(await page.locator('li.card[data-sku="sticker-in"] .price').textContent(), /₹199\.00/);
  await page.locator('li.card[data-sku="tee-m"]').getByRole("button", { name: /Add/ }).click();
  await page.locator('li.card[data-sku="mug"]').getByRole("button", { name: /Add/ }).click();
  assert.equal(await page.locator("#cart-total").textContent(), "$32.50");
  await page.screenshot({ path: path.join(shots, "shop.png"), fullPage: true });
  const mobile = await newPage({ width: 390, height: 844 });
  await mobile.goto(base + "/");
  await mobile.locator("li.card").first().waitFor();
  await mobile.screenshot({ path: path.join(shots, "shop-mobile.png") });
});

// The customer's emails format money with Go's pkg/money; the pages with
// formatMoney from site/jampay.js. A small Go program (internal/moneytable)
// prints pkg/money's text for amounts across every rounding edge in every
// currency pkg/catalog knows (zero-decimal JPY, three-decimal KWD, ISK and
// the others Intl shows in whole units) and every one site/catalog.json
// sells; the shop page's own module formats the same in Chromium.
// `go run` rather than an endpoint on `jampay serve`: one process gives the
// whole table, and the dev server grows no surface only a test uses.
test("the page's formatMoney writes every amount as the emails do (pkg/money)", async () => {
  const table = JSON.parse(execFileSync("go", ["run", "./internal/moneytable", "site/catalog.json"], { cwd: root, encoding: "utf8" }));
  assert.ok(table.length > 100 * 29, "a table of " + table.length + " amounts");
  for (const code of ["jpy", "kwd", "isk", "huf", "usd", "inr"]) {
    assert.ok(table.some((r) => r.currency === code), code + " is in the table");
  }
  const page = await newPage();
  await page.goto(base + "/");
  await page.locator("li.card").first().waitFor();
  // The shop page's locale and call, as app.js and order.js make it.
  const shown = await page.evaluate(async (rows) => {
    const { formatMoney } = await import("/jampay.js");
    return rows.map((r) => formatMoney(r.amount, r.currency));
  }, table);
  const differ = table.flatMap((r, i) => shown[i] === r.text ? [] : [`${r.amount} ${r.currency}: Go ${JSON.stringify(r.text)}, page ${JSON.stringify(shown[i])}`]);
  assert.deepEqual(differ, [], differ.length + " of " + table.length + " amounts differ");
});

test("a cart in one currency refuses a product in another", async () => {
  const page = await newPage();
  await page.goto(base + "/");
  await page.locator('li.card[data-sku="tee-m"]').getByRole("button", { name: /Add/ }).click();
  await page.locator('li.card[data-sku="tote-in"]').getByRole("button", { name: /Add/ }).click();
  assert.match(await page.locator("#cart-note").textContent(), /cart is in USD/);
  assert.equal(await page.locator("#cart-lines li").count(), 1);
});

const cases = [
  { gateway: "stripe", sku: "tee-m", total: "$40.00", declined: /Your card was declined\./ },
  { gateway: "razorpay", sku: "sticker-in", total: "₹398.00", declined: /Your payment has been declined by your bank\./ },
];

// watch records what the customer's pages learn and show: every order the
// page polled, and every state of the page's main text and status (kept by
// a MutationObserver in each document the context loads).
async function watch(page) {
  const polled = [];
  page.on("response", (r) => {
    if (r.request().method() === "GET" && /\/api\/orders\//.test(r.url())) polled.push(r.json().catch(() => null));
  });
  await page.context().addInitScript(() => {
    window.__shown = [];
    const note = () => {
      const main = document.querySelector("main");
      if (main) window.__shown.push((document.querySelector("#status")?.dataset.status || "") + " | " + main.innerText);
    };
    new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  return {
    polled: async () => (await Promise.all(polled)).filter(Boolean),
    shown: () => page.evaluate(() => window.__shown || []),
  };
}

// status asks jampay, as the page would, for the order this tab checked out.
function status(page) {
  return page.evaluate(async () => {
    const o = JSON.parse(sessionStorage.getItem("jampay.order"));
    const r = await fetch("/api/orders/" + o.orderId, { headers: { Authorization: "Bearer " + o.statusToken } });
    return r.json();
  });
}

// assertNeverFailed checks that no poll answer and no state of the page
// ever said the order failed.
async function assertNeverFailed(seen, extra = []) {
  const polled = [...(await seen.polled()), ...extra];
  assert.ok(polled.length > 0, "the page polled");
  for (const o of polled) assert.notEqual(o.status, "failed", "a poll answered failed: " + JSON.stringify(o));
  for (const text of await seen.shown()) assert.doesNotMatch(text, /fail/i, "the page showed: " + text);
}

for (const { gateway, sku, total, declined } of cases) {
  // The hosted page's buttons: Stripe's is a page of its own, Razorpay's a
  // modal over the shop, as Checkout.js is.
  const names = { pay: /^Pay$/, decline: /^Decline/, abandon: /^Abandon/ };
  async function choose(page, action) {
    const button = page.getByRole("button", { name: names[action] });
    if (gateway === "stripe") {
      await page.waitForURL(/\/sandbox\/stripe\//);
      // Each button posts a form: wait for the page it leads to (after a
      // decline, the same URL again) so no check reads the old one.
      await Promise.all([page.waitForNavigation(), button.click()]);
    } else {
      await page.getByRole("dialog").waitFor();
      await Promise.all([page.waitForResponse((r) => r.url().includes("/sandbox/razorpay/")), button.click()]);
    }
  }

  // declineAndStay declines on the hosted page and checks the customer is
  // still there, shown the error, with Pay and Abandon to choose from.
  async function declineAndStay(page) {
    await choose(page, "decline");
    if (gateway === "stripe") {
      await page.getByRole("alert").filter({ hasText: declined }).waitFor();
      assert.match(page.url(), /\/sandbox\/stripe\/cs_sandbox_[0-9a-f]+$/, "still on Stripe's page");
    } else {
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("alert").filter({ hasText: declined }).waitFor();
      // The buttons come back once Checkout has the attempt's answer.
      await dialog.locator("button:not([disabled])").first().waitFor();
      assert.ok(await dialog.isVisible(), "Razorpay's Checkout is still open");
      assert.match(page.url(), /\/$/, "still on the shop");
    }
    for (const action of ["pay", "abandon"]) {
      assert.ok(await page.getByRole("button", { name: names[action] }).isEnabled(), action + " is offered");
    }
  }

  test(`${gateway}: pay → the success page says paid`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    await choose(page, "pay");
    await page.waitForURL(/success\.html/);
    await settle(page, "paid");
    assert.equal(await page.locator("h1").textContent(), "Thank you — paid");
    assert.equal(await page.locator("#total").textContent(), total);
    assert.equal(new URL(page.url()).search, "", "no order id or token in the URL");
    assert.ok(!(await page.locator("#retry").isVisible()) && !(await page.locator("#resume").isVisible()), "a paid order offers no retry");
    await page.screenshot({ path: path.join(shots, `${gateway}-paid.png`), fullPage: true });
  });

  test(`${gateway}: a decline keeps the customer on the payment page with the error`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    await declineAndStay(page);
    await page.screenshot({ path: path.join(shots, `${gateway}-declined.png`), fullPage: true });
    const o = await status(page);
    assert.equal(o.status, "pending", "a decline leaves the order open");
    assert.match(o.failureReason, declined);
    // And declining again is one more attempt, not the end either.
    await declineAndStay(page);
    await choose(page, "abandon");
    await page.waitForURL(/cancel\.html/);
    await settle(page, "expired");
  });

  test(`${gateway}: declined then paid ends paid, and the success page never shows failed`, async () => {
    const page = await newPage();
    const seen = await watch(page);
    await buy(page, gateway, sku);
    await declineAndStay(page);
    const between = await status(page);
    await choose(page, "pay");
    await page.waitForURL(/success\.html/);
    await settle(page, "paid");
    assert.equal(await page.locator("h1").textContent(), "Thank you — paid");
    assert.equal((await status(page)).status, "paid");
    await assertNeverFailed(seen, [between]);
  });

  test(`${gateway}: the success page waits through a declined attempt until the payment lands`, async () => {
    const page = await newPage();
    const seen = await watch(page);
    await buy(page, gateway, sku);
    await declineAndStay(page);
    // Which checkout the sandbox opened for this order (as `jampay trigger` asks).
    const { orderId, checkoutUrl } = await page.evaluate(() => JSON.parse(sessionStorage.getItem("jampay.order")));
    const refs = await (await fetch(base + "/sandbox/orders/" + orderId)).json();
    // The customer reaches the success page while the order is open with a
    // declined attempt (as after paying with another card, before the
    // gateway's webhook): it must say so and keep polling.
    await page.goto(base + "/success.html");
    await page.locator("#status[data-declined]").waitFor({ timeout: 20000 });
    assert.equal(await page.locator("h1").textContent(), "Last attempt declined");
    assert.match(await page.locator("#reason").textContent(), declined);
    assert.ok(!(await page.locator("#retry").isVisible()), "no Try again while the order can be paid");
    if (gateway === "stripe") {
      assert.equal(await page.getByRole("link", { name: "Return to the payment page" }).getAttribute("href"), checkoutUrl);
    }
    await page.screenshot({ path: path.join(shots, `${gateway}-declined-success.png`), fullPage: true });
    // The payment lands while the page is polling.
    const pay = base + "/sandbox/" + gateway + "/" + refs.session + "/pay";
    const res = await fetch(pay, { method: "POST", redirect: "manual" });
    assert.ok(res.status === 303 || res.status === 200, "sandbox pay: " + res.status);
    await settle(page, "paid");
    assert.equal(await page.locator("h1").textContent(), "Thank you — paid");
    await assertNeverFailed(seen);
  });

  test(`${gateway}: abandon → the order is expired, and Try again starts a new checkout`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    await choose(page, "abandon");
    await page.waitForURL(/cancel\.html/);
    await settle(page, "expired");
    assert.equal(await page.locator("h1").textContent(), "Checkout expired");
    await page.screenshot({ path: path.join(shots, `${gateway}-expired.png`), fullPage: true });
    const first = (await status(page)).orderId;
    await page.getByRole("button", { name: "Try again" }).click();
    await choose(page, "pay");
    await page.waitForURL(/success\.html/);
    await settle(page, "paid");
    const second = await status(page);
    assert.notEqual(second.orderId, first, "a new order");
    assert.equal(await page.locator("#total").textContent(), total);
  });
}

test("stripe: a paid session takes no more attempts", async () => {
  const page = await newPage();
  await buy(page, "stripe", "mug");
  await page.waitForURL(/\/sandbox\/stripe\//);
  const session = page.url();
  await page.getByRole("button", { name: /^Pay$/ }).click();
  await settle(page, "paid");
  await page.goto(session);
  await page.getByText("This checkout is complete").waitFor();
  assert.equal(await page.getByRole("button", { name: /^(Pay|Decline)/ }).count(), 0);
});

// Checkout.js runs with the shop page's full power, so jampay.js loads it
// only from Razorpay, whatever the API names, unless the API is the local
// sandbox naming its own stand-in; and it passes Checkout no notes (they
// land on the payment, where anyone can set them).
test("razorpay: Checkout.js comes only from Razorpay unless the API is local, and gets no notes", async () => {
  const official = "https://checkout.razorpay.com/v1/checkout.js";
  const stub = `window.Razorpay = function (o) { window.__rzp = { keys: Object.keys(o), notes: o.notes, order: o.order_id }; this.on = function () {}; this.open = function () {}; };`;
  async function shop(origin, rewriteScript) {
    const page = await newPage();
    const scripts = [];
    page.on("request", (r) => { if (r.resourceType() === "script") scripts.push(r.url()); });
    await page.route(official, (route) => route.fulfill({ contentType: "text/javascript", body: stub }));
    if (origin !== base) {
      // The shop and its API on a public origin, served by this jampay.
      await page.route(origin + "/**", async (route) => {
        const u = new URL(route.request().url());
        route.fulfill({ response: await route.fetch({ url: base + u.pathname + u.search }) });
      });
    }
    if (rewriteScript) {
      await page.route("**/api/checkout", async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        json.checkout.script = rewriteScript;
        route.fulfill({ response, json });
      });
    }
    await page.goto(origin + "/");
    await page.locator("li.card").first().waitFor();
    await page.locator('li.card[data-sku="sticker-in"]').getByRole("button", { name: /Add/ }).click();
    await page.getByRole("radio", { name: "Razorpay" }).check();
    await page.getByRole("button", { name: "Buy" }).click();
    await page.waitForFunction(() => window.__rzp);
    return { rzp: await page.evaluate(() => window.__rzp), scripts };
  }
  // A public API naming the sandbox's script: Razorpay's is loaded.
  let { rzp, scripts } = await shop("https://shop.example");
  assert.ok(scripts.includes(official), "loaded " + scripts);
  assert.ok(!scripts.some((s) => s.includes("/sandbox/")), "loaded " + scripts);
  assert.match(rzp.order, /^order_/);
  assert.ok(!rzp.keys.includes("notes") && rzp.notes === undefined, "options: " + rzp.keys);
  // The local API naming a script on another origin: still Razorpay's.
  ({ scripts } = await shop(base, "https://evil.example/checkout.js"));
  assert.ok(scripts.includes(official), "loaded " + scripts);
  assert.ok(!scripts.some((s) => s.includes("evil.example")), "loaded " + scripts);
});

// A guessable Idempotency-Key would let another page replay the checkout's
// answer, status token included: no CSPRNG, no key.
test("checkout's Idempotency-Key is random or absent, never from Math.random", async () => {
  async function keyWith(init) {
    const page = await newPage();
    await page.addInitScript(init);
    const request = page.waitForRequest((r) => r.url().endsWith("/api/checkout"));
    await buy(page, "stripe", "mug");
    return (await request).headers()["idempotency-key"];
  }
  assert.match(await keyWith(() => {}), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(await keyWith(() => { delete Crypto.prototype.randomUUID; }), /^[0-9a-f]{32}$/);
  assert.equal(await keyWith(() => {
    delete Crypto.prototype.randomUUID;
    delete Crypto.prototype.getRandomValues;
  }), undefined);
});

// The owner's dashboard at /_jampay/ (jampay serve only): what the webhooks
// miss, reconcile recovers, and a refund moves the order once the gateway's
// webhook confirms it. These run last: one advances jampay serve's clock.

// orderOf is the order this tab checked out.
function orderOf(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("jampay.order")).orderId);
}

// submit presses a dashboard button and waits for the page its form leads to.
async function submit(page, name) {
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name }).click()]);
}

async function dashboard() {
  const page = await newPage();
  await page.goto(base + "/_jampay/");
  return page;
}

const row = (page, id) => page.locator(`tr[data-order="${id}"]`);
const history = (page) => page.locator("section[aria-labelledby=history-title] tbody tr");

for (const { gateway, sku, total } of cases) {
  test(`${gateway}: pay, but lose the webhook → pending until "Reconcile now" on /_jampay/ → paid`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    const lose = page.getByRole("button", { name: "Pay, but lose the webhook" });
    if (gateway === "stripe") {
      await page.waitForURL(/\/sandbox\/stripe\//);
      await page.screenshot({ path: path.join(shots, "sandbox-stripe.png"), fullPage: true });
      await Promise.all([page.waitForNavigation(), lose.click()]);
    } else {
      await page.getByRole("dialog").waitFor();
      await page.screenshot({ path: path.join(shots, "sandbox-razorpay.png") });
      await lose.click();
    }
    // The customer paid and is told to wait: jampay heard nothing.
    await page.waitForURL(/success\.html/);
    await settle(page, "pending");
    assert.equal(await page.locator("#total").textContent(), total);
    await page.screenshot({ path: path.join(shots, `${gateway}-lost-webhook-pending.png`), fullPage: true });
    const id = await orderOf(page);

    const owner = await dashboard();
    assert.equal(await row(owner, id).locator(".status").textContent(), "pending");
    assert.equal(await row(owner, id).locator(".money").textContent(), total, "amounts as the shop writes them");
    assert.equal(await row(owner, id).locator("td").nth(4).textContent(), gateway === "stripe" ? "Stripe" : "Razorpay");
    await submit(owner, "Reconcile now");
    const report = await owner.locator("[data-report]").innerText();
    assert.match(report, /found [1-9]\d* events? the webhooks missed/, report);
    assert.equal(await row(owner, id).locator(".status").textContent(), "paid");

    // The success page, still polling, hears it from jampay.
    await settle(page, "paid");
    assert.equal(await page.locator("h1").textContent(), "Thank you — paid");

    // The order's history says who moved it, and how.
    await Promise.all([owner.waitForNavigation(), row(owner, id).getByRole("link").click()]);
    const newest = await history(owner).first().innerText();
    assert.match(newest, /reconcile\s+local\s+\w+\s*→\s*paid/, newest);
    if (gateway === "stripe") await owner.screenshot({ path: path.join(shots, "dashboard-order-reconciled.png"), fullPage: true });
  });
}

test("razorpay: an order abandoned in Checkout is expired by reconcile 15 minutes after its deadline, not before", async () => {
  const page = await newPage();
  await buy(page, "razorpay", "sticker-in");
  await page.getByRole("dialog").waitFor();
  const id = await orderOf(page);
  await page.close(); // the customer walks away: Razorpay tells nobody

  const owner = await dashboard();
  const statusAfter = async (minutes) => {
    if (minutes) {
      await owner.getByLabel("Minutes").fill(String(minutes));
      await submit(owner, "Advance the clock");
    }
    await submit(owner, "Reconcile now");
    return row(owner, id).locator(".status").textContent();
  };
  assert.equal(await statusAfter(0), "pending", "before its deadline");
  assert.equal(await statusAfter(60), "pending", "at its deadline (CHECKOUT_TTL, 60 minutes)");
  assert.equal(await statusAfter(14), "pending", "14 minutes after its deadline");
  assert.equal(await statusAfter(2), "expired", "16 minutes after its deadline");
  assert.match(await owner.locator("header").innerText(), /1h16m ahead of real time/);
  await Promise.all([owner.waitForNavigation(), row(owner, id).getByRole("link").click()]);
  assert.match(await history(owner).first().innerText(), /jampay\.checkout_expired[\s\S]*reconcile\s+local\s+pending\s*→\s*expired/);
});

test("stripe: a refund from /_jampay/ moves the order once the sandbox's webhook confirms it", async () => {
  const page = await newPage();
  await buy(page, "stripe", "tee-m");
  await page.waitForURL(/\/sandbox\/stripe\//);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: /^Pay$/ }).click()]);
  await settle(page, "paid");
  const id = await orderOf(page);

  const owner = await dashboard();
  await Promise.all([owner.waitForNavigation(), row(owner, id).getByRole("link").click()]);
  await owner.getByLabel(/Amount \(USD\)/).fill("15");
  await submit(owner, "Refund");
  assert.match(await owner.getByRole("status").filter({ hasText: "Refund" }).innerText(), /of \$15\.00: the gateway's webhook confirmed it, and the order is now partially_refunded/);
  assert.equal(await owner.locator("#status").textContent(), "partially_refunded");
  // Newest first: the sandbox's charge.refunded moved it, after the owner's request.
  assert.match(await history(owner).nth(0).innerText(), /charge\.refunded[\s\S]*webhook[\s\S]*paid\s*→\s*partially_refunded/);
  assert.match(await history(owner).nth(1).innerText(), /jampay\.refund_requested[\s\S]*owner\s+local/);
  // More than is left is refused, and nothing moves.
  await owner.getByLabel(/Amount \(USD\)/).fill("30");
  await submit(owner, "Refund");
  assert.match(await owner.getByRole("alert").innerText(), /Refund refused/);
  assert.equal(await owner.locator("#status").textContent(), "partially_refunded");
  // The rest, with the field left empty.
  await submit(owner, "Refund");
  assert.equal(await owner.locator("#status").textContent(), "refunded");
  assert.match(await owner.getByRole("status").filter({ hasText: "Refund" }).innerText(), /of \$25\.00: the gateway's webhook confirmed it/);
  await owner.screenshot({ path: path.join(shots, "dashboard-order-refunded.png"), fullPage: true });

  // The success page, reloaded, says so too.
  await page.reload();
  await settle(page, "refunded");
  await Promise.all([owner.waitForNavigation(), owner.getByRole("link", { name: "← All orders" }).click()]);
  assert.equal(await row(owner, id).locator(".status").textContent(), "refunded");
  await owner.screenshot({ path: path.join(shots, "dashboard-orders.png"), fullPage: true });
});

test("a paid order's receipt shows at /_jampay/ mail", async () => {
  const page = await newPage();
  await buy(page, "stripe", "tee-m");
  await page.waitForURL(/\/sandbox\/stripe\//);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: /^Pay$/ }).click()]);
  await settle(page, "paid");
  const id = await orderOf(page);

  // jampay serve dispatches after the webhook has answered: reload until it shows.
  const owner = await dashboard();
  await Promise.all([owner.waitForNavigation(), owner.getByRole("link", { name: "Mail and events" }).click()]);
  const receipt = owner.locator(`tr[data-mail="receipt"][data-order="${id}"]`);
  for (let i = 0; i < 50 && (await receipt.count()) === 0; i++) {
    await owner.waitForTimeout(100);
    await owner.reload();
  }
  assert.equal(await receipt.count(), 1, "the receipt, once");
  assert.match(await receipt.innerText(), /customer@example\.com[\s\S]*Your receipt/);
  assert.equal(await owner.locator(`tr[data-event="order.paid"][data-order="${id}"]`).count(), 1, "the owner's event, once");
  await owner.screenshot({ path: path.join(shots, "dashboard-mail.png"), fullPage: true });

  // The mail itself: its HTML in a sandboxed frame, its text beside.
  await Promise.all([owner.waitForNavigation(), receipt.getByRole("link", { name: /Your receipt/ }).click()]);
  const frame = owner.locator("iframe.mail");
  assert.equal(await frame.getAttribute("sandbox"), "", "the mail's HTML runs no script");
  assert.match(await owner.frameLocator("iframe.mail").locator("body").innerText(), new RegExp(`Order ${id}`));
  assert.match(await owner.locator("pre").first().innerText(), /Total/);
  await owner.screenshot({ path: path.join(shots, "dashboard-mail-receipt.png"), fullPage: true });
});

// subscribeTo presses Subscribe on a plan of the shop page.
async function subscribeTo(page, sku) {
  await page.goto(base + "/");
  await page.getByLabel(/Email for the receipt/).fill("club@example.com");
  await page.locator(`li.plan[data-sku="${sku}"]`).getByRole("button", { name: /Subscribe/ }).click();
}

// onHostedPage waits until the shop has sent the browser to the sandbox's
// hosted subscription page: until then the shop's own "Subscribe to …"
// buttons are on screen too.
async function onHostedPage(page) {
  await page.waitForURL(/\/sandbox\/subscriptions\//);
}

// keptSubscription is the subscription id the page keeps (never the token
// in a URL: the test reads the id only).
async function keptSubscription(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("jampay.subscription")).subscriptionId);
}

// control presses a time control on the sandbox's page for the
// subscription, then returns to the account page.
async function control(page, id, name) {
  await page.goto(base + "/sandbox/subscriptions/" + id);
  await page.getByRole("button", { name }).click();
  await page.waitForURL(/\/sandbox\/subscriptions\//);
  await page.goto(base + "/account.html");
}

test("stripe: subscribe → trialing → renew → a failed renewal is past_due, still entitled → retries exhausted: halted, not entitled", async () => {
  const page = await newPage();
  await subscribeTo(page, "club-monthly");
  await page.waitForURL(/\/sandbox\/subscriptions\/cs_sandbox_/);
  await page.getByRole("button", { name: "Decline (card declined)" }).click();
  assert.match(await page.getByRole("alert").textContent(), /Your card was declined\./);
  await onHostedPage(page);
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  await page.waitForURL(/\/account\.html\?subscription=sbn_/);
  assert.ok(!page.url().includes("token"), "the token is never in the URL");
  await settle(page, "trialing");
  assert.equal(await page.locator("#entitled").textContent(), "You have access");
  assert.match(await page.locator("#plan").textContent(), /Jam club — \$9\.00 a month/);
  assert.ok(await page.locator("#trial").isVisible());
  assert.ok(await page.getByRole("button", { name: "Manage billing" }).isVisible());
  const id = await keptSubscription(page);

  await control(page, id, /Renew/);
  await settle(page, "active");
  await control(page, id, "Fail a renewal");
  await settle(page, "past_due");
  assert.equal(await page.locator("#entitled").textContent(), "You have access");
  assert.match(await page.locator("#reason").textContent(), /did not go through/);
  await page.screenshot({ path: path.join(shots, "account-past-due.png"), fullPage: true });
  await control(page, id, "Exhaust the retries");
  await settle(page, "halted");
  assert.equal(await page.locator("#entitled").textContent(), "No access");
  await page.screenshot({ path: path.join(shots, "account-halted.png"), fullPage: true });

  // The billing portal's stand-in: updating the card pays the failed renewal.
  await page.getByRole("button", { name: "Manage billing" }).click();
  await page.waitForURL(/\/sandbox\/portal\//);
  assert.match(await page.locator("main").textContent(), /stands in for Stripe's billing portal/);
  await page.getByRole("button", { name: "Update card" }).click();
  await page.getByRole("link", { name: "Return to the shop" }).click();
  await page.waitForURL(/\/account\.html/);
  await settle(page, "active");
});

test("stripe: subscribe → Cancel → ends on <date> → the period ends → canceled", async () => {
  const page = await newPage();
  await subscribeTo(page, "club-monthly");
  await onHostedPage(page);
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  await settle(page, "trialing");
  const id = await keptSubscription(page);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Cancel subscription" }).click();
  await page.locator("#message", { hasText: /ends on/ }).waitFor({ timeout: 20000 });
  const ends = await page.locator("#period").textContent();
  assert.match(await page.locator("#message").textContent(), new RegExp("ends on " + ends));
  assert.equal(await page.locator("#period-label").textContent(), "Ends on");
  assert.ok(await page.getByRole("button", { name: "Cancel subscription" }).isHidden());
  await page.screenshot({ path: path.join(shots, "account-canceling.png"), fullPage: true });
  await control(page, id, "Let the period end");
  await settle(page, "canceled");
  assert.equal(await page.locator("#entitled").textContent(), "No access");
});

test("razorpay: subscribe in Checkout → active", async () => {
  const page = await newPage();
  await subscribeTo(page, "club-monthly-inr");
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /₹499\.00/);
  await dialog.getByRole("button", { name: "Subscribe" }).click();
  await page.waitForURL(/\/account\.html/);
  await settle(page, "active");
  assert.equal(await page.locator("#entitled").textContent(), "You have access");
  assert.ok(await page.getByRole("button", { name: "Manage billing" }).isHidden(), "Razorpay has no billing portal");
});

test("account: an access link's fragment opens the subscription and leaves the address bar", async () => {
  const res = await fetch(base + "/api/checkout", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ gateway: "stripe", items: [{ sku: "club-monthly", quantity: 1 }] }),
  });
  const created = await res.json();
  const page = await newPage();
  await page.goto(base + "/account.html#subscription=" + created.subscriptionId + "&token=" + created.statusToken);
  await settle(page, "pending");
  assert.equal(new URL(page.url()).hash, "");
  assert.equal(await keptSubscription(page), created.subscriptionId);
  await page.getByRole("textbox", { name: "Email" }).fill("nobody@example.com");
  await page.getByRole("button", { name: "Email me a link" }).click();
  await page.locator("#lost-said:not(:empty)").waitFor();
});
