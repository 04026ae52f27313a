// Crash safety of `mnist-lab train` as a process (issue 9): a run SIGKILLed at a random step after
// its first checkpoint, then resumed with --resume, ends with the same weights bit for bit as an
// uninterrupted run; SIGINT stops cleanly (exit 0, a resume hint, a loadable checkpoint) and its
// resumed run ends with the same weights too.
//
// NOTE: the js backend on purpose: at ~10 ms a step the kill window (steps 41..100 of 120) is
// wide enough to hit a chosen step while polling metrics.jsonl; native finishes in a blink.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeSafetensors } from '../../src/formats/safetensors.js';
import { loadModel } from '../../src/index.js'; // registers the js backend
import { Random } from '../../src/util/random.js';
import { lastStep } from '../distributed/helpers.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const STEPS_PER_EPOCH = 40; // --limit 2000 / --batch-size 50
const EPOCHS = 3;
const TOTAL_STEPS = STEPS_PER_EPOCH * EPOCHS;
const FLAGS = [
  ...['--model', 'mlp', '--backend', 'js', '--dataset', 'mnist', '--offline'],
  ...['--limit', '2000', '--epochs', String(EPOCHS), '--batch-size', '50', '--seed', '3', '--json'],
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Training {
  kill(signal: NodeJS.Signals): void;
  exited: Promise<Exit>;
}

/** Only what does not shape the run: --resume must restore the rest from the run's config.json. */
const RESUME_FLAGS = ['--backend', 'js', '--offline', '--json'];

function startTrain(runFlags: string[], shaping: readonly string[] = FLAGS): Training {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'train', ...shaping, ...runFlags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { kill: (signal) => child.kill(signal), exited };
}

async function train(runFlags: string[], shaping: readonly string[] = FLAGS): Promise<Exit> {
  const exit = await startTrain(runFlags, shaping).exited;
  assert.equal(exit.code, 0, `mnist-lab train ${runFlags.join(' ')} failed:\n${exit.stderr}`);
  return exit;
}

/** Polls every 5 ms until `ready()`, or fails after `timeoutMs` (a hung or crashed trainer). */
async function waitFor(ready: () => boolean, what: string, training: Training, timeoutMs = 30_000) {
  let ended = false;
  void training.exited.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (ended) assert.fail(`the trainer exited before ${what}`);
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** [name, dtype, shape, bytes] of every tensor in the run's latest model.safetensors. */
function finalWeights(runDir: string): [string, string, string, Buffer][] {
  const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
  assert.equal(latest, `checkpoints/${TOTAL_STEPS}`, `${runDir} did not finish`);
  const file = decodeSafetensors(readFileSync(join(runDir, latest, 'model.safetensors')));
  return [...file.tensors].map(([name, t]) => [name, t.dtype, t.shape.join('x'), Buffer.from(t.bytes)]);
}

describe('mnist-lab train survives kills', () => {
  const root = mkdtempSync(join(tmpdir(), 'mnist-lab-kill-'));
  let expected: [string, string, string, Buffer][] = [];
  after(() => rmSync(root, { recursive: true, force: true }));

  before(async () => {
    const straight = join(root, 'straight');
    await train(['--out', straight]);
    expected = finalWeights(straight);
    assert.ok(expected.length >= 4, 'the mlp has at least two dense layers');
  });

  // Seeded, so a failure names the step it happened at and reproduces.
  const random = new Random(20261129);
  for (const run of [1, 2]) {
    // First checkpoint at step 40 (end of epoch 1); leave the last epoch room to overshoot.
    const killAt = STEPS_PER_EPOCH + 1 + random.nextInt(TOTAL_STEPS - STEPS_PER_EPOCH - 20);
    it(`SIGKILL at step ~${killAt}, then --resume: final weights equal an uninterrupted run's`, async () => {
      const runDir = join(root, `kill-${run}`);
      const training = startTrain(['--out', runDir]);
      await waitFor(() => existsSync(join(runDir, 'latest')), 'the first checkpoint', training);
      await waitFor(() => lastStep(runDir) >= killAt, `step ${killAt}`, training);
      training.kill('SIGKILL');
      const killed = await training.exited;
      assert.equal(killed.signal, 'SIGKILL', 'the trainer was still running when killed');
      const resumedFrom = readFileSync(join(runDir, 'latest'), 'utf8').trim();
      assert.ok(resumedFrom !== `checkpoints/${TOTAL_STEPS}`, `killed after the run finished`);
      // The killed process left its lock: the resume takes it over, saying so in one line.
      assert.ok(existsSync(join(runDir, 'run.lock')), 'a SIGKILL leaves the lock behind');
      const resumed = await train(['--resume', runDir]);
      assert.match(resumed.stderr, /took over the lock of pid \d+ on .* which is no longer running\n/);
      assert.equal(existsSync(join(runDir, 'run.lock')), false, 'released at exit');
      assert.deepEqual(finalWeights(runDir), expected, `resumed from ${resumedFrom}`);
    });
  }

  it('SIGINT: exit 0, one resume line, a loadable mid-epoch checkpoint; resuming matches', async () => {
    const runDir = join(root, 'sigint');
    const training = startTrain(['--out', runDir]);
    await waitFor(() => lastStep(runDir) >= STEPS_PER_EPOCH + 5, 'step 45', training);
    training.kill('SIGINT');
    const stopped = await training.exited;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, '', '--json prints no summary for an interrupted run');
    assert.match(
      stopped.stderr,
      new RegExp(`resume with: mnist-lab train --resume ${runDir.replace(/\W/g, '\\$&')}\\n`),
    );
    assert.equal(existsSync(join(runDir, 'run.lock')), false, 'the lock is released on SIGINT');
    const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
    const step = Number(latest.replace('checkpoints/', ''));
    assert.ok(step > STEPS_PER_EPOCH && step < TOTAL_STEPS, `mid-run checkpoint, found ${latest}`);
    const model = await loadModel(runDir);
    assert.deepEqual(
      model.layers.map((layer) => layer.className),
      ['Flatten', 'Dense', 'Dense'],
    );
    assert.equal(model.countParams(), 101_770); // 784*128+128 + 128*10+10
    await train(['--resume', runDir], RESUME_FLAGS);
    assert.deepEqual(finalWeights(runDir), expected);
  });
});
