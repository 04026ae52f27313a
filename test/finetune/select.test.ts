import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeze, freezeUntil, globToRegExp, selectLayers, unfreeze } from '../../src/finetune/select.js';
import { parseLrGroups } from '../../src/finetune/lr.js';
import { tinyCnn } from './setup.js';

const names = (layers: { name: string }[]): string[] => layers.map((l) => l.name);

describe('layer selection', () => {
  const model = tinyCnn();

  it('matches globs over layer names, anchored', () => {
    assert.deepEqual(names(selectLayers(model, 'dense*')), ['dense', 'dense_1']);
    assert.deepEqual(names(selectLayers(model, 'conv*')), ['conv2d']);
    assert.deepEqual(names(selectLayers(model, 'dense_?')), ['dense_1']);
    assert.equal(globToRegExp('max.pool*').test('maxXpool'), false);
  });

  it('takes index ranges, negative indices and comma lists, in model order', () => {
    assert.deepEqual(names(selectLayers(model, '0-2')), ['conv2d', 'batch_normalization', 'max_pooling2d']);
    assert.deepEqual(names(selectLayers(model, '-1')), ['dense_1']);
    assert.deepEqual(names(selectLayers(model, 'dense_1,0')), ['conv2d', 'dense_1']);
  });

  it('refuses a pattern that matches nothing, naming the layers', () => {
    assert.throws(
      () => selectLayers(model, 'lstm*'),
      /'lstm\*' matches no layer .*conv2d, batch_normalization/,
    );
    assert.throws(() => selectLayers(model, '3-9'), /has layers 0-5/);
  });

  it('freezes and unfreezes by glob, and freezes up to a layer', () => {
    freeze(model, 'conv*,batch*');
    assert.deepEqual(
      model.layers.map((l) => l.trainable),
      [false, false, true, true, true, true],
    );
    unfreeze(model, '*');
    freezeUntil(model, 'flatten');
    assert.deepEqual(
      model.layers.map((l) => l.trainable),
      [false, false, false, false, true, true],
    );
    assert.deepEqual(names(model.trainableWeights.map((w) => ({ name: w.value.name as string }))), [
      'dense/kernel',
      'dense/bias',
      'dense_1/kernel',
      'dense_1/bias',
    ]);
    assert.throws(() => freezeUntil(model, 'nope'), /--freeze-until 'nope'/);
  });

  it('parses --lr-mult groups and rejects malformed ones', () => {
    assert.deepEqual(parseLrGroups('conv*=0.1,dense_1=1'), [
      { layers: 'conv*', multiplier: 0.1 },
      { layers: 'dense_1', multiplier: 1 },
    ]);
    assert.throws(() => parseLrGroups('conv*'), /--lr-mult expects PATTERN=MULTIPLIER/);
    assert.throws(() => parseLrGroups('conv*=-1'), /found 'conv\*=-1'/);
  });
});
