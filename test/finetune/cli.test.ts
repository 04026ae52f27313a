// The finetune CLI: one-line flag errors, and --json's shape on a tiny base (one short run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dense, flatten } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { sequential } from '../../src/train/model.js';
import { scratchDir } from './setup.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mnist-lab finetune', () => {
  const dir = scratchDir('cli');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects bad flags with one line naming the flag', () => {
    const rank = cli(['finetune', '--method', 'lora', '--rank', '0']);
    assert.notEqual(rank.status, 0);
    assert.match(rank.stderr, /--rank expects a whole number from 1 to 4096, found '0'/);
    const mixed = cli(['finetune', '--rank', '2', '--offline']);
    assert.notEqual(mixed.status, 0);
    assert.match(mixed.stderr, /--rank, --alpha and --target configure LoRA; add --method lora/);
  });

  it('fine-tunes a base with LoRA and prints the --json summary', () => {
    resetLayerNames();
    const base = sequential([
      flatten({ inputShape: [28, 28, 1] }),
      dense({ units: 4, activation: 'relu' }),
      dense({ units: 5 }),
    ]);
    base.buildFor([28, 28, 1]);
    const basePath = join(dir, 'base.safetensors');
    writeFileSync(basePath, encodeModel(base));
    const out = join(dir, 'run');
    const run = cli([
      'finetune',
      '--from',
      basePath,
      '--task',
      'digits-transfer',
      '--method',
      'lora',
      '--rank',
      '1',
      '--epochs',
      '1',
      '--limit',
      '64',
      '--offline',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result), [
      'runDir',
      'base',
      'method',
      'trainableParams',
      'totalParams',
      'test',
      'trainSeconds',
      'adapterDir',
    ]);
    // LoRA on dense (784x1 + 1x4) plus the new head (4x5 + 5).
    assert.equal(result['trainableParams'], 788 + 25);
    assert.equal(result['totalParams'], 785 * 4 + 788 + 25);
    assert.ok(existsSync(join(out, 'adapter', 'adapter.json')));
  });
});
