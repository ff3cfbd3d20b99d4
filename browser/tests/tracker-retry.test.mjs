// Sends that fail for a reason a retry can fix (503, a network error) wait
// in a small queue in localStorage and are sent again with backoff: each
// event arrives once. The queue is bounded, the oldest dropped first; a
// 400 is not retried.
import { launch, startGo, check, eventually, exportEvents } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    let failures = 0;
    let refused = 0;
    let mode = 'fail-twice';
    await page.route('**/analytics/events?*', async (route) => {
      if (mode === 'fail-twice' && failures < 2) {
        failures++;
        return failures === 1
          ? route.fulfill({ status: 503, headers: { 'Retry-After': '1' }, body: '{"error":"overloaded"}' })
          : route.abort('connectionreset');
      }
      if (mode === 'down') return route.fulfill({ status: 503, body: '{"error":"overloaded"}' });
      if (mode === 'bad') { refused++; return route.fulfill({ status: 400, body: '{"error":"no valid event"}' }); }
      return route.continue();
    });
    await page.goto(shop.url + '/cart');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.evaluate(() => { shoplytics.track('retry_probe', { n: 1 }); shoplytics.flush(); });
    const events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      return evs.some((e) => e.type === 'retry_probe') && evs;
    }, { timeoutMs: 30_000, what: 'the events after two failed sends' });
    check(failures === 2, `two sends failed first (${failures})`);
    for (const t of ['session_started', 'page_viewed', 'cart_viewed', 'retry_probe']) {
      check(events.filter((e) => e.type === t).length === 1, `${t} arrived once: ${events.map((e) => e.type)}`);
    }
    check(await page.evaluate(() => localStorage.getItem('shoplytics_retry')) === null, 'the retry queue is empty again');

    // A long outage: the queue keeps the newest 100 events.
    mode = 'down';
    await page.evaluate(() => {
      for (let i = 0; i < 150; i++) shoplytics.track('outage_probe', { n: i });
      shoplytics.flush();
    });
    const kept = await eventually(() => page.evaluate(() => {
      const q = JSON.parse(localStorage.getItem('shoplytics_retry') || '[]');
      return q.length >= 100 && q;
    }), { what: 'the retry queue to fill' });
    check(kept.length === 100, `bounded at 100, got ${kept.length}`);
    check(new Set(kept.map((e) => e.id)).size === 100, 'no event kept twice');
    const times = kept.map((e) => e.timestamp);
    check(times.every((t, i) => i === 0 || times[i - 1] <= t), 'kept in time order, the oldest dropped');

    // The store is back: the kept events arrive on the next page.
    mode = 'up';
    await page.goto(shop.url + '/');
    await eventually(async () => {
      const evs = (await exportEvents(api, 'rk_demo')).filter((e) => e.type === 'outage_probe');
      return evs.length === 100;
    }, { timeoutMs: 30_000, what: 'the 100 kept events' });

    // A 400 would fail again the same way: dropped, not kept.
    mode = 'bad';
    await page.evaluate(() => { shoplytics.track('refused_probe'); shoplytics.flush(); });
    await eventually(() => refused > 0, { what: 'the refused send' });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100))); // its answer handled
    check(await page.evaluate(() => localStorage.getItem('shoplytics_retry')) === null, 'a 400 is not kept for retry');
  } finally {
    await browser.close();
    await shop.stop();
  }
}
