// The common alternative the load tool compares jampay with: a Node.js
// Stripe webhook endpoint built the way Stripe's docs show it, on the
// official `stripe` package's webhooks.constructEvent (stripe 23.1.0,
// pinned in the root package.json). It uses node:http rather than Express,
// which only makes it faster. It checks the signature, reads the fields
// jampay uses and answers 200, nothing more.
//
//   STRIPE_WEBHOOK_SECRET=whsec_… node bench/peers/node/server.mjs [port]
import http from 'node:http';
import Stripe from 'stripe';

const secret = process.env.STRIPE_WEBHOOK_SECRET;
if (!secret) {
  console.error('server.mjs: STRIPE_WEBHOOK_SECRET is required');
  process.exit(2);
}
const stripe = new Stripe('sk_test_peer_makes_no_api_calls');

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > 64 << 10) {
      reply(res, 413, { error: 'too large' });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    let event;
    try {
      event = stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'], secret);
    } catch (err) {
      reply(res, 400, { error: err.message });
      return;
    }
    const obj = event.data.object;
    const orderId = obj.metadata?.order_id ?? obj.client_reference_id;
    if (!event.id || !event.type || !orderId || typeof obj.amount_total !== 'number' || !obj.currency) {
      reply(res, 400, { error: 'not a checkout session event for an order' });
      return;
    }
    reply(res, 200, { received: true });
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
