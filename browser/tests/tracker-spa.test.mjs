// A single-page change of URL (history.pushState, and the popstate of the
// back button) sends a page_viewed of the new URL, with the previous one
// as referrer; replaceState to the same URL sends none; autoPage: false
// turns them all off.
import { launch, startGo, check, eventually, exportEvents, count } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(shop.url + '/');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.click('#filters a[data-filter="shoes"]'); // the shop's pushState filter
    await page.waitForURL('**/?category=shoes');
    await page.evaluate(() => history.replaceState(null, '', location.href)); // same URL: no page view
    await page.goBack(); // popstate
    await page.waitForURL((u) => u.search === '');
    await page.evaluate(() => shoplytics.flush());

    const views = await eventually(async () => {
      const evs = (await exportEvents(api, 'rk_demo')).filter((e) => e.type === 'page_viewed');
      return evs.length >= 3 && evs;
    }, { what: 'three page views' });
    const urls = views.map((e) => new URL(e.url).search);
    check(views.length === 3, `page views of /, ?category=shoes and / again, no more: ${urls}`);
    check(urls[0] === '' && urls[1] === '?category=shoes' && urls[2] === '', `in order: ${urls}`);
    check(views[1].referrer === shop.url + '/', `the SPA view's referrer is the previous URL: ${views[1].referrer}`);
    const filtered = (await exportEvents(api, 'rk_demo')).filter((e) => e.type === 'product_list_filtered');
    check(filtered.length === 1 && filtered[0].category === 'shoes', `the filter event: ${JSON.stringify(filtered)}`);

    // autoPage: false, on a page of our own on the shop's origin.
    const manual = await (await browser.newContext()).newPage();
    await manual.route(shop.url + '/manual', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>manual</title><script>
        window.shoplytics = window.shoplytics || {q: []};
        ["init", "track", "page", "flush"].forEach(function (m) { shoplytics[m] = shoplytics[m] || function () { shoplytics.q.push([m, [].slice.call(arguments), Date.now()]); }; });
        shoplytics.init({apiKey: "wk_demo", autoPage: false});
        shoplytics.track("manual_probe");
      </script><script async src="/analytics/tracker.js"></script>`,
    }));
    await manual.goto(shop.url + '/manual');
    await manual.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await manual.evaluate(() => { history.pushState(null, '', '/manual?step=2'); shoplytics.flush(); });
    const evs = await eventually(async () => {
      const all = await exportEvents(api, 'rk_demo');
      return all.some((e) => e.type === 'manual_probe') && all;
    }, { what: 'the manual page\'s event' });
    const manualAnon = evs.find((e) => e.type === 'manual_probe').anonymous_id;
    check(count(evs, (e) => e.anonymous_id === manualAnon && e.type === 'page_viewed') === 0, 'autoPage: false sends no page view');
  } finally {
    await browser.close();
    await shop.stop();
  }
}
