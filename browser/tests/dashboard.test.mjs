// The dashboard in a real browser: the example server with demo data, a
// wrong key refused, the read key's KPI figures equal to /api/stats for the
// same range, both charts drawn, the admin key's shop picker, an export,
// the live feed (once the server has one), nothing loaded from another
// host; then screenshots at desktop and phone width.
//
// Screenshots (dashboard-desktop.png, dashboard-phone.png) go to a
// temporary directory, or to SCREENSHOT_DIR when it is set: SCREENSHOT_DIR=docs
// refreshes the README's pictures.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launch, startGo, check, eventually, repoRoot, lowContrast, tempDir } from '../lib.mjs';

const shotDir = process.env.SCREENSHOT_DIR ? resolve(repoRoot, process.env.SCREENSHOT_DIR) : tempDir('shoplytics-screenshots-');

// signIn opens the dashboard and signs in with key.
async function signIn(page, url, key) {
  await page.goto(url + '/dashboard/');
  await page.fill('#key', key);
  await page.click('#signin-form button[type=submit]');
}

// settled waits until every section of the view has answered.
async function settled(page) {
  await page.waitForFunction(() => ['ready', 'empty', 'error'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  return page.evaluate(() => document.body.dataset.state);
}

async function kpiText(page, id, currency) {
  const sel = currency ? `[data-kpi="${id}"][data-currency="${currency}"] .figure` : `[data-kpi="${id}"] .figure`;
  return (await page.textContent(sel)).trim();
}

const plain = (s) => s.replace(/,/g, '');

// Two shops in two zones: the demo shop (its keys as without a config,
// so -demo fills it) and an empty one.
const config = {
  admin_key: 'ak_demo',
  shops: [
    { id: 'demo', write_key: 'wk_demo', read_key: 'rk_demo', timezone: 'Europe/Berlin' },
    { id: 'other', write_key: 'wk_other', read_key: 'rk_other', timezone: 'America/New_York' },
  ],
};

// sse is a body in the form GET /api/live answers: a heartbeat comment,
// then one "event: event" per event.
const sse = (events) => ': heartbeat\n\n' + events.map((e) => 'event: event\ndata: ' + JSON.stringify(e) + '\n\n').join('');

export default async function () {
  const configFile = join(tempDir(), 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const server = await startGo('./examples/server', ['-store', 'memory://', '-spool', 'off', '-demo', '-config', configFile]);
  const browser = await launch();
  const api = async (path, key = 'rk_demo') => {
    const res = await fetch(server.url + path, { headers: { Authorization: 'Bearer ' + key } });
    check(res.ok, `${path} answered ${res.status}`);
    return res.json();
  };
  try {
    // A wrong key, and the write key, are refused and say so.
    for (const key of ['rk_wrong', 'wk_demo']) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await signIn(page, server.url, key);
      await page.waitForSelector('#signin-error:not([hidden])');
      const msg = await page.textContent('#signin-error');
      check(msg.includes('This key was refused'), `${key}: the refusal says ${JSON.stringify(msg)}`);
      check(await page.evaluate(() => document.body.dataset.state) === 'refused', `${key}: state is not "refused"`);
      check(await page.isHidden('#dash'), `${key}: the dashboard shows without a valid key`);
      check(await page.evaluate(() => sessionStorage.length) === 0, `${key}: a refused key was kept`);
      const faint = await lowContrast(page);
      check(faint.length === 0, `sign-in: text without enough contrast: ${faint.join('; ')}`);
      await ctx.close();
    }

    // The read key: figures equal /api/stats for the range the page shows.
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    const page = await ctx.newPage();
    const foreign = [];
    const errors = [];
    page.on('request', (r) => { if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:')) foreign.push(r.url()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, server.url, 'rk_demo');
    const state = await settled(page);
    check(state === 'ready', `the dashboard settled as ${state}: ${await page.textContent('#notice')}`);
    const query = await page.evaluate(() => document.body.dataset.query);
    const q = new URLSearchParams(query);
    check(q.get('shop') === 'demo' && q.get('tz') === 'Europe/Berlin' && q.get('from') && q.get('to'),
      `the page's query is ${query}: the shop's zone is the default`);
    check(await page.inputValue('#tz') === 'Europe/Berlin', 'the zone field does not show the shop\'s zone');
    const stats = await api('/api/stats?' + query);
    check(stats.events > 1000, `the demo has only ${stats.events} events`);
    for (const id of ['events', 'sessions', 'users']) {
      const shown = await kpiText(page, id);
      check(Number(plain(shown)) === stats[id], `${id}: the card shows ${shown}, /api/stats says ${stats[id]}`);
    }
    for (const [id, field] of [['conversion', 'conversion_rate'], ['cart_abandonment', 'cart_abandonment_rate'], ['bounce', 'bounce_rate']]) {
      const shown = await kpiText(page, id);
      check(shown.endsWith('%') && Number(shown.slice(0, -1)) === stats[field], `${id}: the card shows ${shown}, /api/stats says ${stats[field]}`);
    }
    check(stats.revenue.length >= 2, `the demo sells in ${stats.revenue.length} currencies`);
    for (const r of stats.revenue) {
      const total = await kpiText(page, 'revenue', r.currency);
      check(plain(total) === r.total, `revenue ${r.currency}: the card shows ${total}, /api/stats says ${r.total}`);
      const avg = await kpiText(page, 'average', r.currency);
      check(plain(avg) === r.average, `average order ${r.currency}: the card shows ${avg}, /api/stats says ${r.average}`);
    }
    check(await page.locator('[data-kpi="revenue"]').count() === stats.revenue.length, 'one revenue card per currency');

    // Both charts are server-drawn SVG with their labels.
    for (const [sel, label] of [['#trend-chart', 'Events per day'], ['#funnel-chart', 'Purchase completed']]) {
      const svg = page.locator(sel + ' svg');
      check(await svg.count() === 1, `${sel} has no <svg>`);
      const shapes = await page.locator(sel + ' svg path').count();
      check(shapes > 5, `${sel}'s svg has only ${shapes} paths`);
      const text = await svg.textContent();
      check(text.includes(label), `${sel}'s svg does not say ${label}: ${text.slice(0, 200)}`);
      const box = await svg.boundingBox();
      check(box && box.width > 600 && box.height > 150, `${sel} is drawn ${JSON.stringify(box)}`);
    }
    // The funnel table agrees with /api/funnel.
    const funnel = await api('/api/funnel?' + query + '&steps=product_viewed,add_to_cart,checkout_started,purchase_completed');
    const counts = await page.$$eval('#funnel-table tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent));
    check(JSON.stringify(counts.map((c) => Number(plain(c)))) === JSON.stringify(funnel.steps.map((s) => s.count)),
      `funnel table ${counts} vs /api/funnel ${funnel.steps.map((s) => s.count)}`);

    // Another metric redraws the trend.
    await page.selectOption('#metric', 'revenue');
    await page.waitForFunction(() => (document.querySelector('#trend-chart svg') || {}).textContent?.includes('Revenue ('));

    // Tables are filled from the API.
    const top = await api('/api/top-products?' + query + '&by=revenue&limit=10');
    const firstProduct = await page.textContent('#products tbody tr:first-child td:first-child');
    check(firstProduct.includes(top.products[0].product_name || top.products[0].product_id), `top product shown is ${firstProduct}`);
    check((await page.textContent('#products tbody tr:first-child td:last-child')).trim() === top.currency + ' ' + top.products[0].revenue.replace(/\B(?=(\d{3})+(?!\d))/g, ','),
      'the top product\'s revenue is not /api/top-products\'s');

    // Another currency: the rankings and the revenue trend follow it.
    const other = stats.revenue[1].currency;
    check(await page.isVisible('#currency'), 'no currency choice with several currencies');
    await page.selectOption('#currency', other);
    const topOther = await api('/api/top-products?' + query + '&by=revenue&limit=10&currency=' + other);
    await page.waitForFunction((c) => document.querySelector('#products tbody tr td:last-child').textContent.startsWith(c + ' '), other);
    const shownOther = (await page.textContent('#products tbody tr:first-child td:last-child')).trim();
    check(plain(shownOther) === other + ' ' + topOther.products[0].revenue, `top product in ${other}: shown ${shownOther}, API ${topOther.products[0].revenue}`);
    await page.waitForFunction((c) => document.querySelector('#trend-chart svg').textContent.includes('Revenue (' + c + ')'), other);
    await page.selectOption('#currency', '');
    check(await page.locator('#customers tbody tr').count() > 1, 'no top customers shown');
    check(await page.locator('#breakdown tbody tr').count() > 1, 'no breakdown rows shown');

    // Insights and the live feed show their content, or say why not.
    check((await page.textContent('#insights')).trim().length > 20, 'the insights section is blank');
    const live = await eventually(async () => {
      const s = (await page.textContent('#live-status')).trim();
      return ['connected', 'not available'].includes(s) && s;
    }, { what: 'the live feed to connect or say it is not available', timeoutMs: 15_000 });
    if (live === 'connected') {
      check((await page.textContent('#live')).includes('Waiting for events'), 'a connected feed says nothing while it waits');
      const res = await fetch(server.url + '/events', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from('wk_demo:').toString('base64') },
        body: JSON.stringify({ type: 'add_to_cart', anonymous_id: 'browser-live', product_id: 'p-live-1' }),
      });
      check(res.status === 202, `POST /events answered ${res.status}`);
      await page.waitForFunction(() => document.querySelector('#live').textContent.includes('p-live-1'), null, { timeout: 15_000 });
    } else {
      check((await page.textContent('#live')).includes('no live feed'), 'the live feed does not say why it is missing');
    }
    const insightsAnswer = await fetch(server.url + '/api/insights?shop=demo', { headers: { Authorization: 'Bearer rk_demo' } });
    if (insightsAnswer.ok) {
      const { insights } = await insightsAnswer.json();
      for (const ins of insights.slice(0, 3)) {
        check((await page.textContent('#insights')).includes(ins.title), `insight ${ins.title} is not shown`);
      }
    } else {
      check(insightsAnswer.status === 404, `/api/insights answered ${insightsAnswer.status}`);
      check((await page.textContent('#insights')).includes('not available'), 'the insights section does not say why it is empty');
    }

    // Export: a download of the range's events, fetched with the key.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-export="ndjson"]')]);
    check(download.suggestedFilename().endsWith('.ndjson') && download.suggestedFilename().includes('demo'), `download named ${download.suggestedFilename()}`);
    const lines = readFileSync(await download.path(), 'utf8').split('\n').filter(Boolean);
    // Counted again: the live feed's check above stored one more event.
    const now = await api('/api/stats?' + query);
    check(lines.length === now.events, `the export has ${lines.length} lines, /api/stats counts ${now.events} events`);
    check(JSON.parse(lines[0]).shop_id === 'demo', 'the export is not the demo shop');

    const faint = await lowContrast(page);
    check(faint.length === 0, `text without enough contrast: ${faint.join('; ')}`);
    check(foreign.length === 0, `the page loaded from other hosts: ${foreign.join(', ')}`);
    check(errors.length === 0, `page errors: ${errors.join('; ')}`);

    // Back to events for the screenshot, at desktop width.
    await page.selectOption('#metric', 'events');
    await page.waitForFunction(() => (document.querySelector('#trend-chart svg') || {}).textContent?.includes('Events per day'));
    await page.screenshot({ path: join(shotDir, 'dashboard-desktop.png'), fullPage: true });

    // The key stays for the tab: a reload signs in again.
    await page.reload();
    check(await settled(page) === 'ready', 'a reload lost the sign-in');
    check(await page.inputValue('#from') === q.get('from'), 'a reload lost the range');

    // A range without events says how to send some.
    await page.goto(server.url + '/dashboard/#from=2025-01-01&to=2025-01-07&tz=Europe/Berlin');
    await page.reload();
    check(await settled(page) === 'empty', 'an empty range did not settle as "empty"');
    const notice = await page.textContent('#notice');
    check(notice.includes('No events between 2025-01-01 and 2025-01-07') && notice.includes(server.url + '/events') &&
      notice.includes('tracker.js'), `the empty state says ${JSON.stringify(notice)}`);
    check((await page.locator('#trend-chart svg').textContent()).includes('No data in this range'), 'the empty chart does not say so');
    check(await kpiText(page, 'events') === '0', 'an empty range shows events');

    // A key refused later (revoked, or changed) signs out and says so.
    await page.evaluate(() => sessionStorage.setItem('shoplytics.readKey', 'rk_revoked'));
    await page.reload();
    await page.waitForSelector('#signin-error:not([hidden])');
    check((await page.textContent('#signin-error')).includes('This key was refused'), 'a revoked key is not refused');
    await ctx.close();

    // The admin key gets a shop picker.
    const adm = await browser.newContext();
    const admPage = await adm.newPage();
    await signIn(admPage, server.url, 'ak_demo');
    check(await settled(admPage) === 'ready', 'the admin key did not get a dashboard');
    check(await admPage.isVisible('#shop-select'), 'no shop picker for the admin key');
    const options = await admPage.$$eval('#shop-select option', (os) => os.map((o) => o.value));
    check(JSON.stringify(options) === '["demo","other"]', `shop picker offers ${options}`);
    const adminEvents = await kpiText(admPage, 'events');
    const adminStats = await api('/api/stats?' + (await admPage.evaluate(() => document.body.dataset.query)), 'ak_demo');
    check(Number(plain(adminEvents)) === adminStats.events, `admin: events ${adminEvents} vs ${adminStats.events}`);
    // The other shop: its own zone, and nothing in it yet.
    await admPage.selectOption('#shop-select', 'other');
    await admPage.waitForFunction(() => (document.body.dataset.query || '').includes('shop=other'));
    check(await settled(admPage) === 'empty', 'the empty shop did not settle as "empty"');
    const otherQuery = new URLSearchParams(await admPage.evaluate(() => document.body.dataset.query));
    check(otherQuery.get('tz') === 'America/New_York', `the other shop is read in ${otherQuery.get('tz')}`);
    await adm.close();

    // The live feed's and the insights' forms as API.md gives them, where
    // this server has neither route yet: the page reads the stream with
    // its key and shows each event, and shows an insight's evidence.
    if (live !== 'connected' || !insightsAnswer.ok) {
      const c = await browser.newContext();
      const p = await c.newPage();
      const auth = [];
      if (live !== 'connected') {
        await p.route('**/api/live?*', (route) => {
          auth.push(route.request().headers().authorization);
          route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' },
            body: sse([{ type: 'purchase_completed', anonymous_id: 'a-sse', revenue: '12.00', currency: 'EUR', timestamp: new Date().toISOString() }]) });
        });
      }
      if (!insightsAnswer.ok) {
        await p.route('**/api/insights?*', (route) => route.fulfill({ status: 200, contentType: 'application/json',
          body: JSON.stringify({ insights: [{ id: 'i1', rule: 'conversion_drop', severity: 'warning', title: 'Conversion fell by a third',
            message: 'Sessions converted at 4.10% yesterday against 6.20% over the week before.', subject: null, resolved_at: null,
            evidence: { today_rate: 4.1, baseline_rate: 6.2, sessions: 812 }, created_at: new Date().toISOString() }] }) }));
      }
      await signIn(p, server.url, 'rk_demo');
      await settled(p);
      if (live !== 'connected') {
        await p.waitForFunction(() => document.querySelector('#live').textContent.includes('a-sse'), null, { timeout: 15_000 });
        check((await p.textContent('#live')).includes('purchase_completed'), 'the streamed event\'s type is not shown');
        check(auth[0] === 'Bearer rk_demo', `the live feed was asked with ${auth[0]}`);
      }
      if (!insightsAnswer.ok) {
        const text = await p.textContent('#insights');
        for (const want of ['Conversion fell by a third', 'warning', 'baseline rate', '6.2', 'sessions', '812']) {
          check(text.includes(want), `the insight does not show ${want}: ${text}`);
        }
      }
      await c.close();
    }

    // Phone width: one column, nothing wider than the screen.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    const phonePage = await phone.newPage();
    await signIn(phonePage, server.url, 'rk_demo');
    check(await settled(phonePage) === 'ready', 'the phone view did not settle');
    const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `the phone view is ${overflow}px wider than the screen`);
    const phoneFaint = await lowContrast(phonePage);
    check(phoneFaint.length === 0, `phone: text without enough contrast: ${phoneFaint.join('; ')}`);
    const trendBox = await phonePage.locator('#trend-chart svg').boundingBox();
    check(trendBox && trendBox.width <= 390 && trendBox.width > 300, `the phone trend chart is ${JSON.stringify(trendBox)}`);
    // The top: the range, the figures, the trend and the funnel.
    await phonePage.screenshot({ path: join(shotDir, 'dashboard-phone.png'), fullPage: true, clip: { x: 0, y: 0, width: 390, height: 844 * 2 } });
    await phone.close();
  } finally {
    await browser.close();
    await server.stop();
  }
}
