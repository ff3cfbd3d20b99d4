// Runs every tests/*.test.mjs in turn (each is a module whose default export
// is an async function) and exits non-zero when one fails. A name given on
// the command line runs only the tests whose file name contains it.
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'tests');
const only = process.argv[2] || '';
const files = readdirSync(dir).filter((f) => f.endsWith('.test.mjs') && f.includes(only)).sort();
let failed = 0;
for (const f of files) {
  const started = Date.now();
  try {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    await mod.default();
    console.log(`ok   ${f} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${f}: ${err && err.stack ? err.stack : err}`);
  }
}
if (files.length === 0) console.log('no browser tests');
process.exit(failed ? 1 : 0);
