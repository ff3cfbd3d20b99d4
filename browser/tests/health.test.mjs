// The harness itself: the example server starts, and chromium loads a page
// from it.
import { launch, startGo, check } from '../lib.mjs';

export default async function () {
  const server = await startGo('./examples/server', ['-store', 'memory://', '-spool', 'off']);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const res = await page.goto(server.url + '/health');
    check(res.status() === 200, `/health answered ${res.status()}`);
    const body = JSON.parse(await page.textContent('body'));
    check(body.status === 'ok', `/health said ${JSON.stringify(body)}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}
