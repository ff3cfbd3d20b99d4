// The tracker on a page of another site: the endpoint is where the script
// came from, and its cross-origin sends (text/plain, the key in the URL)
// get through. And sessions: a visit
// after 30 minutes without an event is a new session, announced by
// session_started, of the same anonymous id.
import { createServer } from 'node:http';
import { launch, startGo, check, eventually, exportEvents, count } from '../lib.mjs';

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  // Another site, with a page of its own that loads the shop's tracker.
  let html = '';
  const site = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(html); });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const other = `http://127.0.0.1:${site.address().port}`;
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    html = `<!doctype html><title>elsewhere</title><script>
      window.shoplytics = window.shoplytics || {q: []};
      ["init", "track", "flush"].forEach(function (m) { shoplytics[m] = shoplytics[m] || function () { shoplytics.q.push([m, [].slice.call(arguments), Date.now()]); }; });
      shoplytics.init({apiKey: "wk_demo"});
      shoplytics.track("elsewhere_probe");
    </script><script async src="${api}/tracker.js"></script>`;
    await page.goto(other + '/elsewhere');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.evaluate(() => shoplytics.flush());
    let events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      return evs.some((e) => e.type === 'elsewhere_probe') && evs;
    }, { what: 'the cross-origin page\'s events' });
    check(events.some((e) => e.type === 'page_viewed' && e.url === other + '/elsewhere'), 'the page view names the page, not the endpoint');

    // 31 minutes later, as the tracker's storage sees it.
    const firstSession = events.find((e) => e.type === 'elsewhere_probe').session_id;
    await page.evaluate(() => localStorage.setItem('shoplytics_session_last', String(Date.now() - 31 * 60 * 1000)));
    await page.reload();
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.evaluate(() => shoplytics.flush());
    events = await eventually(async () => {
      const evs = await exportEvents(api, 'rk_demo');
      return count(evs, (e) => e.type === 'elsewhere_probe') === 2 && evs;
    }, { what: 'the second visit' });
    const starts = events.filter((e) => e.type === 'session_started');
    check(starts.length === 2 && starts[0].session_id === firstSession && starts[1].session_id !== firstSession,
      `two sessions, each announced once: ${JSON.stringify(starts.map((e) => e.session_id))}`);
    check(new Set(events.map((e) => e.anonymous_id)).size === 1, 'one anonymous id across sessions');
    check(count(events, (e) => e.session_id === starts[1].session_id) === 3, 'the second visit: session_started, page_viewed, the probe');
  } finally {
    await browser.close();
    site.close();
    await shop.stop();
  }
}
