// Output folders from the command line (issue 14, "Runs on disk"): `train`, `finetune`, `import`
// and `export --out` never write into a folder of other files (exit 2, one line naming the folder
// and the choices); an existing run needs --resume or --overwrite (which moves it aside); a run held
// by a live process is refused naming it; a stale lock is taken over; SIGTERM releases the lock;
// broken run files are named with their fix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN, cli, liveProcess, scratch, snapshot, tinyRun } from './helpers.js';

const root = scratch('runs-cli');
after(() => root.remove());
const TRAIN = ['train', '--model', 'mlp', '--epochs', '1', '--limit', '500', '--offline'];

/** The single stderr line of a failed command. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.length > 0);
  assert.equal(lines.length, 1, `expected one line, found:\n${stderr}`);
  return lines[0] as string;
}

function foreignFolder(name: string): string {
  const dir = join(root.path, name);
  for (const step of [1, 2, 3, 4]) mkdirSync(join(dir, 'checkpoints', String(step)), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', '1', 'x'), 'precious\n');
  writeFileSync(join(dir, 'config.json'), '{}\n');
  return dir;
}

let trained = ''; // a real CLI run (mlp), for resume, export and error cases

before(() => {
  trained = join(root.path, 'trained');
  const result = cli([...TRAIN, '--out', trained, '--json']);
  assert.equal(result.status, 0, result.stderr);
});

describe('train --out', () => {
  it('refuses a folder that is not a run (exit 2, one line) and leaves every file as it was', () => {
    const dir = foreignFolder('not-a-run');
    const before = snapshot(dir);
    const result = cli([...TRAIN, '--out', dir]);
    assert.equal(result.status, 2);
    assert.equal(
      oneLine(result.stderr),
      `mnist-lab: --out ${dir} is not empty and holds no mnist-lab run (found checkpoints, config.json): choose a new or empty folder`,
    );
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).sort(), ['1', '2', '3', '4']);
  });

  it('refuses an existing run without --resume or --overwrite, naming both', async () => {
    const dir = join(root.path, 'existing');
    await tinyRun(dir);
    const before = snapshot(dir);
    const result = cli([...TRAIN, '--out', dir]);
    assert.equal(result.status, 2);
    assert.equal(
      oneLine(result.stderr),
      `mnist-lab: --out ${dir} already holds a run: continue it with 'mnist-lab train --resume ${dir}', ` +
        'or start over with --overwrite (moves it to existing.old-<time>), or choose another folder',
    );
    assert.deepEqual(snapshot(dir), before);
    const overwrite = cli([...TRAIN, '--out', dir, '--overwrite', '--json']);
    assert.equal(overwrite.status, 0, overwrite.stderr);
    const moved = /--overwrite: moved the run that was in .* to (.*\.old-[0-9_-]+)\n/.exec(
      overwrite.stderr,
    )?.[1];
    assert.ok(moved, overwrite.stderr);
    assert.deepEqual(snapshot(moved), before, 'the old run, whole, beside the new one');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      runConfig: { recipe: { model: string } };
    };
    assert.equal(config.runConfig.recipe.model, 'mlp');
  });

  it('a run held by a live process is refused with one line naming it (pid, host, since)', async () => {
    const holder = liveProcess();
    const lock = join(trained, 'run.lock');
    try {
      const since = new Date().toISOString();
      writeFileSync(
        lock,
        JSON.stringify({ pid: holder.pid, host: hostname(), since, command: 'mnist-lab train' }),
      );
      const result = cli(['train', '--resume', trained, '--epochs', '2', '--offline']);
      assert.equal(result.status, 1);
      assert.equal(
        oneLine(result.stderr),
        `mnist-lab: ${trained} is in use by pid ${holder.pid} on ${hostname()} since ${since} (mnist-lab train): wait for it to finish or stop it`,
      );
    } finally {
      await holder.kill();
    }
    // The holder is gone now: its lock is stale and the resume takes it over.
    const resumed = cli(['train', '--resume', trained, '--epochs', '2', '--offline', '--json']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /took over the lock of pid \d+ .* which is no longer running/);
    assert.equal(existsSync(lock), false);
    assert.equal(readFileSync(join(trained, 'latest'), 'utf8').trim(), 'checkpoints/32');
  });

  it('two trainings on one --out: the second stops naming the first; the run is the first one’s', async () => {
    const dir = join(root.path, 'concurrent');
    const args = [
      'train',
      '--model',
      'mlp',
      '--epochs',
      '3',
      '--limit',
      '6000',
      '--offline',
      '--out',
      dir,
      '--json',
    ];
    const first = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: 'ignore',
      env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
    });
    const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(dir, 'config.json')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = cli(args);
    assert.equal(second.status, 1, second.stderr);
    assert.match(
      oneLine(second.stderr),
      new RegExp(
        `^mnist-lab: .*concurrent is in use by pid ${first.pid} on ${hostname()} since \\S+ \\(mnist-lab train\\): wait`,
      ),
    );
    assert.equal(await exited, 0);
    const begins = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').match(/"type":"trainBegin"/g);
    assert.equal(begins?.length, 1, 'one training in the log');
    assert.equal(existsSync(join(dir, 'run.lock')), false);
  });

  it('--resume and --overwrite together are refused', () => {
    const result = cli(['train', '--resume', trained, '--overwrite', '--offline']);
    assert.equal(result.status, 2);
    assert.match(oneLine(result.stderr), /--overwrite starts a new run and --resume continues one/);
  });
});

describe('finetune, import and export --out', () => {
  it('finetune and import refuse a folder of other files (exit 2), touching nothing', () => {
    const dir = foreignFolder('not-a-run-2');
    const before = snapshot(dir);
    const finetune = cli(['finetune', '--from', trained, '--task', 'mnist', '--out', dir, '--offline']);
    assert.equal(finetune.status, 2, finetune.stderr);
    assert.match(oneLine(finetune.stderr), /^mnist-lab: --out .* is not empty and holds no mnist-lab run/);
    const exported = join(root.path, 'tfjs-for-import');
    assert.equal(cli(['export', '--model', trained, '--format', 'tfjs', '--out', exported]).status, 0);
    const imported = cli(['import', '--from', join(exported, 'model.json'), '--out', dir]);
    assert.equal(imported.status, 2, imported.stderr);
    assert.match(oneLine(imported.stderr), /^mnist-lab: --out .* is not empty and holds no mnist-lab run/);
    assert.deepEqual(snapshot(dir), before);
    const again = cli(['import', '--from', join(exported, 'model.json'), '--out', trained]);
    assert.equal(again.status, 2);
    assert.match(oneLine(again.stderr), /already holds a run: start over with --overwrite/);
  });

  it('export writes beside an earlier export of the other format, replaces its own only with --overwrite', () => {
    const dir = join(root.path, 'exported');
    const onnx = ['export', '--model', trained, '--format', 'onnx', '--out', dir];
    assert.equal(cli(onnx).status, 0);
    const before = snapshot(dir);
    const second = cli(onnx);
    assert.equal(second.status, 2);
    assert.equal(
      oneLine(second.stderr),
      `mnist-lab: --out ${dir} already holds model.onnx from an earlier export: replace them with --overwrite, or choose another folder`,
    );
    assert.deepEqual(snapshot(dir), before);
    assert.equal(cli(['export', '--model', trained, '--format', 'tfjs', '--out', dir]).status, 0);
    assert.equal(cli([...onnx, '--overwrite']).status, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['group1-shard1of1.bin', 'model.json', 'model.onnx']);
    const foreign = foreignFolder('not-an-export');
    const refused = cli(['export', '--model', trained, '--format', 'onnx', '--out', foreign, '--overwrite']);
    assert.equal(refused.status, 2);
    assert.match(
      oneLine(refused.stderr),
      /holds other files than an export \(found checkpoints, config\.json\)/,
    );
  });

  it('finetune releases its lock on SIGTERM (exit 143)', async () => {
    const dir = join(root.path, 'finetune-sigterm');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'finetune',
        '--task',
        'digits-transfer',
        '--out',
        dir,
        '--offline',
        '--epochs',
        '50',
      ],
      { stdio: 'ignore', env: { ...process.env, MNIST_LAB_BACKEND: 'js' } },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(dir, 'run.lock')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(existsSync(join(dir, 'run.lock')), 'the fine-tuning run is locked while it runs');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.equal(existsSync(join(dir, 'run.lock')), false);
  });
});

describe('broken run files are named with their fix', () => {
  it('a truncated config.json and a latest that is a folder', async () => {
    const dir = join(root.path, 'broken');
    await tinyRun(dir);
    writeFileSync(join(dir, 'config.json'), '{"format": "mnist-lab/run@1", "model": {');
    const config = cli(['evaluate', dir, '--offline', '--no-report']);
    assert.equal(config.status, 1);
    assert.match(
      oneLine(config.stderr),
      /^mnist-lab: .*config\.json: not valid JSON \(.*\); restore config\.json from a copy of the run, or move it away/,
    );
    const latest = join(trained, 'latest');
    renameSync(latest, `${latest}.file`);
    mkdirSync(latest);
    try {
      const result = cli(['evaluate', trained, '--offline', '--no-report']);
      assert.equal(result.status, 1);
      const line = oneLine(result.stderr);
      assert.doesNotMatch(line, /EISDIR/);
      assert.match(
        line,
        /latest is a folder, expected a file naming the latest checkpoint; move the folder away/,
      );
    } finally {
      renameSync(latest, `${latest}.dir`);
      renameSync(`${latest}.file`, latest);
    }
  });
});
