#!/usr/bin/env node
// Builds the web app that `mnist-lab serve` serves: esbuild bundles web/src/main.ts (the page, the
// engine's browser entry and the chart.js pieces it registers) into one minified ES2022 module, and
// copies index.html, style.css and favicon.ico next to it (the icon also keeps browsers' automatic
// /favicon.ico request, e.g. from a run's report page, from failing).
//   node scripts/build-web.mjs                 -> dist/web/{index.html, style.css, favicon.ico, app.js(.map)}
//   node scripts/build-web.mjs --out DIR       -> the same files in DIR (tests build into a temp dir)
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function outDirFromArgs(args) {
  const at = args.indexOf('--out');
  if (at === -1) return join(root, 'dist', 'web');
  const value = args[at + 1];
  if (!value || value.startsWith('-')) {
    console.error('build-web: --out expects a directory, e.g. --out dist/web');
    process.exit(2);
  }
  return resolve(value);
}

const outDir = outDirFromArgs(process.argv.slice(2));
mkdirSync(outDir, { recursive: true });
const started = Date.now();
const result = await build({
  entryPoints: [join(root, 'web', 'src', 'main.ts')],
  outfile: join(outDir, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // The browser's default-backend table for #default-backends (tsconfig.json maps it to Node's).
  tsconfig: join(root, 'tsconfig.web.json'),
  target: 'es2022',
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
}).catch(() => process.exit(1)); // esbuild has printed the errors
for (const name of ['index.html', 'style.css', 'favicon.ico'])
  copyFileSync(join(root, 'web', name), join(outDir, name));
const bytes =
  result.metafile.outputs[Object.keys(result.metafile.outputs).find((f) => f.endsWith('app.js'))].bytes;
console.log(
  `build-web: ${outDir} (app.js ${(bytes / 1024).toFixed(0)} KiB, ${Math.round(Date.now() - started)} ms)`,
);
