// The run directory's owner (src/runs, issues 14 and 15): folders that are not runs are never
// written into, pruning removes only checkpoints the run wrote, one lock per run (pid, host, since;
// stale locks taken over), --overwrite moves a run aside, runs of the previous version still load
// and resume, one definition of a run's model, and errors that name the file and the fix.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LOCK_FILE } from '../../src/runs/layout.js';
import { RunDirectory, readModelSource } from '../../src/runs/node/directory.js';
import { claimFolder, inspectFolder, RunFolderError } from '../../src/runs/node/folder.js';
import { acquireRunLock, RunLockedError } from '../../src/runs/node/lock.js';
import { openRun } from '../../src/runs/node/writer.js';
import { loadModel } from '../../src/loading/node.js';
import { readRunRecipe } from '../../src/predict/node/run-recipe.js';
import {
  deadPid,
  zombiePid,
  liveProcess,
  randomDigits,
  scratch,
  snapshot,
  tinyModel,
  tinyModelFile,
  tinyRun,
} from './helpers.js';

const root = scratch('runs');
after(() => root.remove());
let counter = 0;
const fresh = (name: string): string => join(root.path, `${name}-${counter++}`);

function writeLock(dir: string, pid: number, host = hostname()): string {
  const since = '2026-01-02T03:04:05.000Z';
  writeFileSync(
    join(dir, LOCK_FILE),
    JSON.stringify({ pid, host, since, command: 'mnist-lab train' }) + '\n',
  );
  return since;
}

describe('runs: folders that are not runs', () => {
  it('a new run refuses a non-empty folder that is not a run, and touches none of its files', async () => {
    const dir = fresh('foreign');
    for (const step of [1, 2, 3, 4]) mkdirSync(join(dir, 'checkpoints', String(step)), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', '1', 'x'), 'precious\n');
    writeFileSync(join(dir, 'config.json'), '{}\n');
    const before = snapshot(dir);
    await assert.rejects(
      tinyRun(dir),
      (error: unknown) =>
        error instanceof RunFolderError &&
        error.message.startsWith(
          `${dir} is not empty and holds no mnist-lab run (found checkpoints, config.json)`,
        ),
    );
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).sort(), ['1', '2', '3', '4']);
    assert.equal((await inspectFolder(dir)).kind, 'other');
  });

  it('a new run into an existing run is refused; --overwrite moves the old run aside whole', async () => {
    const dir = fresh('existing');
    await tinyRun(dir, { epochs: 2 });
    const before = snapshot(dir);
    await assert.rejects(tinyRun(dir), /already holds a run: start over with --overwrite/);
    assert.deepEqual(snapshot(dir), before);
    const claimed = await claimFolder(dir, { mode: 'new', overwrite: true, command: 'test' });
    try {
      assert.ok(
        claimed.movedTo && /\.old-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/.test(claimed.movedTo),
        claimed.movedTo,
      );
      assert.deepEqual(snapshot(claimed.movedTo), before, 'every file of the old run, unchanged');
      assert.deepEqual(readdirSync(dir), [LOCK_FILE]);
    } finally {
      await claimed.lock?.release();
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('runs: pruning', () => {
  it('removes only checkpoints this run wrote: foreign files and other runs’ checkpoints stay', async () => {
    const dir = fresh('prune');
    const other = fresh('other');
    await tinyRun(other, { epochs: 1 }); // checkpoints/4 of another run
    await tinyRun(dir, { epochs: 2, keep: 5 }); // checkpoints/4 and /8
    writeFileSync(join(dir, 'checkpoints', '4', 'notes.txt'), 'mine\n');
    cpSync(join(other, 'checkpoints', '4'), join(dir, 'checkpoints', '2'), { recursive: true });
    await tinyRun(dir, { epochs: 5, keep: 1, resume: true }); // checkpoints 12, 16, 20: keep 1
    assert.deepEqual(
      readdirSync(join(dir, 'checkpoints')).sort((a, b) => Number(a) - Number(b)),
      ['2', '4', '20'],
      'its own 8, 12 and 16 went; the foreign file kept 4, the other run kept 2',
    );
    assert.equal(readFileSync(join(dir, 'checkpoints', '4', 'notes.txt'), 'utf8'), 'mine\n');
  });

  it('a run of the previous version (no runId) loads and resumes; its old checkpoints are not pruned', async () => {
    const dir = fresh('legacy');
    const model = await tinyRun(dir, { epochs: 1 });
    // As the previous version wrote it: no runId in config.json nor in state.json.
    const configPath = join(dir, 'config.json');
    const { runId: _runId, ...config } = JSON.parse(readFileSync(configPath, 'utf8')) as { runId: string };
    writeFileSync(configPath, JSON.stringify(config));
    const statePath = join(dir, 'checkpoints', '4', 'state.json');
    const { runId: _stateRunId, ...state } = JSON.parse(readFileSync(statePath, 'utf8')) as { runId: string };
    writeFileSync(statePath, JSON.stringify(state));
    const images = randomDigits(8, 3).images;
    assert.deepEqual(
      Array.from((await loadModel(dir)).predict(images).data),
      Array.from(model.predict(images).data),
    );
    await tinyRun(dir, { epochs: 3, keep: 1, resume: true });
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).sort(), ['12', '4']);
    assert.match(
      (JSON.parse(readFileSync(configPath, 'utf8')) as { runId?: string }).runId ?? '',
      /^[0-9a-f-]{36}$/,
    );
  });
});

describe('runs: the lock', () => {
  it('is held while a run is written and released when fit ends', async () => {
    const dir = fresh('lock');
    const run = await openRun(dir, { command: 'mnist-lab test' });
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(lock['pid'], process.pid);
    assert.equal(lock['host'], hostname());
    assert.ok(!Number.isNaN(Date.parse(lock['since'] as string)));
    assert.equal(lock['command'], 'mnist-lab test');
    const data = randomDigits(32);
    await tinyModel().fit(data.images, data.labels, { batchSize: 16, verbose: 0, run });
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('a second process is refused with one line naming the holder (pid, host, since)', async () => {
    const dir = fresh('busy');
    await tinyRun(dir);
    const holder = liveProcess();
    try {
      const since = writeLock(dir, holder.pid);
      await assert.rejects(openRun(dir, { resume: true }), (error: unknown) => {
        assert.ok(error instanceof RunLockedError);
        assert.equal(
          error.message,
          `${dir} is in use by pid ${holder.pid} on ${hostname()} since ${since} (mnist-lab train): wait for it to finish or stop it`,
        );
        return true;
      });
      assert.ok(existsSync(join(dir, LOCK_FILE)), 'the holder keeps its lock');
    } finally {
      await holder.kill();
    }
  });

  it('a lock of another host cannot be checked: refused, saying how to clear it', async () => {
    const dir = fresh('remote');
    await tinyRun(dir);
    writeLock(dir, 1, 'elsewhere.example');
    await assert.rejects(
      openRun(dir, { resume: true }),
      /in use by pid 1 on elsewhere\.example .* delete .*run\.lock/,
    );
  });

  it('a stale lock (same host, process gone) is taken over with a one-line message', async () => {
    const dir = fresh('stale');
    await tinyRun(dir);
    const pid = deadPid();
    writeLock(dir, pid);
    const lines: string[] = [];
    const run = await openRun(dir, { resume: true, onTakeover: (line) => lines.push(line) });
    assert.deepEqual(lines, [
      `${dir}: took over the lock of pid ${pid} on ${hostname()} since 2026-01-02T03:04:05.000Z (mnist-lab train), which is no longer running`,
    ]);
    assert.equal(
      (JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number }).pid,
      process.pid,
    );
    await run.close();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('a lock whose holder has exited but is not reaped (a zombie) is stale too', async () => {
    const dir = fresh('zombie');
    await tinyRun(dir);
    const zombie = await zombiePid();
    try {
      writeLock(dir, zombie.pid);
      const lines: string[] = [];
      const run = await openRun(dir, { resume: true, onTakeover: (line) => lines.push(line) });
      assert.match(
        lines.join('\n'),
        new RegExp(`took over the lock of pid ${zombie.pid} .*no longer running`),
      );
      await run.close();
    } finally {
      zombie.stop();
    }
  });

  it('is re-entrant within a process: the caller’s hold outlives the writer’s', async () => {
    const dir = fresh('reentrant');
    const outer = await acquireRunLock(dir, { command: 'outer' });
    const run = await openRun(dir);
    await run.close();
    assert.ok(existsSync(join(dir, LOCK_FILE)), 'still held by the outer hold');
    await outer.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });
});

describe('runs: one definition of a run’s model', () => {
  it('the latest checkpoint’s model, else the run’s own model.safetensors (an imported run)', async () => {
    const trained = fresh('trained');
    await tinyRun(trained, { epochs: 2 });
    assert.equal(await RunDirectory.at(trained).modelFile(), 'checkpoints/8/model.safetensors');
    const imported = fresh('imported');
    mkdirSync(imported);
    writeFileSync(join(imported, 'model.safetensors'), tinyModelFile());
    writeFileSync(
      join(imported, 'config.json'),
      JSON.stringify({
        format: 'mnist-lab/run@1',
        runConfig: { recipe: { model: 'imported', dataset: 'mnist' } },
      }),
    );
    assert.equal(await RunDirectory.at(imported).modelFile(), 'model.safetensors');
    assert.equal((await readModelSource(imported)).modelFile, join(imported, 'model.safetensors'));
    assert.equal(await RunDirectory.at(fresh('none')).modelFile(), null);
  });
});

describe('runs: errors name the file and the fix', () => {
  it('a truncated config.json', async () => {
    const dir = fresh('bad-config');
    await tinyRun(dir);
    writeFileSync(join(dir, 'config.json'), '{"format": "mnist-lab/run@1", "model": {');
    for (const read of [() => loadModel(dir), () => readRunRecipe(dir)]) {
      await assert.rejects(read(), (error: unknown) => {
        const message = (error as Error).message;
        assert.ok(message.startsWith(`${join(dir, 'config.json')}: not valid JSON (`), message);
        assert.match(message, /restore config\.json from a copy of the run, or move it away/);
        return true;
      });
    }
  });

  it('a latest that is a folder, names a missing checkpoint, or holds garbage', async () => {
    const dir = fresh('bad-latest');
    await tinyRun(dir, { epochs: 2 });
    const latest = join(dir, 'latest');
    renameSync(latest, `${latest}.file`);
    mkdirSync(latest);
    await assert.rejects(loadModel(dir), (error: unknown) => {
      const message = (error as Error).message;
      assert.doesNotMatch(message, /EISDIR/);
      assert.equal(
        message,
        `${latest} is a folder, expected a file naming the latest checkpoint; move the folder away and ` +
          "write the newest checkpoint's name into it ('checkpoints/8'; present: checkpoints/4, checkpoints/8)",
      );
      return true;
    });
    renameSync(latest, `${latest}.dir`);
    writeFileSync(latest, 'checkpoints/99\n');
    await assert.rejects(
      loadModel(dir),
      /latest names checkpoints\/99, which is not there; write the newest/,
    );
    writeFileSync(latest, '../../etc\n');
    await assert.rejects(
      loadModel(dir),
      /latest: expected 'checkpoints\/<step>', found "\.\.\/\.\.\/etc"; write/,
    );
  });

  it('a checkpoint whose model file is missing', async () => {
    const dir = fresh('missing-model');
    await tinyRun(dir);
    renameSync(join(dir, 'checkpoints', '4', 'model.safetensors'), join(dir, 'moved'));
    await assert.rejects(
      loadModel(dir),
      new RegExp(
        `^RunFileError: ${join(dir, 'checkpoints', '4', 'model.safetensors')} does not exist; point latest at an earlier`,
      ),
    );
  });
});
