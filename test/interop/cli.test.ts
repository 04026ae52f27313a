// `mnist-lab export` and `mnist-lab import` end to end, as child processes: a run trained with
// standardised inputs exports to ONNX and TF.js taking pixel / 255, and the TF.js export imports back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-web';
// ONNX Runtime's WebAssembly build: it runs in Node and installs without downloading anything.
ort.env.wasm.numThreads = 1;
import { encodeModel } from '../../src/train/checkpoint.js';
import { writeFileAtomic } from '../../src/runs/node/files.js';
import { sequential } from '../../src/train/model.js';
import { loadModel } from '../../src/loading/node.js';
import { COUNT, assertClose, ourOutputs, testImages, zooModel } from './helpers.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mnist-lab export / import', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-interop-cli-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('exports an old standardised run (normalisation in config.json) to ONNX and TF.js, and imports the TF.js export as a run', async () => {
    const images = await testImages();
    const { model } = zooModel('fast');
    const layer = model.inputNormalization;
    assert.ok(layer, 'the fast recipe starts with its Normalization layer');
    const normalize = { mean: layer.mean, std: layer.std };
    // An old run: the saved model lacks the layer, config.json names the standardisation.
    const old = sequential({ name: 'fast', layers: model.layers.slice(1), inputShape: [28, 28, 1] });
    old.built = true;
    const runDir = join(scratch, 'fast-run');
    await writeFileAtomic(join(runDir, 'model.safetensors'), encodeModel(old));
    const checkpointDir = join(runDir, 'checkpoints', '1');
    await writeFileAtomic(join(checkpointDir, 'model.safetensors'), encodeModel(old));
    await writeFileAtomic(
      join(runDir, 'config.json'),
      JSON.stringify({ runConfig: { recipe: { model: 'fast', dataset: 'mnist', normalize } } }),
    );
    const expected = ourOutputs(model, images);

    const onnxDir = join(scratch, 'onnx');
    // From a checkpoint directory: the run's config.json two levels up still supplies the normalisation.
    const onnxRun = cli(['export', '--model', checkpointDir, '--format', 'onnx', '--out', onnxDir, '--json']);
    assert.equal(onnxRun.status, 0, onnxRun.stderr);
    const onnxResult = JSON.parse(onnxRun.stdout) as { files: string[]; normalize: unknown };
    assert.deepEqual(onnxResult.files, [join(onnxDir, 'model.onnx')]);
    assert.deepEqual(onnxResult.normalize, normalize);
    const session = await ort.InferenceSession.create(readFileSync(join(onnxDir, 'model.onnx')));
    const output = await session.run({ input: new ort.Tensor('float32', images.scaled, [COUNT, 28, 28, 1]) });
    assertClose((output['output'] as ort.Tensor).data as Float32Array, expected, 'onnx via cli');
    await session.release();

    const tfjsDir = join(scratch, 'tfjs');
    const tfjsRun = cli(['export', '--model', runDir, '--format', 'tfjs', '--out', tfjsDir]);
    assert.equal(tfjsRun.status, 0, tfjsRun.stderr);
    assert.ok(existsSync(join(tfjsDir, 'model.json')) && existsSync(join(tfjsDir, 'group1-shard1of1.bin')));

    const importedDir = join(scratch, 'imported');
    const importRun = cli(['import', '--from', join(tfjsDir, 'model.json'), '--out', importedDir, '--json']);
    assert.equal(importRun.status, 0, importRun.stderr);
    assert.equal((JSON.parse(importRun.stdout) as { runDir: string }).runDir, importedDir);
    // The standardisation came along as a Rescaling layer: the imported run takes pixel / 255.
    assertClose(ourOutputs(await loadModel(importedDir), images), expected, 'tfjs round trip via cli');
  });

  it('fails with one line naming the problem', () => {
    const missing = cli([
      'export',
      '--model',
      join(scratch, 'nowhere'),
      '--format',
      'onnx',
      '--out',
      scratch,
    ]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /^mnist-lab: --model expects a run directory, .*found no such path/);
    const format = cli(['export', '--model', scratch, '--format', 'keras', '--out', scratch]);
    assert.notEqual(format.status, 0);
    assert.match(format.stderr, /--format expects one of tfjs, onnx, found 'keras'/);
  });
});
