// The finetune CLI: one-line flag errors, and --json's shape on a tiny base (one short run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAdapter } from '../../src/finetune/adapter.js';
import { loraLayers } from '../../src/finetune/lora.js';
import { LAYER_CLASSES } from '../../src/loading/index.js';
import { decodeImage, predictDigits } from '../../src/index.js';
import { encodePng } from '../../src/data/node/png.js';
import { preprocessRgba } from '../../src/predict/preprocess.js';
import { dense, flatten } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { sequential } from '../../src/train/model.js';
import { loadModel } from '../../src/loading/node.js';
import { scratchDir, tinyVit } from './setup.js';

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

/** A stroke of `thickness` pixels from (x0, y0) to (x1, y1), white on black: a drawn digit as a PNG. */
function strokePng(x0: number, y0: number, x1: number, y1: number, thickness: number): Uint8Array {
  const data = new Uint8Array(28 * 28 * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  for (let t = 0; t <= 40; t++) {
    const cx = x0 + ((x1 - x0) * t) / 40;
    const cy = y0 + ((y1 - y0) * t) / 40;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        if (Math.hypot(x - cx, y - cy) > thickness / 2) continue;
        const o = (y * 28 + x) * 4;
        data[o] = data[o + 1] = data[o + 2] = 255;
      }
    }
  }
  return encodePng({ width: 28, height: 28, data });
}

describe('a LoRA fine-tune run of a vit is a run like any other', () => {
  const dir = scratchDir('vit-cli');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluate RUN and predict --model RUN give what the fine-tuned model gives in process', async () => {
    // The tiny vit as a base, 5 classes as digits-transfer's.
    const base = tinyVit(5);
    const basePath = join(dir, 'base.safetensors');
    writeFileSync(basePath, encodeModel(base));
    const out = join(dir, 'run');
    const finetune = cli([
      'finetune',
      '--from',
      basePath,
      '--task',
      'digits-transfer',
      '--method',
      'lora',
      '--target',
      'block*/attention/query,block*/attention/value',
      '--rank',
      '2',
      '--epochs',
      '1',
      '--limit',
      '128',
      '--offline',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(finetune.status, 0, finetune.stderr);
    const fineTuned = JSON.parse(finetune.stdout) as { test: { accuracy: number } };

    // The run alone rebuilds the adapted model: the adapters and frozen layers it records.
    const fromRun = await loadModel(out);
    assert.deepEqual(
      loraLayers(fromRun).map((l) => l.name),
      [
        'block1/attention/query',
        'block1/attention/value',
        'block2/attention/query',
        'block2/attention/value',
      ],
    );

    const evaluated = cli(['evaluate', out, '--offline', '--no-report', '--json']);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const evaluation = JSON.parse(evaluated.stdout) as { count: number; test: { accuracy: number } };
    assert.equal(evaluation.count, 4861); // digits 5-9 of the MNIST test set
    assert.equal(evaluation.test.accuracy, fineTuned.test.accuracy);

    // predict --model RUN against the adapter loaded onto its base (the path that always worked).
    const files = [strokePng(14, 4, 14, 24, 3), strokePng(6, 6, 22, 22, 4), strokePng(8, 20, 20, 8, 2)].map(
      (png, i) => {
        const file = join(dir, `drawn-${i}.png`);
        writeFileSync(file, png);
        return file;
      },
    );
    const predicted = cli(['predict', ...files, '--model', out, '--json']);
    assert.equal(predicted.status, 0, predicted.stderr);
    const results = JSON.parse(predicted.stdout) as { name: string; probabilities: number[] }[];
    const adapted = await loadAdapter(join(out, 'adapter'), basePath, LAYER_CLASSES);
    const images = new Uint8Array(files.length * 784);
    files.forEach((file, i) => {
      const picture = decodeImage(new Uint8Array(readFileSync(file)), file);
      images.set(
        preprocessRgba(picture.data, picture.width, picture.height, { invert: 'auto' }).image,
        i * 784,
      );
    });
    const expected = predictDigits(adapted, images, { classNames: ['5', '6', '7', '8', '9'] });
    assert.deepEqual(
      results.map((r) => r.name),
      expected.map((p) => p.name),
    );
    results.forEach((r, i) => {
      const probabilities = expected[i]!.probabilities;
      r.probabilities.forEach((p, k) =>
        assert.ok(Math.abs(p - probabilities[k]!) < 2e-6, `file ${i} class ${k}`),
      );
    });
  });
});
