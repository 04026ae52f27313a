// `mnist-lab summary MODEL|RUN`: the Keras table with parameter counts for a zoo model (cnn 34,826,
// vit 205,962, as DESIGN.md and the PyTorch reference count them) and for a saved model; a name that
// is neither a zoo model nor a path is refused in one line (exit 2).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, scratch, tinyModelFile } from '../runs/helpers.js';

const root = scratch('summary-cli');
after(() => root.remove());

describe('mnist-lab summary', () => {
  it('prints the cnn table: its layers, output shapes and 34,826 parameters', () => {
    const result = cli(['summary', 'cnn']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Model: "cnn"/);
    assert.match(result.stdout, /conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+320\n/);
    assert.match(result.stdout, /dense \(Dense\)\s+\(None, 10\)\s+16,010\n/);
    assert.match(result.stdout, /Total params: 34,826\nTrainable params: 34,826\nNon-trainable params: 0/);
  });

  it('counts vit at 205,962 parameters (--json)', () => {
    const result = cli(['summary', 'vit', '--json']);
    assert.equal(result.status, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      params: number;
      trainableParams: number;
      layers: { name: string; params: number }[];
      summary: string;
    };
    assert.equal(summary.params, 205962);
    assert.equal(summary.trainableParams, 205962);
    assert.equal(
      summary.layers.reduce((n, layer) => n + layer.params, 0),
      205962,
    );
    assert.match(summary.summary, /Total params: 205,962/);
  });

  it('reads a saved model (model.safetensors)', () => {
    const file = join(root.path, 'model.safetensors');
    writeFileSync(file, tinyModelFile());
    const result = cli(['summary', file]);
    assert.equal(result.status, 0, result.stderr);
    // flatten -> dense(10) on 28x28x1: 7,850 parameters.
    assert.match(result.stdout, /\(Dense\)\s+\(None, 10\)\s+7,850\n/);
    assert.match(result.stdout, /Total params: 7,850/);
  });

  it('refuses a name that is neither a zoo model nor a path, in one line', () => {
    const result = cli(['summary', 'alexnet']);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(
      result.stderr,
      /expected a zoo model \(mlp, cnn, .*\) or a run directory, .*found 'alexnet'/,
    );
  });
});
