// Do-Not-Track (and Global Privacy Control) and optOut(): the tracker
// stores no id and sends nothing. A visitor who opts out mid-visit sends
// nothing from then on, on later pages too, until optIn().
import { launch, startGo, check, eventually, exportEvents, instrumentSends, sends } from '../lib.mjs';

// visit browses the shop: the list, a product, add to cart, the cart,
// then leaves (page hide sends whatever is queued).
async function visit(page, base) {
  await page.goto(base + '/');
  await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
  await page.click('.card a[href="/products/p-shoes-2"]');
  await page.waitForURL('**/products/p-shoes-2');
  await page.click('#add-to-cart');
  await page.waitForURL('**/cart');
  await page.evaluate(() => shoplytics.flush());
}

export default async function () {
  const shop = await startGo('./examples/shop', ['-store', 'memory://']);
  const api = shop.url + '/analytics';
  const browser = await launch();
  try {
    for (const [name, init] of [
      ['Do-Not-Track', () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })],
      ['Global Privacy Control', () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })],
    ]) {
      const context = await browser.newContext();
      await context.addInitScript(init);
      await instrumentSends(context);
      const page = await context.newPage();
      await visit(page, shop.url);
      const sent = await sends(page);
      check(sent.length === 0, `${name}: nothing sent, got ${JSON.stringify(sent)}`);
      const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('shoplytics_')));
      check(stored.length === 0, `${name}: no id stored, got ${stored}`);
      check(await page.evaluate(() => shoplytics.anonymousId()) === null, `${name}: no anonymous id`);
      await context.close();
    }

    // optOut in the middle of a visit, with the shop's footer button.
    const context = await browser.newContext();
    await instrumentSends(context);
    const page = await context.newPage();
    await page.goto(shop.url + '/');
    await page.waitForFunction(() => window.shoplytics && window.shoplytics.loaded);
    await page.evaluate(() => shoplytics.flush());
    const anon = await page.evaluate(() => shoplytics.anonymousId());
    await eventually(async () => (await exportEvents(api, 'rk_demo')).some((e) => e.anonymous_id === anon),
      { what: 'the events before the opt-out' });
    const sentBefore = (await sends(page)).length;
    await page.evaluate(() => shoplytics.track('queued_before_opt_out')); // dropped with the queue
    await page.click('#opt-out');
    await visit(page, shop.url);
    const sentAfter = await sends(page);
    check(sentAfter.length === sentBefore, `nothing sent after optOut: ${JSON.stringify(sentAfter.slice(sentBefore))}`);

    // optIn: tracked again, as the same visitor.
    await page.evaluate(() => { shoplytics.optIn(); shoplytics.track('opted_in_again'); shoplytics.flush(); });
    const evs = await eventually(async () => {
      const all = await exportEvents(api, 'rk_demo');
      return all.some((e) => e.type === 'opted_in_again') && all;
    }, { what: 'the event after optIn' });
    check(evs.every((e) => e.anonymous_id === anon), 'only the opted-out visitor\'s events are stored, none of the Do-Not-Track visits');
    for (const t of ['queued_before_opt_out', 'product_viewed', 'add_to_cart', 'cart_viewed']) {
      check(!evs.some((e) => e.type === t), `no ${t} after the opt-out: ${evs.map((e) => e.type)}`);
    }
  } finally {
    await browser.close();
    await shop.stop();
  }
}
