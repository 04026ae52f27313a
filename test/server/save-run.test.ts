// POST /api/runs (a model taught in the page saved as a run) and the cross-origin isolation headers
// of the app's files: a saved run is listed, detailed with its own class names, served and predicts
// with them; its files are written whole and its folder never reuses another run's; bad bodies get
// 4xx one-line errors naming the field; the Origin and token rules of every state change apply.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-web';
import { dense, flatten, sequential, type Model } from '../../src/index.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { startServer, type RunDetail, type RunSummary, type RunningServer } from '../../src/server/index.js';
import { saveRun, parseSaveRunRequest } from '../../src/server/saved-runs.js';
import { call, errorOf, rawCall } from './helpers.js';

// ONNX Runtime's WebAssembly build: it runs in Node and installs without downloading anything.
ort.env.wasm.numThreads = 1;

let root = '';
let runsDir = '';
let webRoot = '';
let server: RunningServer;

/** A small model of 28x28x1 images with `classes` outputs, built (random weights). */
function smallModel(classes: number): Model {
  const model = sequential({
    layers: [flatten(), dense({ units: 16, activation: 'relu' }), dense({ units: classes })],
    inputShape: [28, 28, 1],
  });
  model.buildFor([28, 28, 1]);
  return model;
}

const CLASS_NAMES = ['+', '-', '×'];

function saveBody(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: Buffer.from(encodeModel(smallModel(3))).toString('base64'),
    classNames: CLASS_NAMES,
    method: 'head',
    base: 'fast-small',
    training: { epochs: 30, seconds: 0.8, examples: 24 },
    heldOut: { count: 6, accuracyBefore: 0, accuracyAfter: 1 },
    ...overrides,
  });
}

const post = (body: string, type = 'application/json') =>
  call(server.url, '/api/runs', { method: 'POST', body, type });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'mnist-lab-save-'));
  runsDir = join(root, 'runs');
  webRoot = join(root, 'web');
  mkdirSync(webRoot);
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>mnist-lab</title>');
  writeFileSync(join(webRoot, 'app.js'), 'export {};');
  writeFileSync(join(webRoot, 'kernels.wasm'), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  server = await startServer({ port: 0, runsDir, webRoot, quiet: true });
});

after(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('serve: POST /api/runs', () => {
  it('saves the model as a run that is listed, detailed with its class names, served and predicts', async () => {
    const sent = JSON.parse(saveBody()) as { model: string };
    const reply = await post(JSON.stringify(sent));
    assert.equal(reply.status, 201, reply.body.toString());
    const { id, run } = reply.json() as { id: string; run: RunSummary };
    assert.match(id, /^taught-fast-small-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
    assert.equal(run.status, 'finished');
    assert.equal(run.hasModel, true);
    assert.equal(run.dataset, 'drawings');

    const listed = (await call(server.url, '/api/runs')).json() as { runs: RunSummary[] };
    assert.deepEqual(
      listed.runs.map((r) => r.id),
      [id],
    );
    const detail = (await call(server.url, `/api/runs/${id}`)).json() as RunDetail;
    assert.deepEqual(detail.classNames, CLASS_NAMES);
    const finetune = (detail.config['runConfig'] as { finetune: Record<string, unknown> }).finetune;
    assert.equal(finetune['method'], 'head');
    assert.equal(finetune['base'], 'fast-small');
    assert.deepEqual(finetune['heldOut'], { count: 6, accuracyBefore: 0, accuracyAfter: 1 });

    const model = await call(server.url, `/api/runs/${id}/model`);
    assert.equal(model.status, 200);
    assert.deepEqual(model.body, Buffer.from(sent.model, 'base64'), 'the bytes sent are the bytes saved');
    assert.equal(modelFromBytes(new Uint8Array(model.body)).countParams(), smallModel(3).countParams());

    const predict = await call(server.url, `/api/predict?run=${id}`, {
      body: JSON.stringify({ pixels: Array(784).fill(0).fill(255, 300, 340) }),
      type: 'application/json',
    });
    assert.equal(predict.status, 200, predict.body.toString());
    const answer = predict.json() as { name: string; top: { name: string }[] };
    assert.ok(CLASS_NAMES.includes(answer.name), `answered '${answer.name}'`);
    assert.deepEqual(answer.top.map((p) => p.name).sort(), [...CLASS_NAMES].sort());

    // ONNX, exported by the server (the exporter needs Node): ONNX Runtime runs it with 3 outputs.
    const onnx = await call(server.url, `/api/runs/${id}/onnx`);
    assert.equal(onnx.status, 200);
    assert.match(onnx.header('content-disposition') ?? '', new RegExp(`filename="${id}.onnx"`));
    const session = await ort.InferenceSession.create(new Uint8Array(onnx.body), { intraOpNumThreads: 1 });
    const output = await session.run({
      input: new ort.Tensor('float32', new Float32Array(784), [1, 28, 28, 1]),
    });
    assert.deepEqual((output['output'] as ort.Tensor).dims, [1, 3]);
    await session.release();
    assert.equal((await call(server.url, '/api/runs/nope/onnx')).status, 404);

    // The run's folder holds the two files, whole; no lock or temp file is left behind.
    assert.deepEqual(readdirSync(join(runsDir, id)).sort(), ['config.json', 'model.safetensors']);
  });

  it('never writes into a folder that is taken: a second save in the same second gets its own', async () => {
    const now = new Date('2026-12-03T07:00:00Z');
    const request = parseSaveRunRequest(JSON.parse(saveBody({ base: 'same' })));
    const taken = join(runsDir, 'taught-same-2026-12-03_07-00-00');
    mkdirSync(taken, { recursive: true });
    writeFileSync(join(taken, 'notes.txt'), 'not a run, and not ours');
    const first = await saveRun(runsDir, request, now);
    const second = await saveRun(runsDir, request, now);
    assert.equal(first, 'taught-same-2026-12-03_07-00-00-2');
    assert.equal(second, 'taught-same-2026-12-03_07-00-00-3');
    assert.equal(readFileSync(join(taken, 'notes.txt'), 'utf8'), 'not a run, and not ours');
    assert.deepEqual(readdirSync(taken), ['notes.txt']);
  });

  it('refuses bad bodies with 4xx one-line errors naming the problem, writing nothing', async () => {
    const before = readdirSync(runsDir).sort();
    const cases: [string, number, RegExp, string?][] = [
      ['{"model": ', 400, /not valid JSON/],
      ['[1, 2]', 400, /expected a JSON object/],
      [saveBody({ extra: 1 }), 400, /unknown field 'extra'/],
      [saveBody({ model: 'not base64!' }), 400, /'model' must be the model.safetensors bytes in base64/],
      [
        saveBody({ model: Buffer.from('hello').toString('base64') }),
        400,
        /'model' is not a model this server can load/,
      ],
      [saveBody({ classNames: ['a', 'b'] }), 400, /'model' has 3 outputs but 2 classNames were given/],
      [saveBody({ classNames: ['a', 'a', 'b'] }), 400, /'classNames' has a name twice/],
      [saveBody({ classNames: ['a', '', 'b'] }), 400, /'classNames' must be 2 to 64 names/],
      [saveBody({ classNames: ['a', 'b\n', 'c'] }), 400, /'classNames' must be/],
      [saveBody({ method: 'full' }), 400, /'method' must be one of head, lora, found "full"/],
      [saveBody({ base: '../escape' }), 400, /'base' must be up to 60 letters/],
      [
        saveBody({ heldOut: { count: 6, accuracyBefore: 0, accuracyAfter: 2 } }),
        400,
        /'heldOut.accuracyAfter'/,
      ],
      [saveBody(), 415, /expects application\/json, found 'text\/plain'/, 'text/plain'],
    ];
    for (const [body, status, pattern, type] of cases) {
      const reply = await post(body, type);
      assert.equal(reply.status, status, `${body.slice(0, 80)}: ${reply.body.toString().slice(0, 200)}`);
      assert.match(errorOf(reply), pattern);
    }
    assert.deepEqual(readdirSync(runsDir).sort(), before);
  });

  it('refuses a body over the limit with 413, and state changes from other origins with 403', async () => {
    const small = await startServer({
      port: 0,
      runsDir: join(root, 'small-runs'),
      webRoot,
      quiet: true,
      limits: { saveBodyBytes: 1024 },
    });
    try {
      const reply = await call(small.url, '/api/runs', { body: saveBody(), type: 'application/json' });
      assert.equal(reply.status, 413);
      assert.match(
        errorOf(reply),
        /larger than the 1 KiB limit; the model is too large to save from the page/,
      );
    } finally {
      await small.close();
    }
    const foreign = await rawCall(server.port, '/api/runs', {
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: saveBody(),
    });
    assert.equal(foreign.status, 403);
    assert.match(errorOf(foreign), /only pages served by this server may change its state/);
    const own = await rawCall(server.port, '/api/runs', {
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${server.port}` },
      body: saveBody({ name: 'from-the-page' }),
    });
    assert.equal(own.status, 201);
    assert.ok(existsSync(join(runsDir, (own.json() as { id: string }).id, 'model.safetensors')));
  });

  it('needs the access token when the server has one', async () => {
    const locked = await startServer({
      port: 0,
      runsDir: join(root, 'locked-runs'),
      webRoot,
      quiet: true,
      token: 'secret-token',
    });
    try {
      const without = await call(locked.url, '/api/runs', { body: saveBody(), type: 'application/json' });
      assert.equal(without.status, 401);
      const withToken = await call(locked.url, '/api/runs', {
        body: saveBody(),
        type: 'application/json',
        headers: { authorization: 'Bearer secret-token' },
      });
      assert.equal(withToken.status, 201);
    } finally {
      await locked.close();
    }
  });
});

describe('serve: cross-origin isolation', () => {
  it("sends COOP, COEP and CORP with the app's pages, scripts and wasm modules", async () => {
    for (const path of ['/', '/index.html', '/app.js', '/kernels.wasm']) {
      const reply = await call(server.url, path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.header('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(reply.header('cross-origin-embedder-policy'), 'require-corp', path);
      assert.equal(reply.header('cross-origin-resource-policy'), 'same-origin', path);
    }
    assert.equal((await call(server.url, '/kernels.wasm')).type, 'application/wasm');
  });

  it("sends them with a run's report too: the isolated page shows it in an iframe", async () => {
    const run = join(runsDir, 'with-report');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'config.json'), JSON.stringify({ format: 'mnist-lab/run@1' }));
    writeFileSync(join(run, 'report.html'), '<!doctype html><title>report</title>');
    const reply = await call(server.url, '/api/runs/with-report/report');
    assert.equal(reply.status, 200);
    assert.equal(reply.header('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(reply.header('cross-origin-resource-policy'), 'same-origin');
  });
});
