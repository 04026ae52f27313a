import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ImageSet } from '../../src/index.js';
import { classCounts } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';
import { subsetByClasses, subsetByShots, validationSplit } from '../../src/data/split.js';
import { Random } from '../../src/util/random.js';

/** An unbalanced set: class k has 50 + 37k examples; pixel 0 of each image stores its index mod 256. */
function unbalancedSet(): ImageSet {
  const labels: number[] = [];
  for (let k = 0; k < 10; k++) for (let i = 0; i < 50 + 37 * k; i++) labels.push(k);
  new Random(1).shuffle(labels);
  const count = labels.length;
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) images[i * 784] = i % 256;
  return { images, labels: Uint8Array.from(labels), count };
}

describe('validationSplit', () => {
  const set = unbalancedSet();

  test('keeps every class within one example of its exact proportion', () => {
    const { train, validation } = validationSplit(set, { fraction: 0.1, seed: 3 });
    const all = classCounts(set.labels, 10);
    const held = classCounts(validation.labels, 10);
    assert.equal(validation.count, Math.round(0.1 * set.count));
    assert.equal(train.count + validation.count, set.count);
    held.forEach((count, k) =>
      assert.ok(Math.abs(count - 0.1 * all[k]!) <= 1, `class ${k}: ${count} of ${all[k]}`),
    );
    assert.deepEqual(
      classCounts(train.labels, 10),
      all.map((n, k) => n - held[k]!),
    );
  });

  test('is a partition, copies the right images, and is deterministic per seed', () => {
    const a = validationSplit(set, { count: 100, seed: 9 });
    const b = validationSplit(set, { count: 100, seed: 9 });
    const c = validationSplit(set, { count: 100, seed: 10 });
    assert.deepEqual(a.validationIndices, b.validationIndices);
    assert.notDeepEqual(a.validationIndices, c.validationIndices);
    const union = [...a.trainIndices, ...a.validationIndices].sort((x, y) => x - y);
    assert.deepEqual(union, [...Array(set.count).keys()]);
    a.validationIndices.forEach((index, i) => {
      assert.equal(a.validation.labels[i], set.labels[index]);
      assert.equal(a.validation.images[i * 784], index % 256);
    });
  });

  test('rejects impossible sizes', () => {
    assert.throws(() => validationSplit(set, { fraction: 1.5, seed: 0 }), DataError);
    assert.throws(() => validationSplit(set, { count: set.count, seed: 0 }), DataError);
    assert.throws(() => validationSplit(set, { seed: 0 }), /exactly one of fraction or count/);
  });
});

describe('subsets', () => {
  const set = unbalancedSet();

  test('subsetByClasses keeps only the given classes, optionally renumbered', () => {
    const low = subsetByClasses(set, [0, 1, 2, 3, 4]);
    const counts = classCounts(set.labels, 10);
    assert.equal(
      low.count,
      counts.slice(0, 5).reduce((a, b) => a + b),
    );
    assert.ok(low.labels.every((label) => label < 5));
    const renamed = subsetByClasses(set, [7, 3], { relabel: true });
    assert.deepEqual(classCounts(renamed.labels, 2), [counts[7], counts[3]]);
  });

  test('subsetByShots takes K per class, seeded, and says when a class is too small', () => {
    const few = subsetByShots(set, 5, { seed: 2 });
    assert.deepEqual(classCounts(few.labels, 10), new Array(10).fill(5));
    assert.deepEqual(subsetByShots(set, 5, { seed: 2 }).images, few.images);
    assert.notDeepEqual(subsetByShots(set, 5, { seed: 3 }).images, few.images);
    assert.throws(() => subsetByShots(set, 60, { seed: 2 }), /expected 60 examples of class 0, found 50/);
  });
});
