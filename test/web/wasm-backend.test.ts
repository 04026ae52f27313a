// The wasm backend in a browser page (headless Chromium): the page (test/web/wasm-page) trains a few
// batches of the `cnn` recipe on the js backend and on the wasm backend and must get the same batch
// losses. Served with COOP/COEP headers the page is cross-origin isolated: shared memory and 2
// threads (a Web Worker computes part of every split call). Served without them: copy mode on one
// thread. No console errors either way.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { build } from 'esbuild';
import { wasmBackendAvailable, wasmModuleUrls } from '../../src/backend/wasm/node.js';
import type { PageResult } from './wasm-page/page.js';
import { ROOT, SKIP_REASON, launchChromium, openPage, scratchDir, type Problems } from './setup.js';

const availability = wasmBackendAvailable();
const skip =
  SKIP_REASON || (availability.available ? false : `wasm module unavailable: ${availability.reason}`);

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

/** Serves `dir`; under /isolated/ with the headers that make a page cross-origin isolated. */
function serve(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const isolated = url.pathname.startsWith('/isolated/');
    const name = url.pathname.replace(/^\/(isolated|plain)\//, '') || 'index.html';
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name.replace(/[^\w.-]/g, '')));
    } catch {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': TYPES[extname(name)] ?? 'application/octet-stream',
      ...(isolated
        ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
        : {}),
    });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('wasm backend in a browser page', { skip }, () => {
  let dir: string;
  let server: Server;
  let browser: Browser;
  let base: string;

  before(async () => {
    dir = scratchDir();
    await build({
      entryPoints: {
        page: join(ROOT, 'test/web/wasm-page/page.ts'),
        worker: join(ROOT, 'test/web/wasm-page/worker.ts'),
      },
      outdir: dir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'warning',
      tsconfig: join(ROOT, 'tsconfig.web.json'), // the browser's default-backend table, as scripts/build-web.mjs
    });
    copyFileSync(wasmModuleUrls.shared, join(dir, 'kernels.shared.wasm'));
    copyFileSync(wasmModuleUrls.plain, join(dir, 'kernels.wasm'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>wasm backend</title>' +
        '<script type="module" src="page.js"></script>',
    );
    server = await serve(dir);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function runPage(path: string): Promise<{ result: PageResult; problems: Problems }> {
    const problems: Problems = [];
    const page = await openPage(browser, `${base}${path}`, problems);
    page.setDefaultTimeout(120_000);
    await page.waitForFunction(() => 'runWasmTest' in globalThis);
    const result = await page.evaluate(() =>
      (globalThis as unknown as { runWasmTest: () => Promise<PageResult> }).runWasmTest(),
    );
    await page.close();
    return { result, problems };
  }

  function assertSameLosses(result: PageResult): void {
    assert.equal(result.jsLosses.length, 4);
    assert.equal(result.wasmLosses.length, 4);
    result.wasmLosses.forEach((loss, i) => {
      const expected = result.jsLosses[i] as number;
      assert.ok(Number.isFinite(loss), `batch ${i}: loss ${loss}`);
      assert.ok(
        Math.abs(loss - expected) <= 1e-3 * Math.abs(expected),
        `batch ${i}: wasm ${loss}, js ${expected}`,
      );
    });
  }

  it('cross-origin isolated: shared memory, 2 threads, the same losses as js', async (t) => {
    const { result, problems } = await runPage('/isolated/index.html');
    t.diagnostic(
      `4 batches of 32: js ${result.jsSeconds.toFixed(2)} s, wasm ${result.wasmSeconds.toFixed(2)} s`,
    );
    assert.deepEqual(problems, []);
    assert.equal(result.isolated, true);
    assert.equal(result.shared, true);
    assert.equal(result.activeThreads, 2, 'the Web Worker started');
    assert.ok(result.workerTasks > 0, 'the Web Worker computed tasks');
    assertSameLosses(result);
  });

  it('not isolated: copy mode on one thread, the same losses as js', async (t) => {
    const { result, problems } = await runPage('/plain/index.html');
    t.diagnostic(
      `4 batches of 32: js ${result.jsSeconds.toFixed(2)} s, wasm ${result.wasmSeconds.toFixed(2)} s`,
    );
    assert.deepEqual(problems, []);
    assert.equal(result.isolated, false);
    assert.equal(result.shared, false);
    assert.equal(result.activeThreads, 1);
    assertSameLosses(result);
  });
});
