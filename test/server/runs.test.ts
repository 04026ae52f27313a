// The server's run-reading side (issue 14): symbolic links under --runs are not served, a corrupt
// newest run never turns a prediction into a 500 with server paths, an imported run has a model,
// status follows the run's lock ('running', 'evaluating'), bestAccuracy is a validation or test
// accuracy (never a training one), and the summary cache rereads only what changed (issue 15).
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { RunDirectory } from '../../src/runs/node/directory.js';
import type { EvaluationRecord } from '../../src/runs/types.js';
import { startServer, type RunDetail, type RunSummary, type RunningServer } from '../../src/server/index.js';
import { RunCatalog } from '../../src/server/runs.js';
import { deadPid, liveProcess, randomDigits, scratch, tinyModelFile, tinyRun } from '../runs/helpers.js';
import { call, errorOf } from './helpers.js';

const root = scratch('serve-runs');
const runsDir = join(root.path, 'runs');
const SECRET = 'top secret outside the runs directory';
let server: RunningServer;
let holder: ReturnType<typeof liveProcess>;

/** Sets a run's createdAt (the listing's order: newest first). */
function createdAt(id: string, iso: string): void {
  const path = join(runsDir, id, 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...config, createdAt: iso }));
}

function lock(id: string, pid: number): void {
  const record = { pid, host: hostname(), since: new Date().toISOString(), command: 'mnist-lab train' };
  writeFileSync(join(runsDir, id, 'run.lock'), JSON.stringify(record));
}

/** A run of `mnist-lab import`: config.json and model.safetensors at the top, no events. */
function importedRun(id: string, model: Uint8Array | string): void {
  mkdirSync(join(runsDir, id), { recursive: true });
  writeFileSync(
    join(runsDir, id, 'config.json'),
    JSON.stringify({
      format: 'mnist-lab/run@1',
      createdAt: '2001-01-01T00:00:00.000Z',
      importedFrom: { path: '/somewhere/model.json', format: 'tfjs-layers' },
      runConfig: { recipe: { model: 'imported', dataset: 'mnist' } },
    }),
  );
  if (typeof model === 'string') symlinkSync(model, join(runsDir, id, 'model.safetensors'));
  else writeFileSync(join(runsDir, id, 'model.safetensors'), model);
}

const pixels = JSON.stringify({ pixels: Array.from(randomDigits(1).images) });

before(async () => {
  holder = liveProcess();
  await tinyRun(join(runsDir, 'older'));
  createdAt('older', '2029-01-01T00:00:00.000Z');
  await tinyRun(join(runsDir, 'corrupt-newest'));
  createdAt('corrupt-newest', '2030-01-01T00:00:00.000Z');
  const model = join(runsDir, 'corrupt-newest', 'checkpoints', '4', 'model.safetensors');
  const bytes = readFileSync(model);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(model, bytes);
  importedRun('imported', tinyModelFile());

  // Symbolic links: a run that is a link to a folder outside, a run's files linked outside.
  await tinyRun(join(root.path, 'outside-run'));
  symlinkSync(join(root.path, 'outside-run'), join(runsDir, 'linked'));
  writeFileSync(
    join(root.path, 'secret.jsonl'),
    `{"type":"epochEnd","epoch":0,"loss":1,"accuracy":0.5,"note":"${SECRET}"}\n`,
  );
  await tinyRun(join(runsDir, 'leaky'));
  createdAt('leaky', '2002-01-01T00:00:00.000Z');
  const metrics = join(runsDir, 'leaky', 'metrics.jsonl');
  writeFileSync(metrics, '');
  symlinkSync(join(root.path, 'secret.jsonl'), join(runsDir, 'leaky', 'metrics.jsonl.link'));
  // Replace the real file with the link.
  renameSync(join(runsDir, 'leaky', 'metrics.jsonl.link'), metrics);
  writeFileSync(join(root.path, 'outside.safetensors'), tinyModelFile());
  importedRun('leaky-model', join(root.path, 'outside.safetensors'));

  // Status and accuracy.
  mkdirSync(join(runsDir, 'in-progress'));
  writeFileSync(
    join(runsDir, 'in-progress', 'config.json'),
    JSON.stringify({ format: 'mnist-lab/run@1', createdAt: '2003-01-01T00:00:00.000Z' }),
  );
  writeFileSync(
    join(runsDir, 'in-progress', 'metrics.jsonl'),
    '{"type":"trainBegin"}\n{"type":"epochEnd","epoch":0,"step":4,"loss":0.3,"accuracy":0.9}\n',
  );
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(join(runsDir, 'in-progress', 'metrics.jsonl'), past, past); // no recent write: the lock tells
  lock('in-progress', holder.pid);
  mkdirSync(join(runsDir, 'crashed'));
  writeFileSync(
    join(runsDir, 'crashed', 'config.json'),
    readFileSync(join(runsDir, 'in-progress', 'config.json')),
  );
  writeFileSync(
    join(runsDir, 'crashed', 'metrics.jsonl'),
    readFileSync(join(runsDir, 'in-progress', 'metrics.jsonl')),
  );
  lock('crashed', deadPid());
  await tinyRun(join(runsDir, 'evaluating'));
  createdAt('evaluating', '2004-01-01T00:00:00.000Z');
  lock('evaluating', holder.pid);
  await tinyRun(join(runsDir, 'evaluated'));
  createdAt('evaluated', '2005-01-01T00:00:00.000Z');
  const evaluation: Partial<EvaluationRecord> = {
    format: 'mnist-lab/evaluation@1',
    dataset: 'mnist',
    split: 'test',
    count: 10000,
    accuracy: 0.4321,
  };
  writeFileSync(join(runsDir, 'evaluated', 'evaluation.json'), JSON.stringify(evaluation));
  await tinyRun(join(runsDir, 'validated'), { epochs: 2, validation: true });
  createdAt('validated', '2006-01-01T00:00:00.000Z');

  server = await startServer({ port: 0, runsDir, quiet: true, backend: 'js' });
});

after(async () => {
  await server?.close();
  await holder?.kill();
  root.remove();
});

async function runs(): Promise<RunSummary[]> {
  return ((await call(server.url, '/api/runs')).json() as { runs: RunSummary[] }).runs;
}

describe('serve: symbolic links under --runs are not served', () => {
  it('a run that is a link to a folder outside is not listed and answers 404 everywhere', async () => {
    assert.ok(!(await runs()).some((run) => run.id === 'linked'));
    for (const path of ['/api/runs/linked', '/api/runs/linked/model', '/api/runs/linked/events']) {
      assert.equal((await call(server.url, path)).status, 404, path);
    }
    const predicted = await call(server.url, '/api/predict?run=linked', {
      type: 'application/json',
      body: pixels,
    });
    assert.equal(predicted.status, 404);
  });

  it('a metrics.jsonl or model.safetensors that is a link is never read', async () => {
    const events = await call(server.url, '/api/runs/leaky/events');
    assert.equal(events.status, 404);
    assert.match(errorOf(events), /metrics\.jsonl is a symbolic link/);
    const detail = (await call(server.url, '/api/runs/leaky')).json() as RunDetail;
    assert.deepEqual(detail.history, []);
    assert.ok(!JSON.stringify(detail).includes(SECRET));
    const leakyModel = (await runs()).find((run) => run.id === 'leaky-model');
    assert.equal(leakyModel?.hasModel, false);
    assert.equal((await call(server.url, '/api/runs/leaky-model/model')).status, 404);
    const predicted = await call(server.url, '/api/predict?run=leaky-model', {
      type: 'application/json',
      body: pixels,
    });
    assert.equal(predicted.status, 404);
  });
});

describe('serve: predictions and broken runs', () => {
  it('without ?run= a corrupt newest run is skipped for the newest healthy one', async () => {
    const reply = await call(server.url, '/api/predict', { type: 'application/json', body: pixels });
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal((reply.json() as { run: string }).run, 'older');
  });

  it('?run= a corrupt run: the error names the run and carries no server path', async () => {
    const reply = await call(server.url, '/api/predict?run=corrupt-newest', {
      type: 'application/json',
      body: pixels,
    });
    assert.equal(reply.status, 500);
    const error = errorOf(reply);
    assert.match(
      error,
      /^run 'corrupt-newest': its model did not load \(corrupt-newest\/checkpoints\/4\/model\.safetensors: content does not match the checksum/,
    );
    assert.ok(!error.includes(root.path), error);
    assert.ok(!reply.body.toString().includes(root.path));
  });

  it('an imported run (model.safetensors at its top) has a model, is finished and predicts', async () => {
    const imported = (await runs()).find((run) => run.id === 'imported');
    assert.equal(imported?.hasModel, true);
    assert.equal(imported?.status, 'finished');
    assert.equal(imported?.model, 'imported');
    const reply = await call(server.url, '/api/predict?run=imported', {
      type: 'application/json',
      body: pixels,
    });
    assert.equal(reply.status, 200, reply.body.toString());
    const model = await call(server.url, '/api/runs/imported/model');
    assert.equal(model.status, 200);
    assert.ok(model.body.equals(readFileSync(join(runsDir, 'imported', 'model.safetensors'))));
  });
});

describe('serve: status and best accuracy', () => {
  it('follow the run’s lock and say which accuracy they show', async () => {
    const byId = new Map((await runs()).map((run) => [run.id, run]));
    const inProgress = byId.get('in-progress');
    assert.equal(inProgress?.status, 'running', 'held by a live process, though not written for an hour');
    assert.equal(inProgress?.bestAccuracy, null, 'a training accuracy is not shown');
    assert.equal(inProgress?.accuracyKind, 'test');
    assert.equal(byId.get('crashed')?.status, 'failed', 'its lock is stale: the process is gone');
    const evaluating = byId.get('evaluating');
    assert.equal(evaluating?.status, 'evaluating', 'training ended, its process still writes');
    assert.equal(evaluating?.bestAccuracy, null);
    const evaluated = byId.get('evaluated');
    assert.equal(evaluated?.status, 'finished');
    assert.equal(evaluated?.bestAccuracy, 0.4321);
    assert.equal(evaluated?.accuracyKind, 'test');
    const validated = byId.get('validated');
    assert.equal(validated?.accuracyKind, 'validation');
    const epochs = readFileSync(join(runsDir, 'validated', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; valAccuracy?: number })
      .filter((event) => event.type === 'epochEnd');
    assert.equal(validated?.bestAccuracy, Math.max(...epochs.map((e) => e.valAccuracy as number)));
  });
});

describe('serve: the summary cache', () => {
  it('rereads a run only when its files change, not on the clock; detail() reads nothing again', async () => {
    const catalog = new RunCatalog(runsDir, () => undefined);
    const events = mock.method(RunDirectory.prototype, 'events');
    try {
      const listed = await catalog.list();
      const reads = events.mock.callCount();
      assert.equal(reads, listed.length);
      const now = Date.now();
      const clock = mock.method(Date, 'now', () => now + 120_000);
      try {
        await catalog.list();
        await catalog.detail('older');
        assert.equal(events.mock.callCount(), reads, 'nothing reread two minutes later, nor by detail()');
      } finally {
        clock.mock.restore();
      }
      appendFileSync(join(runsDir, 'older', 'metrics.jsonl'), '{"type":"note"}\n');
      await catalog.list();
      assert.equal(events.mock.callCount(), reads + 1, 'the changed run, once');
    } finally {
      events.mock.restore();
    }
  });
});
