// Initialisers: Keras fans and formulas, truncation, names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, seeded } from './helpers.js';
import {
  computeFans,
  constant,
  getInitializer,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  ones,
  serializeInitializer,
  zeros,
} from '../../src/nn/initializers.js';

function stats(values: number[]): { mean: number; std: number; maxAbs: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance), maxAbs: Math.max(...values.map(Math.abs)) };
}

test('fans: dense [in, out], conv HWIO [KH, KW, C, O], vectors', () => {
  assert.deepEqual(computeFans([784, 128]), [784, 128]);
  assert.deepEqual(computeFans([3, 3, 32, 64]), [3 * 3 * 32, 3 * 3 * 64]);
  assert.deepEqual(computeFans([10]), [10, 10]);
  assert.deepEqual(computeFans([]), [1, 1]);
});

test('glorot uniform: limit sqrt(6 / (fanIn + fanOut)), uniform variance limit^2 / 3', () => {
  const values = glorotUniform()([3, 3, 32, 64], seeded(1)).toArray();
  const limit = Math.sqrt(6 / (288 + 576));
  const { mean, std, maxAbs } = stats(values);
  assert.ok(maxAbs <= limit, `max |w| ${maxAbs} exceeds the limit ${limit}`);
  assert.ok(maxAbs > 0.98 * limit, 'values should reach near the limit');
  assert.ok(Math.abs(mean) < 0.02 * limit);
  assertClose([std], [limit / Math.sqrt(3)], 0.03);
});

test('he uniform: limit sqrt(6 / fanIn)', () => {
  const values = heUniform()([784, 128], seeded(2)).toArray();
  const limit = Math.sqrt(6 / 784);
  const { maxAbs, std } = stats(values);
  assert.ok(maxAbs <= limit && maxAbs > 0.99 * limit);
  assertClose([std], [limit / Math.sqrt(3)], 0.02);
});

test('normal initialisers are truncated at 2 sigma and keep the intended variance', () => {
  const cases = [
    { init: heNormal(), target: Math.sqrt(2 / 784) },
    { init: glorotNormal(), target: Math.sqrt(2 / (784 + 128)) },
    { init: lecunNormal(), target: Math.sqrt(1 / 784) },
  ];
  for (const [i, { init, target }] of cases.entries()) {
    const values = init([784, 128], seeded(10 + i)).toArray();
    const { std, maxAbs, mean } = stats(values);
    // The pre-truncation stddev is target / 0.8796..., and values stop at twice that.
    const sigma = target / 0.87962566103423978;
    assert.ok(maxAbs <= 2 * sigma * (1 + 1e-6), `max |w| ${maxAbs} beyond 2 sigma ${2 * sigma}`);
    assert.ok(maxAbs > 1.95 * sigma);
    assert.ok(Math.abs(mean) < 0.02 * target);
    assertClose([std], [target], 0.02, `stddev of ${serializeInitializer(init) as string}`);
  }
});

test('zeros, ones, constant', () => {
  assert.deepEqual(zeros()([2, 2], seeded(1)).toArray(), [0, 0, 0, 0]);
  assert.deepEqual(ones()([3], seeded(1)).toArray(), [1, 1, 1]);
  const half = constant({ value: 0.5 });
  assert.deepEqual(half([2], seeded(1)).toArray(), [0.5, 0.5]);
  assert.deepEqual(serializeInitializer(half), { className: 'Constant', config: { value: 0.5 } });
});

test('initialisers are addressable by Keras names, TF.js names and configs', () => {
  assert.equal(serializeInitializer(getInitializer('he_normal')), 'he_normal');
  assert.equal(serializeInitializer(getInitializer('heNormal')), 'he_normal');
  assert.equal(serializeInitializer(getInitializer('GlorotUniform')), 'glorot_uniform');
  assert.equal(serializeInitializer(getInitializer('zeros')), 'zeros');
  const c = getInitializer({ className: 'Constant', config: { value: 2 } });
  assert.deepEqual(c([1], seeded(1)).toArray(), [2]);
  assert.throws(() => getInitializer('xavier'), /unknown initializer 'xavier' \(known: glorot_uniform/);
});

test('same seed, same weights', () => {
  const a = glorotUniform()([5, 7], seeded(42)).toArray();
  const b = glorotUniform()([5, 7], seeded(42)).toArray();
  const c = glorotUniform()([5, 7], seeded(43)).toArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('RandomUniform, RandomNormal, TruncatedNormal: Keras defaults, configs that round-trip', () => {
  const uniform = getInitializer('random_uniform')([2000], seeded(5)).toArray();
  assert.ok(
    uniform.every((v) => v >= -0.05 && v < 0.05),
    'Keras default range [-0.05, 0.05)',
  );
  assert.ok(Math.max(...uniform) > 0.049 && Math.min(...uniform) < -0.049);
  const tokens = getInitializer({ className: 'TruncatedNormal', config: { stddev: 0.02 } });
  assert.deepEqual(serializeInitializer(tokens), {
    className: 'TruncatedNormal',
    config: { mean: 0, stddev: 0.02 },
  });
  const values = tokens([5000], seeded(6)).toArray();
  assert.ok(
    values.every((v) => Math.abs(v) <= 0.04 * (1 + 1e-6)),
    'redrawn beyond two stddev',
  );
  assertClose([stats(values).std], [0.02 * 0.87962566103423978], 0.03, 'stddev after truncation');
  const normal = getInitializer({ className: 'RandomNormal', config: { mean: 1, stddev: 0.5 } });
  assertClose([stats(normal([5000], seeded(7)).toArray()).mean], [1], 0.02, 'mean');
  const again = getInitializer(serializeInitializer(normal));
  assert.deepEqual(again([4], seeded(8)).toArray(), normal([4], seeded(8)).toArray());
  assert.throws(
    () => getInitializer({ className: 'RandomUniform', config: { minval: 'low' } }),
    /RandomUniform initializer: config.minval must be a finite number, found "low"/,
  );
});
