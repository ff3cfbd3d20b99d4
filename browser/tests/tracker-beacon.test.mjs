// Events queued on a page that goes away before its batch is due leave by
// navigator.sendBeacon on page hide, and arrive: on a navigation to
// another site, and on closing the tab.
import { launch, startGo, check, eventually, exportEvents, instrumentSends, sends } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    const context = await browser.newContext();
    await instrumentSends(context);

    // Navigating away.
    const page = await context.newPage();
    await page.goto(shop.url + '/products/p-shirts-1');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await eventually(async () => (await exportEvents(api, 'rk_demo')).some((e) => e.type === 'product_viewed'),
      { what: 'the page\'s first batch' });
    // Queued now, due in a second: the page leaves first.
    await page.evaluate(() => shoplytics.track('wishlist_added', { product_id: 'p-shirts-1', probe: 'navigate' }));
    const before = await sends(page);
    check(!before.some((s) => s.types.includes('wishlist_added')), 'the event waits for its batch');
    await page.goto('about:blank');
    await page.goBack(); // back on the shop's origin, to read what the tab noted
    const noted = await sends(page);
    const beacon = noted.find((s) => s.types.includes('wishlist_added'));
    check(beacon && beacon.type === 'beacon', `the queued event left by sendBeacon: ${JSON.stringify(noted)}`);
    await eventually(async () => (await exportEvents(api, 'rk_demo')).some((e) => e.type === 'wishlist_added' && e.properties && e.properties.probe === 'navigate'),
      { what: 'the beaconed event in the store' });

    // Closing the tab.
    const tab = await context.newPage();
    await tab.goto(shop.url + '/cart');
    await tab.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await tab.evaluate(() => shoplytics.track('wishlist_added', { product_id: 'p-shirts-1', probe: 'close' }));
    await tab.close({ runBeforeUnload: true });
    const events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      return evs.some((e) => e.type === 'wishlist_added' && e.properties && e.properties.probe === 'close') && evs;
    }, { what: 'the event of the closed tab' });
    const anons = new Set(events.map((e) => e.anonymous_id));
    check(anons.size === 1, `one browser, one anonymous id: ${[...anons]}`);
    const probes = events.filter((e) => e.type === 'wishlist_added');
    check(probes.length === 2, `each probe once: ${JSON.stringify(probes)}`);
  } finally {
    await browser.close();
    await shop.stop();
  }
}
