#!/usr/bin/env node
// Builds the web app that `mnist-lab serve` serves: esbuild bundles each entry into one minified
// ES2022 module: web/src/main.ts (the main page, the engine's browser entry and the chart.js pieces
// it registers) as app.js, the Teach page (web/src/teach/main.ts) as teach.js, its training worker
// as teach-worker.js and the wasm backend's thread worker as wasm-worker.js. It copies the pages,
// style.css and favicon.ico next to them (the icon also keeps browsers' automatic /favicon.ico
// request, e.g. from a run's report page, from failing) and the wasm kernels (wasm/build/*.wasm)
// when they are built; without them the Teach page trains on the js backend and says so.
//   node scripts/build-web.mjs                 -> dist/web/{index.html, teach.html, style.css, favicon.ico,
//                                                 app.js, teach.js, teach-worker.js, wasm-worker.js (+ .map),
//                                                 kernels.wasm, kernels.shared.wasm}
//   node scripts/build-web.mjs --out DIR       -> the same files in DIR (tests build into a temp dir)
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
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
  entryPoints: {
    app: join(root, 'web', 'src', 'main.ts'),
    teach: join(root, 'web', 'src', 'teach', 'main.ts'),
    'teach-worker': join(root, 'web', 'src', 'teach', 'worker.ts'),
    'wasm-worker': join(root, 'web', 'src', 'wasm-worker.ts'),
  },
  outdir: outDir,
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
for (const name of ['index.html', 'teach.html', 'style.css', 'favicon.ico'])
  copyFileSync(join(root, 'web', name), join(outDir, name));
for (const name of ['kernels.wasm', 'kernels.shared.wasm']) {
  const built = join(root, 'wasm', 'build', name);
  if (existsSync(built)) copyFileSync(built, join(outDir, name));
}
const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .map(([file, output]) => `${file.split('/').pop()} ${(output.bytes / 1024).toFixed(0)} KiB`);
console.log(`build-web: ${outDir} (${sizes.join(', ')}, ${Math.round(Date.now() - started)} ms)`);
