import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/util/random.js';

describe('Random (xoshiro128**)', () => {
  test('matches the reference output function for state [1, 2, 3, 4]', () => {
    const random = Random.fromState({ algorithm: 'xoshiro128**', words: [1, 2, 3, 4], spareNormal: null });
    // First output: rotl(s1 * 5, 7) * 9 = rotl(10, 7) * 9 = 1280 * 9; the second is 0 for this state.
    assert.equal(random.nextUint32(), 11520);
    assert.equal(random.nextUint32(), 0);
  });

  test('the same seed gives the same stream; other seeds and streams differ', () => {
    const draw = (random: Random) => Array.from({ length: 8 }, () => random.nextUint32());
    assert.deepEqual(draw(new Random(42)), draw(new Random(42)));
    assert.notDeepEqual(draw(new Random(42)), draw(new Random(43)));
    assert.notDeepEqual(draw(new Random(42, 0)), draw(new Random(42, 1)));
    assert.notDeepEqual(draw(new Random(42)), draw(new Random(42, 0)));
    assert.notDeepEqual(draw(new Random(1)), draw(new Random(1 + 2 ** 32)), 'high bits of the seed count');
  });

  test('state() and fromState() resume exactly, including a pending normal deviate', () => {
    const random = new Random(7);
    random.normal(); // leaves the spare deviate cached
    const saved = JSON.parse(JSON.stringify(random.state()));
    const expected = [random.normal(), random.nextFloat(), random.nextInt(1000), random.normal()];
    const restored = Random.fromState(saved);
    assert.deepEqual(
      [restored.normal(), restored.nextFloat(), restored.nextInt(1000), restored.normal()],
      expected,
    );
  });

  test('nextFloat is in [0, 1) and nextInt is in range and roughly uniform', () => {
    const random = new Random(3);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const f = random.nextFloat();
      assert.ok(f >= 0 && f < 1);
      counts[random.nextInt(10)]++;
    }
    // Chi-square with 9 degrees of freedom; 27.9 is the 0.999 quantile.
    const chiSquare = counts.reduce((sum, c) => sum + (c - 10_000) ** 2 / 10_000, 0);
    assert.ok(chiSquare < 27.9, `chi-square ${chiSquare}`);
    assert.throws(() => random.nextInt(0), RangeError);
    assert.throws(() => random.nextInt(2.5), RangeError);
  });

  test('normal() has mean 0 and standard deviation 1', () => {
    const random = new Random(11);
    const n = 50_000;
    let sum = 0;
    let sumOfSquares = 0;
    for (let i = 0; i < n; i++) {
      const z = random.normal();
      sum += z;
      sumOfSquares += z * z;
    }
    const mean = sum / n;
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(sumOfSquares / n - mean * mean) - 1) < 0.02);
  });

  test('shuffle is a seeded permutation', () => {
    const a = new Random(5).shuffle([...Array(50).keys()]);
    const b = new Random(5).shuffle([...Array(50).keys()]);
    assert.deepEqual(a, b);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      [...Array(50).keys()],
    );
    assert.notDeepEqual(a, [...Array(50).keys()]);
    assert.deepEqual(Array.from(new Random(5).permutation(50)), a);
  });
});
