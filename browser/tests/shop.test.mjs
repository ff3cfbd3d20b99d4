// A visit to examples/shop in a real browser: the product list, a product,
// add to cart, the cart, checkout. Every event the tracker sent and the
// purchase the shop recorded server-side arrive through the read API, in
// one session of one anonymous id, the purchase exactly once; the
// customer's journey holds the anonymous history. The live feed, read with
// fetch and a bearer key as the dashboard reads it, brings the events as
// they are stored.
import { createHash } from 'node:crypto';
import { launch, startGo, check, eventually, exportEvents, readJSON, instrumentSends, sends, count } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    const context = await browser.newContext();
    await instrumentSends(context);
    const page = await context.newPage();

    // The live feed, from a second page of the same origin.
    const watcher = await context.newPage();
    await watcher.goto(shop.url + '/analytics/health'); // same origin, no tracker
    await watcher.evaluate(() => {
      window.liveEvents = [];
      window.liveDone = (async () => {
        const res = await fetch('/analytics/api/live', { headers: { Authorization: 'Bearer rk_demo' } });
        if (res.status !== 200) throw new Error('live answered ' + res.status);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const msg = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = msg.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('');
            if (msg.includes('event: event')) window.liveEvents.push(JSON.parse(data));
          }
        }
      })();
    });

    await page.goto(shop.url + '/');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.click('.card a[href="/products/p-shoes-1"]');
    await page.waitForURL('**/products/p-shoes-1');
    const price = await page.getAttribute('#add-to-cart', 'data-price');
    await page.fill('#quantity', '2');
    await page.click('#add-to-cart'); // a form post: the page goes, its events by beacon
    await page.waitForURL('**/cart');
    check((await page.textContent('#cart-total')).includes((2 * Number(price)).toFixed(2)), 'the cart total is two of the product');
    await page.click('#checkout');
    await page.waitForURL('**/checkout');
    const email = 'ada@example.com';
    await page.fill('#email', email);
    await page.fill('#name', 'Ada');
    await page.click('#place-order');
    await page.waitForURL('**/orders/*');
    const orderID = (await page.textContent('#order-id')).trim();
    const anon = await page.evaluate(() => localStorage.getItem('shoplytics_anonymous_id'));
    const posts = await sends(page);
    check(anon && anon.length === 32, `anonymous id ${anon}`);
    check(await page.evaluate(() => document.cookie) === '', 'the tracker sets no cookie readable by the page');
    await page.goto('about:blank'); // the order page's events leave by beacon

    const expected = ['page_viewed', 'product_list_viewed', 'product_viewed', 'add_to_cart', 'cart_viewed', 'checkout_started', 'identify', 'purchase_completed'];
    const events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      const ok = expected.every((t) => evs.some((e) => e.type === t)) && count(evs, (e) => e.type === 'page_viewed') >= 5;
      return ok && evs;
    }, { timeoutMs: 20_000, what: 'the visit\'s events in the export' });

    const types = events.map((e) => e.type);
    check(count(events, (e) => e.type === 'purchase_completed') === 1, `one purchase, got ${types}`);
    check(count(events, (e) => e.type === 'session_started') === 1, `one session_started, got ${types}`);
    check(count(events, (e) => e.type === 'page_viewed') === 5, `a page view per page (list, product, cart, checkout, order), got ${types}`);
    const anons = new Set(events.map((e) => e.anonymous_id));
    const sessions = new Set(events.map((e) => e.session_id));
    check(anons.size === 1 && anons.has(anon), `one anonymous id, got ${[...anons]}`);
    check(sessions.size === 1 && !sessions.has(undefined), `one session, got ${[...sessions]}`);

    const add = events.find((e) => e.type === 'add_to_cart');
    check(add.product_id === 'p-shoes-1' && add.price === price && add.currency === 'USD' && add.quantity === 2,
      `add_to_cart carries the product, its price and the quantity: ${JSON.stringify(add)}`);
    const purchase = events.find((e) => e.type === 'purchase_completed');
    check(purchase.order_id === orderID, `purchase of order ${orderID}: ${JSON.stringify(purchase)}`);
    check(purchase.revenue === (2 * Number(price)).toFixed(2) && purchase.currency === 'USD', `purchase revenue: ${JSON.stringify(purchase)}`);
    const customer = 'cust-' + createHash('sha256').update(email).digest('hex').slice(0, 16);
    check(purchase.user_id === customer, `purchase by ${customer}: ${purchase.user_id}`);
    check(!JSON.stringify(events).includes(email), 'the e-mail address never reaches the analytics');

    // The tracker's own requests: some by beacon (the pages left by a
    // form post or a navigation), none lost.
    const beaconed = posts.filter((p) => p.type === 'beacon');
    check(beaconed.some((p) => p.page === '/products/p-shoes-1' && p.types.includes('add_to_cart')),
      `the product page's add_to_cart left by sendBeacon as the form post took the page away: ${JSON.stringify(posts)}`);
    const arrived = new Set(events.map((e) => e.id));
    for (const p of posts) for (const id of p.ids) check(arrived.has(id), `event ${id} sent by ${p.type} from ${p.page} arrived`);
    check(posts.every((p) => p.url.includes('key=wk_demo')), 'every post carries the write key as ?key=');

    // The customer's journey stitches the anonymous browsing in.
    const journey = await readJSON(`${api}/api/users/${customer}/journey`, 'rk_demo');
    const jtypes = journey.events.map((e) => e.type);
    for (const t of ['product_viewed', 'add_to_cart', 'checkout_started', 'purchase_completed']) {
      check(jtypes.includes(t), `the journey holds ${t}: ${jtypes}`);
    }

    // The live feed brought the events as they were stored.
    await eventually(() => watcher.evaluate(() => window.liveEvents.some((e) => e.type === 'purchase_completed')),
      { timeoutMs: 20_000, what: 'the purchase on the live feed' });
    const live = await watcher.evaluate(() => window.liveEvents.map((e) => e.type));
    check(live.includes('add_to_cart') && count(live, (t) => t === 'purchase_completed') === 1, `live feed: ${live}`);
  } finally {
    await browser.close();
    await shop.stop();
  }
}
