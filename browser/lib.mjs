// Shared helpers for the browser tests: launch Debian's chromium through
// playwright-core, and start one of the repo's Go programs on a free port.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

// Flags that keep chromium quiet on a machine with no outside network.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// launch starts chromium with a fresh profile; close the browser it returns.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: chromiumArgs,
  });
}

// tempDir makes a directory removed when the process exits.
export function tempDir(prefix = 'shoplytics-browser-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// built holds the binaries startGo made in this process, by package.
const built = new Map();

// buildGo builds a package of the repo once per process and returns the
// binary's path.
function buildGo(pkg) {
  if (!built.has(pkg)) {
    const bin = join(tempDir('shoplytics-bin-'), pkg.replace(/[^A-Za-z0-9]+/g, '_'));
    built.set(pkg, new Promise((resolve, reject) => {
      const b = spawn('go', ['build', '-o', bin, pkg], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      b.stdout.on('data', (c) => { out += c; });
      b.stderr.on('data', (c) => { out += c; });
      b.on('exit', (code) => (code === 0 ? resolve(bin) : reject(new Error(`go build ${pkg} failed (${code}):\n${out}`))));
    }));
  }
  return built.get(pkg);
}

// startGo builds <pkg> and runs it with `-addr 127.0.0.1:0 ...args` from
// the repo root, and resolves with {url, proc, output()} once the program
// logs the address it listens on (a line holding "http://127.0.0.1:PORT").
// stop() sends SIGTERM and waits for the exit. The program runs as a
// binary, not under `go run`, which would die of the SIGTERM itself and
// leave the program running.
export async function startGo(pkg, args = [], { timeoutMs = 180_000, env = {} } = {}) {
  const bin = await buildGo(pkg);
  const proc = spawn(bin, ['-addr', '127.0.0.1:0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${pkg} did not start in ${timeoutMs} ms:\n${log}`)); }, timeoutMs);
    const onData = (chunk) => {
      log += chunk;
      const m = log.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${pkg} exited (${code}) before listening:\n${log}`)); });
  });
  // A test that fails before stop() must not leave the program behind.
  const kill = () => proc.kill('SIGKILL');
  process.on('exit', kill);
  return {
    url,
    proc,
    output: () => log,
    async stop() {
      process.off('exit', kill);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`${pkg} exited ${code} on SIGTERM:\n${log}`);
    },
  };
}

// check throws with message when cond is false.
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

// eventually retries fn until it returns a truthy value or timeoutMs passes.
export async function eventually(fn, { timeoutMs = 10_000, stepMs = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

// lowContrast lists the visible text of the page whose colour has less
// contrast with the background behind it than WCAG AA asks: 4.5:1, or 3:1
// for large text (24px, or 18.66px bold). The background is the nearest
// opaque one among the element and its ancestors (white if none).
export async function lowContrast(page) {
  return page.evaluate(() => {
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] === 1)) return c;
      }
      return [255, 255, 255];
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || el.closest('svg, [hidden], option')) continue;
      const st = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      if (st.visibility === 'hidden' || st.display === 'none' || box.width === 0 || box.height === 0) continue;
      const opacity = Number(st.opacity);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      const r = ratio(rgb(st.color).slice(0, 3), background(el));
      const need = large ? 3 : 4.5;
      if (r < need || opacity < 1) {
        out.push(`${JSON.stringify(n.textContent.trim().slice(0, 40))}: ${r.toFixed(2)}:1 (needs ${need}:1)${opacity < 1 ? ' at opacity ' + opacity : ''}`);
      }
    }
    return out;
  });
}

// exportEvents reads a shop's raw events through the read API
// (GET <base>/api/export, NDJSON) with a bearer read key.
export async function exportEvents(base, key, query = '') {
  const res = await fetch(`${base}/api/export?format=ndjson${query}`, { headers: { Authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

// readJSON GETs a read route with a bearer key and returns its JSON.
export async function readJSON(url, key) {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body}`);
  return JSON.parse(body);
}

// instrumentSends makes every page of context note the tracker's sends
// in sessionStorage (which outlives the page within its tab and origin):
// "beacon" for navigator.sendBeacon, "fetch" for fetch, with the events
// of each body. A browser's keepalive and beacon requests leave from the
// browser process, where the tool's request events do not see them all.
export async function instrumentSends(context) {
  await context.addInitScript(() => {
    const note = (type, url, body) => {
      if (!/\/events(\?|$)/.test(String(url))) return;
      let events = [];
      try { events = JSON.parse(body).batch || []; } catch (e) { /* not JSON */ }
      const sends = JSON.parse(sessionStorage.getItem('probe_sends') || '[]');
      sends.push({ type, url: String(url), ids: events.map((e) => e.id), types: events.map((e) => e.type), page: location.pathname });
      sessionStorage.setItem('probe_sends', JSON.stringify(sends));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      // The tracker sends a Blob; its text is read synchronously from a
      // copy made before, so nothing here delays the beacon.
      note('beacon', url, window.__probeLastBody || '');
      return beacon(url, data);
    };
    const origBlob = window.Blob;
    window.Blob = function (parts, opts) {
      if (parts && typeof parts[0] === 'string') window.__probeLastBody = parts[0];
      return new origBlob(parts, opts);
    };
    window.Blob.prototype = origBlob.prototype;
    const f = window.fetch.bind(window);
    window.fetch = (url, init) => {
      note('fetch', url, init && typeof init.body === 'string' ? init.body : '');
      return f(url, init);
    };
  });
}

// sends returns what instrumentSends noted in the page's tab.
export async function sends(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('probe_sends') || '[]'));
}

// count returns how many of items match pred.
export function count(items, pred) {
  return items.filter(pred).length;
}
