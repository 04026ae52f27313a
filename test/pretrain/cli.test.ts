// The pretraining workflow end to end through the CLI, on the native and js backends, on a tiny
// IDX dataset (60 training, 20 test images): pretrain (interrupted by SIGINT, then resumed), its
// report with reconstructions, finetune --from it, the few-shot comparison, and the one-line errors.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nativeBackendAvailable } from '../../src/backend/native/index.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const TINY = `idx:${join(import.meta.dirname, '../fixtures/data/tiny-idx')}`;

function cli(args: string[], backend: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_BACKEND: backend },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-pretrain-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const native = nativeBackendAvailable();
for (const backend of ['native', 'js']) {
  const skip =
    backend === 'native' && !native.available ? `native addon unavailable: ${native.reason}` : false;
  describe(`mnist-lab pretrain / finetune --from, ${backend} backend`, { skip }, () => {
    const run = join(dir, `${backend}-mae`);
    const pretrainArgs = [
      'pretrain',
      '--model',
      'vit-7',
      '--dataset',
      TINY,
      '--epochs',
      '2',
      '--batch-size',
      '8',
    ];

    it('pretrains; SIGINT checkpoints mid-run and --resume finishes it; the report shows reconstructions', async () => {
      // Interrupted at its first checkpoint-worthy moment: SIGINT once the first batch ran.
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...pretrainArgs, '--out', run], {
        env: { ...process.env, MNIST_LAB_BACKEND: backend },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const metrics = join(run, 'metrics.jsonl');
      const timer = setInterval(() => {
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"batchEnd"')) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 20);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearInterval(timer);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /interrupted: checkpoint saved in .*; resume with: mnist-lab pretrain --resume /);

      const resumed = cli(['pretrain', '--resume', run, '--json'], backend);
      assert.equal(resumed.status, 0, resumed.stderr);
      const result = JSON.parse(resumed.stdout) as Record<string, unknown>;
      assert.equal(result['epochs'], 2);
      assert.equal(result['encoderParams'], 205_962);
      const events = readFileSync(metrics, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const epochEnds = events.filter((e) => e['type'] === 'epochEnd');
      assert.equal(epochEnds.length, 2);
      // Self-supervised: the events carry the loss (and val_loss), no accuracy.
      assert.ok(epochEnds.every((e) => typeof e['valLoss'] === 'number' && !('accuracy' in e)));
      const report = readFileSync(join(run, 'report.html'), 'utf8');
      assert.match(report, /<h2 id="reconstructions">Reconstructions<\/h2>/);
      assert.match(
        report,
        /<img alt="inputs, masked inputs and reconstructions" src="data:image\/png;base64,/,
      );
      assert.ok(existsSync(join(run, 'report', 'reconstructions.png')));
    });

    it('fine-tunes the encoder (decoder dropped) with a new head, and compares few-shot', () => {
      const tuned = cli(
        [
          'finetune',
          '--from',
          run,
          '--task',
          TINY,
          '--method',
          'linear-probe',
          '--epochs',
          '1',
          '--out',
          join(dir, `${backend}-ft`),
          '--json',
        ],
        backend,
      );
      assert.equal(tuned.status, 0, tuned.stderr);
      const result = JSON.parse(tuned.stdout) as {
        trainableParams: number;
        totalParams: number;
        test: { accuracy: number };
      };
      assert.equal(result.totalParams, 205_962); // the vit-7 classifier: the decoder is gone
      assert.equal(result.trainableParams, 650); // Dense(64 -> 10)
      assert.ok(result.test.accuracy >= 0 && result.test.accuracy <= 1);

      const compared = cli(
        [
          'finetune',
          'compare',
          '--from',
          run,
          '--task',
          TINY,
          '--few-shot',
          '--sweep',
          '1',
          '--methods',
          'scratch,linear-probe,full,cnn',
          '--out',
          join(dir, `${backend}-cmp`),
          '--json',
        ],
        backend,
      );
      assert.equal(compared.status, 0, compared.stderr);
      const rows = (JSON.parse(compared.stdout) as { rows: { method: string; shots: number }[] }).rows;
      assert.match(
        readFileSync(join(dir, `${backend}-cmp`, 'report.html'), 'utf8'),
        /<th>K per class<\/th><th>scratch<\/th><th>linear-probe<\/th><th>full<\/th><th>cnn<\/th>/,
      );
      assert.deepEqual(
        rows.map((r) => `${r.shots} ${r.method}`),
        ['1 scratch', '1 linear-probe', '1 full', '1 cnn'],
      );
    });
  });
}

describe('mnist-lab pretrain --resume of a run that is not a pretraining run', () => {
  it('says in one line what it found and what it needs', () => {
    const base = join(dir, 'cnn');
    const trained = cli(['train', '--model', 'mlp', '--dataset', TINY, '--epochs', '1', '--out', base], 'js');
    assert.equal(trained.status, 0, trained.stderr);
    const refused = cli(['pretrain', '--resume', base], 'js');
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.stderr,
      /--resume .*: not a pretraining run \(no MaskedAutoencoder in its config.json\)/,
    );
    assert.equal(refused.stderr.trim().split('\n').length, 1);
  });
});
