// Divergence in `mnist-lab train` (issue 9): a run whose loss turns NaN stops at that step with one
// line naming it (step, epoch, batch), exits 3, writes no checkpoint after it, and its run directory
// still loads: `latest` names the last good checkpoint, whose weights are finite.
//
// NOTE: a real divergence, no test hook: plain SGD at lr 1e6 on the cnn blows the loss up to NaN
// within a few steps (measured: steps 2-3 for several models, optimizers and batch sizes). With
// --limit 128 and --batch-size 64 an epoch is 2 steps, so epoch 1 ends finite and writes
// checkpoints/2 before the run diverges.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel } from '../../src/index.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const root = mkdtempSync(join(tmpdir(), 'mnist-lab-diverge-'));
after(() => rmSync(root, { recursive: true, force: true }));

function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, 'train', ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const DIVERGING = [
  ...['--model', 'cnn', '--optimizer', 'sgd', '--lr', '1e6', '--offline', '--seed', '0'],
  ...['--limit', '128', '--batch-size', '64', '--epochs', '4', '--json'],
];

describe('mnist-lab train: divergence', () => {
  it('stops on the first non-finite loss: one line naming the step, exit 3, last good checkpoint kept', async () => {
    const runDir = join(root, 'diverged');
    const run = await train([...DIVERGING, '--out', runDir]);
    assert.equal(run.code, 3, `expected exit 3 (diverged), got ${run.code}:\n${run.stderr}`);
    assert.equal(run.stdout, '', 'no result on stdout after a divergence');
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr, found:\n${run.stderr}`);
    const match =
      /^mnist-lab: training diverged: the loss \(NaN\) is not finite at step (\d+) \(epoch (\d+), batch (\d+)\).*the last good checkpoint is (.+)$/.exec(
        lines[0] ?? '',
      );
    assert.ok(match, `message names the step and the checkpoint, found: ${lines[0]}`);
    const divergedStep = Number(match[1]);
    assert.ok(divergedStep >= 2, `epoch 1 (steps 0-1) stays finite, diverged at ${divergedStep}`);
    assert.equal(Number(match[2]), Math.floor(divergedStep / 2) + 1, 'epoch of that step');
    assert.equal(Number(match[3]), (divergedStep % 2) + 1, 'batch of that step');

    // No checkpoint after the non-finite step; latest names the newest one, which came before it.
    const steps = readdirSync(join(runDir, 'checkpoints')).map(Number);
    assert.ok(steps.length > 0 && steps.every((step) => step <= divergedStep), `checkpoints ${steps}`);
    const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
    assert.equal(latest, `checkpoints/${Math.max(...steps)}`);
    assert.equal(match[4], join(runDir, latest));

    // Logs closed: metrics.jsonl ends with a complete trainEnd event giving the reason.
    const events = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; stopReason?: string; finite?: boolean });
    const last = events.at(-1);
    assert.equal(last?.type, 'trainEnd');
    assert.match(last?.stopReason ?? '', /training diverged/);
    assert.equal(events.filter((event) => event.finite === false).length, 1, 'stopped at the first one');

    // The run loads (checksums verified by loadModel) with finite weights.
    const model = await loadModel(runDir);
    let values = 0;
    for (const weight of model.weights) {
      for (const value of weight.value.data) {
        assert.ok(Number.isFinite(value), `${weight.name}: finite weights`);
        values++;
      }
    }
    assert.equal(values, 34_826);
  });

  it('train --help documents the exit code', async () => {
    const run = await train(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /exit code 3/);
    assert.match(run.stdout, /--no-stop-on-nan/);
  });
});
