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

test("a cart in one currency refuses a product in another", async () => {
  const page = await newPage();
  await page.goto(base + "/");
  await page.locator('li.card[data-sku="tee-m"]').getByRole("button", { name: /Add/ }).click();
  await page.locator('li.card[data-sku="tote-in"]').getByRole("button", { name: /Add/ }).click();
  assert.match(await page.locator("#cart-note").textContent(), /cart is in USD/);
  assert.equal(await page.locator("#cart-lines li").count(), 1);
});

const cases = [
  { gateway: "stripe", sku: "tee-m", total: "$40.00" },
  { gateway: "razorpay", sku: "sticker-in", total: "₹398.00" },
];

for (const { gateway, sku, total } of cases) {
  // The hosted page's buttons: Stripe's is a page of its own, Razorpay's a
  // modal over the shop, as Checkout.js is.
  async function choose(page, action) {
    const names = { pay: /^Pay$/, decline: /^Decline/, abandon: /^Abandon/ };
    if (gateway === "stripe") await page.waitForURL(/\/sandbox\/stripe\//);
    else await page.getByRole("dialog").waitFor();
    await page.getByRole("button", { name: names[action] }).click();
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
    await page.screenshot({ path: path.join(shots, `${gateway}-paid.png`), fullPage: true });
  });

  test(`${gateway}: decline → the failure reason is shown`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    await choose(page, "decline");
    await page.waitForURL(/success\.html/);
    await settle(page, "failed");
    assert.equal(await page.locator("h1").textContent(), "Payment failed");
    assert.match(await page.locator("#reason").textContent(), /declined/);
    await page.screenshot({ path: path.join(shots, `${gateway}-declined.png`), fullPage: true });
  });

  test(`${gateway}: abandon → the order is expired`, async () => {
    const page = await newPage();
    await buy(page, gateway, sku);
    await choose(page, "abandon");
    await page.waitForURL(/cancel\.html/);
    await settle(page, "expired");
    assert.equal(await page.locator("h1").textContent(), "Checkout expired");
    await page.screenshot({ path: path.join(shots, `${gateway}-expired.png`), fullPage: true });
  });
}

test("stripe: a declined customer retries and pays", async () => {
  const page = await newPage();
  await buy(page, "stripe", "mug");
  await page.waitForURL(/\/sandbox\/stripe\//);
  await page.getByRole("button", { name: /^Decline/ }).click();
  await settle(page, "failed");
  await page.getByRole("link", { name: "Try again" }).click();
  await page.getByRole("button", { name: /^Pay$/ }).click();
  await settle(page, "paid");
});
