// The async snippet keeps the calls a page makes before tracker.js has
// arrived, in order and with the time they were made, and sends them once
// it runs.
import { launch, startGo, check, eventually, exportEvents } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    // Hold tracker.js until the test lets it go.
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/analytics/tracker.js', async (route) => { await held; await route.continue(); });
    await page.goto(shop.url + '/products/p-outerwear-1', { waitUntil: 'domcontentloaded' });
    check(await page.evaluate(() => !window.shoplytics.loaded && Array.isArray(window.shoplytics.q)), 'the snippet\'s stub is in place');
    const calledAt = await page.evaluate(() => {
      shoplytics.identify('early-user', { plan: 'gold' });
      shoplytics.track('early_probe', { product_id: 'p-outerwear-1', n: 1 });
      return Date.now();
    });
    const queued = await page.evaluate(() => shoplytics.q.map((c) => c[0]));
    check(JSON.stringify(queued) === JSON.stringify(['init', 'track', 'identify', 'track']), `queued calls: ${queued}`);
    await new Promise((r) => setTimeout(r, 300)); // the calls are older than the script
    const releasedAt = Date.now();
    release();
    await page.waitForFunction(() => window.shoplytics.loaded);
    await page.evaluate(() => shoplytics.flush());

    const events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      return evs.some((e) => e.type === 'early_probe') && evs;
    }, { what: 'the early calls' });
    const types = events.map((e) => e.type);
    for (const t of ['session_started', 'product_viewed', 'identify', 'early_probe', 'page_viewed']) {
      check(types.includes(t), `${t} arrived: ${types}`);
    }
    const probe = events.find((e) => e.type === 'early_probe');
    check(probe.user_id === 'early-user', `the identify made before it applies: ${JSON.stringify(probe)}`);
    // The server corrects the client's clock by the send's latency (a few
    // milliseconds here), so the call's time is checked against the load's.
    check(Date.parse(probe.timestamp) < releasedAt, `the event keeps the time of the call (${probe.timestamp}, at ${new Date(calledAt).toISOString()}), not of the load (${new Date(releasedAt).toISOString()})`);
    const identify = events.find((e) => e.type === 'identify');
    check(identify.properties && identify.properties.plan === 'gold', `traits: ${JSON.stringify(identify)}`);
    const viewed = events.find((e) => e.type === 'product_viewed');
    check(Date.parse(viewed.timestamp) <= Date.parse(identify.timestamp) && Date.parse(identify.timestamp) <= Date.parse(probe.timestamp),
      'in the order of the calls');
  } finally {
    await browser.close();
    await shop.stop();
  }
}
