// The JSON API and static serving of `mnist-lab serve` against a temp runs directory with one real
// run: listing (a non-run directory skipped, a corrupt run listed as failed), detail, model bytes,
// report, 404s and path traversal, predictions from PNG pictures and from pixels, body limits and
// content types, /api/train validation, a port in use, and the CLI command's start and clean stop.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunDirectory } from '../../src/runs/node/directory.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { startServer, type RunDetail, type RunSummary, type RunningServer } from '../../src/server/index.js';
import { ModelCache } from '../../src/server/predict.js';
import {
  call,
  cli,
  errorOf,
  spawnServe,
  testDigits,
  trainedRuns,
  type Digit,
  type RunsFixture,
} from './helpers.js';

let fixture: RunsFixture;
let server: RunningServer;
let webRoot = '';
let digits: Digit[] = [];

before(async () => {
  fixture = await trainedRuns();
  mkdirSync(join(fixture.runsDir, 'notes')); // not a run: no config.json, no metrics.jsonl
  mkdirSync(join(fixture.runsDir, 'broken'));
  writeFileSync(join(fixture.runsDir, 'broken', 'config.json'), '{"format": "mnist-lab/run@1", trunc');
  webRoot = mkdtempSync(join(tmpdir(), 'mnist-lab-web-'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>mnist-lab</title>');
  writeFileSync(join(webRoot, 'app.js'), 'export {};');
  writeFileSync(join(webRoot, 'style.css'), 'body {}');
  writeFileSync(join(webRoot, '.env'), 'SECRET=1');
  server = await startServer({ port: 0, runsDir: fixture.runsDir, webRoot, quiet: true });
  digits = await testDigits(40);
});

after(async () => {
  await server?.close();
  fixture?.remove();
  if (webRoot) rmSync(webRoot, { recursive: true, force: true });
});

describe('serve: runs', () => {
  it('GET /api/health names the version and backend', async () => {
    const reply = await call(server.url, '/api/health');
    assert.equal(reply.status, 200);
    const health = reply.json() as { ok: boolean; version: string; backend: string };
    assert.equal(health.ok, true);
    assert.match(health.version, /^\d+\.\d+\.\d+/);
    assert.ok(['js', 'native'].includes(health.backend));
  });

  it('GET /api/runs lists the run, skips a non-run directory and lists a corrupt one as failed', async () => {
    const reply = await call(server.url, '/api/runs');
    assert.equal(reply.status, 200);
    const { runs } = reply.json() as { runs: RunSummary[] };
    assert.deepEqual(runs.map((r) => r.id).sort(), ['broken', fixture.runId]);
    const run = runs.find((r) => r.id === fixture.runId) as RunSummary;
    assert.equal(run.model, 'fast');
    assert.equal(run.dataset, 'mnist');
    assert.equal(run.classes, null);
    assert.equal(run.status, 'finished');
    assert.equal(run.epochs, 1);
    assert.ok(
      run.bestAccuracy !== null && run.bestAccuracy > 0.85 && run.bestAccuracy <= 1,
      String(run.bestAccuracy),
    );
    assert.equal(run.hasModel, true);
    assert.equal(run.hasReport, true);
    assert.ok(!Number.isNaN(Date.parse(run.createdAt)));
    const broken = runs.find((r) => r.id === 'broken') as RunSummary;
    assert.equal(broken.status, 'failed');
    assert.equal(broken.hasModel, false);
  });

  it('GET /api/runs/:id gives the config, per-epoch history, class names and normalisation', async () => {
    const reply = await call(server.url, `/api/runs/${fixture.runId}`);
    assert.equal(reply.status, 200);
    const detail = reply.json() as RunDetail;
    assert.equal(detail.run.id, fixture.runId);
    assert.equal(detail.config['format'], 'mnist-lab/run@1');
    assert.equal(detail.history.length, 1);
    assert.equal(detail.history[0]?.epoch, 0);
    assert.ok((detail.history[0]?.accuracy ?? 0) > 0.5);
    assert.deepEqual(detail.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // The fast model carries its standardisation (a Normalization layer): nothing for the page to restore.
    assert.equal(detail.normalize, null);
  });

  it('GET /api/runs/:id/model sends the latest model.safetensors, which rebuilds the model', async () => {
    const reply = await call(server.url, `/api/runs/${fixture.runId}/model`);
    assert.equal(reply.status, 200);
    assert.equal(reply.type, 'application/octet-stream');
    const latest = readFileSync(join(fixture.runsDir, fixture.runId, 'latest'), 'utf8').trim();
    const onDisk = readFileSync(join(fixture.runsDir, fixture.runId, latest, 'model.safetensors'));
    assert.ok(reply.body.equals(onDisk));
    assert.equal(modelFromBytes(new Uint8Array(reply.body)).countParams(), 215194);
  });

  it('GET /api/runs/:id/report sends report.html; 404 JSON when there is none', async () => {
    const reply = await call(server.url, `/api/runs/${fixture.runId}/report`);
    assert.equal(reply.status, 200);
    assert.match(reply.type, /^text\/html/);
    assert.match(reply.body.toString('utf8'), /<html/i);
    const missing = await call(server.url, '/api/runs/broken/report');
    assert.equal(missing.status, 404);
    assert.match(errorOf(missing), /report\.html/);
  });

  it('answers 404 JSON for unknown runs and API paths, and refuses path traversal', async () => {
    for (const path of [
      '/api/runs/nope',
      '/api/runs/nope/model',
      '/api/runs/broken/model',
      '/api/nope',
      '/api/runs/fast-small/nope/deeper',
      '/api/runs/..%2F..%2Fetc/model',
      '/api/runs/%2e%2e/report',
      `/api/runs/${fixture.runId}/report/..%2Fconfig.json`,
      `/api/runs/${fixture.runId}/report/%2e%2e%2f%2e%2e%2fpackage.json`,
    ]) {
      const reply = await call(server.url, path);
      assert.equal(reply.status, 404, path);
      assert.ok(errorOf(reply).length > 0);
    }
    const wrongMethod = await call(server.url, '/api/runs', { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
  });
});

describe('serve: static files', () => {
  it('serves index.html for / and assets with their content types', async () => {
    const index = await call(server.url, '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.equal((await call(server.url, '/app.js')).type, 'text/javascript; charset=utf-8');
    assert.equal((await call(server.url, '/style.css')).type, 'text/css; charset=utf-8');
  });

  it('refuses dotfiles, traversal and unknown files', async () => {
    for (const path of [
      '/.env',
      '/..%2fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/nope.js',
      '/..%5cpackage.json',
    ]) {
      const reply = await call(server.url, path);
      assert.ok(reply.status === 404 || reply.status === 403, `${path}: ${reply.status}`);
      assert.ok(!reply.body.toString('utf8').includes('SECRET'));
    }
  });

  it('answers / with 503 saying how to build when the web app is missing; the API still works', async () => {
    const bare = await startServer({
      port: 0,
      runsDir: fixture.runsDir,
      webRoot: join(webRoot, 'none'),
      quiet: true,
    });
    try {
      const reply = await call(bare.url, '/');
      assert.equal(reply.status, 503);
      assert.match(reply.body.toString('utf8'), /web app not built: run npm run build/);
      assert.equal((await call(bare.url, '/api/health')).status, 200);
    } finally {
      await bare.close();
    }
  });
});

describe('serve: predict', () => {
  it('classifies MNIST test digits sent as 784 pixels', async () => {
    let correct = 0;
    for (const digit of digits) {
      const reply = await call(server.url, '/api/predict', {
        type: 'application/json',
        body: JSON.stringify({ pixels: Array.from(digit.pixels) }),
      });
      assert.equal(reply.status, 200, reply.body.toString('utf8'));
      const result = reply.json() as {
        run: string;
        label: number;
        name: string;
        probabilities: number[];
        top: { label: number }[];
        image: number[];
      };
      assert.equal(result.run, fixture.runId);
      assert.equal(result.probabilities.length, 10);
      assert.ok(Math.abs(result.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      assert.equal(result.top[0]?.label, result.label);
      assert.equal(result.name, String(result.label));
      assert.deepEqual(result.image, Array.from(digit.pixels));
      if (result.label === digit.label) correct++;
    }
    assert.ok(correct >= 0.85 * digits.length, `${correct} of ${digits.length} correct`);
  });

  it('classifies the same digits drawn dark on white paper, sent as PNG (preprocessed like predict)', async () => {
    let correct = 0;
    for (const digit of digits) {
      const reply = await call(server.url, `/api/predict?run=${fixture.runId}`, {
        type: 'image/png',
        body: digit.png,
      });
      assert.equal(reply.status, 200, reply.body.toString('utf8'));
      const result = reply.json() as { label: number; image: number[] };
      assert.equal(result.image.length, 784);
      assert.ok(Math.max(...result.image) === 255, 'the preprocessed image is stretched to 0..255');
      if (result.label === digit.label) correct++;
    }
    assert.ok(correct >= 0.85 * digits.length, `${correct} of ${digits.length} correct`);
  });

  it("reloads a run's model when its latest pointer moves", async () => {
    const runDir = join(fixture.runsDir, fixture.runId);
    const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
    const models = new ModelCache();
    const run = RunDirectory.at(runDir);
    const first = await models.get(run, fixture.runId);
    assert.equal(await models.get(run, fixture.runId), first, 'cached');
    cpSync(join(runDir, latest), join(runDir, 'checkpoints', '999999'), { recursive: true });
    writeFileSync(join(runDir, 'latest'), 'checkpoints/999999\n');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the pointer is rechecked each second
      const second = await models.get(run, fixture.runId);
      assert.notEqual(second.model, first.model);
      assert.match(second.key, /^checkpoints\/999999\/model\.safetensors\|/);
    } finally {
      writeFileSync(join(runDir, 'latest'), `${latest}\n`);
      rmSync(join(runDir, 'checkpoints', '999999'), { recursive: true });
    }
  });

  it('refuses bad requests with 4xx JSON errors naming the problem', async () => {
    const cases: [string, Parameters<typeof call>[2], number, RegExp][] = [
      ['/api/predict', { type: 'application/json', body: '{"pixels": [1, 2' }, 400, /not valid JSON/],
      ['/api/predict', { type: 'application/json', body: '{"pixels": [1, 2, 3]}' }, 400, /784/],
      ['/api/predict', { type: 'application/json', body: '{"image": []}' }, 400, /pixels/],
      [
        '/api/predict',
        { type: 'application/json', body: JSON.stringify({ pixels: Array(784).fill(256) }) },
        400,
        /pixels\[0\]/,
      ],
      ['/api/predict', { type: 'image/png', body: new Uint8Array([1, 2, 3, 4]) }, 400, /PNG or JPEG/],
      ['/api/predict', { type: 'image/png', body: digits[0]?.png.subarray(0, 60) as Uint8Array }, 400, /PNG/],
      ['/api/predict', { type: 'text/plain', body: 'seven' }, 415, /image\/png/],
      ['/api/predict', { body: 'seven' }, 415, /image\/png/],
      ['/api/predict', { type: 'image/png', body: new Uint8Array((16 << 20) + 1) }, 413, /16 MiB limit/],
      [
        '/api/predict?run=nope',
        { type: 'application/json', body: JSON.stringify({ pixels: Array(784).fill(0) }) },
        404,
        /no run 'nope'/,
      ],
    ];
    for (const [path, init, status, message] of cases) {
      const reply = await call(server.url, path, init);
      assert.equal(reply.status, status, `${path} ${init?.type}: ${reply.body.toString('utf8')}`);
      assert.match(errorOf(reply), message);
    }
  });
});

describe('serve: train validation', () => {
  it('refuses bad /api/train bodies with 400 naming the field, and other content types with 415', async () => {
    const cases: [unknown, RegExp][] = [
      [{ model: 'bert' }, /^model: expected one of/],
      [{ model: 'fast', epochs: 0 }, /^epochs: expected a whole number from 1 to 50/],
      [{ model: 'fast', epochs: 2.5 }, /^epochs/],
      [{ model: 'fast', limit: 60001 }, /^limit/],
      [{ model: 'fast', seed: -1 }, /^seed/],
      [{ model: 'fast', dataset: 'cifar' }, /^dataset/],
      [{ model: 'fast', rm: '-rf' }, /unknown field 'rm'/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const reply = await call(server.url, '/api/train', {
        type: 'application/json',
        body: JSON.stringify(body),
      });
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match(errorOf(reply), message);
    }
    const wrongType = await call(server.url, '/api/train', { type: 'text/plain', body: '{"model":"fast"}' });
    assert.equal(wrongType.status, 415);
  });
});

describe('serve: startup', () => {
  it('a port in use fails with one line naming the port and --port', async () => {
    await assert.rejects(
      startServer({ port: server.port, runsDir: fixture.runsDir, quiet: true }),
      new RegExp(`port ${server.port} .*already in use.*--port`),
    );
  });

  it('mnist-lab serve prints its address, answers, and exits 0 on SIGTERM', async () => {
    const serve = await spawnServe(['--port', '0', '--runs', fixture.runsDir, '--backend', 'js']);
    const line = serve.lines[0] as string;
    const match = /^mnist-lab serve: (http:\/\/127\.0\.0\.1:\d+) \(runs: .+, backend: js\)$/.exec(line);
    assert.ok(match, line);
    assert.equal(serve.lines.length, 1, 'a loopback bind prints one address and no token');
    assert.equal((await call(match[1] as string, '/api/health')).status, 200);
    assert.equal(await serve.stop(), 0, serve.stderr());
  });

  it('mnist-lab serve refuses a bad --port with one line', async () => {
    await assert.rejects(
      cli(['serve', '--port', '70000']),
      /--port expects a whole number from 0 to 65535, found '70000'/,
    );
  });
});
