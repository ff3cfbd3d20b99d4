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

// startGo builds and runs `go run <pkg> -addr 127.0.0.1:0 ...args` from the
// repo root and resolves with {url, proc, output()} once the program logs
// the address it listens on (a line holding "http://127.0.0.1:PORT"). stop()
// sends SIGTERM and waits for the exit.
export async function startGo(pkg, args = [], { timeoutMs = 180_000, env = {} } = {}) {
  const proc = spawn('go', ['run', pkg, '-addr', '127.0.0.1:0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${pkg} did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (chunk) => {
      log += chunk;
      const m = log.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${pkg} exited (${code}) before listening:\n${log}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return {
    url,
    proc,
    output: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
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
