// Loading a layer rebuilds it by its class name from the table it is given (BUILTIN_LAYERS in
// src/nn/index.ts by default; LAYER_CLASSES adds the models), plus the classes a program gives
// registerLayer(). Importing a layer module registers nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import './helpers.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import * as nn from '../../src/nn/index.js';
import {
  BUILTIN_LAYERS,
  Layer,
  layerFromConfig,
  registerLayer,
  registeredLayerClasses,
} from '../../src/nn/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the built-in layer table', () => {
  it('has a row for every layer class src/nn exports, each rebuilding its own class from getConfig()', () => {
    const exported = Object.entries(nn)
      .filter(
        ([name, value]) =>
          typeof value === 'function' && value.prototype instanceof Layer && name !== 'Layer',
      )
      .map(([name]) => name)
      .sort();
    assert.deepEqual([...BUILTIN_LAYERS.keys()].sort(), exported);
    const dense = nn.dense({ units: 3, activation: 'relu', inputShape: [4] });
    const rebuilt = layerFromConfig(dense.toConfig());
    assert.ok(rebuilt instanceof nn.Dense);
    assert.deepEqual(rebuilt.getConfig(), dense.getConfig());
  });

  it('a class given to registerLayer loads; an unknown class fails naming registerLayer', () => {
    class Twice extends Layer {
      readonly className = 'TestTwice';
      call(x: Tensor): Tensor {
        return x;
      }
    }
    assert.throws(
      () => layerFromConfig({ className: 'TestTwice', config: {} }),
      /unknown layer class 'TestTwice' \(known: .*Dense.*registerLayer\(className, factory\)/,
    );
    registerLayer('TestTwice', () => new Twice({}));
    assert.ok(layerFromConfig({ className: 'TestTwice', config: {} }) instanceof Twice);
    assert.ok(registeredLayerClasses().includes('TestTwice'));
    assert.ok(registeredLayerClasses().includes('Conv2D'));
  });

  it('importing the layer modules registers nothing', () => {
    const script =
      "const layer = await import('./src/nn/layer.ts'); await import('./src/nn/index.ts');" +
      "await import('./src/train/checkpoint.ts'); console.log(JSON.stringify(layer.registeredLayerNames()));";
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    // No layer registers itself (nor a model class: test/loading/model-classes.test.ts).
    assert.deepEqual(JSON.parse(result.stdout.trim()), []);
  });
});
