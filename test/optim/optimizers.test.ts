// Optimizers against hand-computed two-step updates, clipping, learning-rate multipliers, exact
// state save/restore, names and configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from '../nn/helpers.js';
import {
  adam,
  adamW,
  cosineDecay,
  getOptimizer,
  piecewiseConstantDecay,
  rmsprop,
  serializeOptimizer,
  sgd,
} from '../../src/optim/index.js';
import type { Optimizer } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';

const P0 = [1, -2];
const G = [
  [0.1, 0.2],
  [-0.3, 0.4],
];

/** Applies the two gradient steps of G to a fresh [1, -2] parameter; returns its values after each. */
function twoSteps(optimizer: Optimizer): number[][] {
  const p = tensor(P0);
  return G.map((g) => {
    optimizer.applyGradients([p], [tensor(g)]);
    return p.toArray();
  });
}

/** Keras Adam, written out in float64 for one parameter vector. */
function kerasAdam(lr: number, b1: number, b2: number, eps: number, decoupledDecay = 0, l2 = 0): number[][] {
  const p = [...P0];
  const m = [0, 0];
  const v = [0, 0];
  return G.map((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! + l2 * p[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! - lr * decoupledDecay * p[i]!;
      p[i] = p[i]! - ((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) + eps));
    }
    return [...p];
  });
}

test('Adam: two steps with bias correction (Keras form)', () => {
  const steps = twoSteps(adam({ learningRate: 0.1 }));
  // The first bias-corrected step moves each parameter by about lr against its gradient's sign.
  assertClose(steps[0]!, [0.9, -2.1], 1e-5);
  const expected = kerasAdam(0.1, 0.9, 0.999, 1e-7);
  assertClose(steps[1]!, expected[1]!, 1e-6);
  // A large epsilon makes the placement of epsilon visible: Keras adds it to sqrt(v) as corrected.
  const bigEpsilon = twoSteps(adam({ learningRate: 0.1, beta1: 0.7, beta2: 0.9, epsilon: 0.05 }));
  assertClose(bigEpsilon.flat(), kerasAdam(0.1, 0.7, 0.9, 0.05).flat(), 1e-6);
});

test('Adam weightDecay is L2 through the gradient; AdamW decays the weights directly', () => {
  assertClose(
    twoSteps(adam({ learningRate: 0.1, weightDecay: 0.5 })).flat(),
    kerasAdam(0.1, 0.9, 0.999, 1e-7, 0, 0.5).flat(),
    1e-6,
  );
  assertClose(
    twoSteps(adamW({ learningRate: 0.1, weightDecay: 0.5 })).flat(),
    kerasAdam(0.1, 0.9, 0.999, 1e-7, 0.5).flat(),
    1e-6,
  );
  const defaults = adamW();
  assert.equal(defaults.weightDecay, 0.004);
  assert.equal(defaults.epsilon, 1e-7);
  assert.equal(defaults.currentLearningRate(), 0.001);
});

test('SGD: plain, momentum and Nesterov in Keras form', () => {
  assertClose(twoSteps(sgd({ learningRate: 0.1 })).flat(), [0.99, -2.02, 1.02, -2.06], 1e-6);
  // velocity = 0.9 v - 0.1 g; p += velocity
  //   v1 = [-0.01, -0.02], p1 = [0.99, -2.02]; v2 = [0.021, -0.058], p2 = [1.011, -2.078]
  assertClose(twoSteps(sgd({ learningRate: 0.1, momentum: 0.9 })).flat(), [0.99, -2.02, 1.011, -2.078], 1e-6);
  // Nesterov: p += 0.9 v - 0.1 g: p1 = 1 - 0.009 - 0.01, p2 = p1 + 0.0189 + 0.03
  assertClose(
    twoSteps(sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true })).flat(),
    [0.981, -2.038, 1.0299, -2.1302],
    1e-6,
  );
});

test('SGD momentum keeps the learning rate inside the velocity (a rate change does not rescale it)', () => {
  // lr 0.1 then 0.2: v2 = 0.9 * -0.01 - 0.2 * -0.3 = 0.051 (PyTorch's form would give 0.042).
  const schedule = piecewiseConstantDecay({ boundaries: [0], values: [0.1, 0.2] });
  const steps = twoSteps(sgd({ learningRate: schedule, momentum: 0.9 }));
  assertClose(steps[1]!, [0.99 + 0.051, -2.02 + 0.9 * -0.02 - 0.2 * 0.4], 1e-6);
});

test('SGD weightDecay adds weightDecay * p to the gradient', () => {
  // g1 = 0.1 + 0.5 * 1 = 0.6 -> 0.94; g2 = -0.3 + 0.47 = 0.17 -> 0.923
  assertClose(
    twoSteps(sgd({ learningRate: 0.1, weightDecay: 0.5 })).map((s) => s[0]!),
    [0.94, 0.923],
    1e-6,
  );
});

/** Keras RMSprop in float64. */
function kerasRmsprop(lr: number, rho: number, momentum: number, eps: number, centered: boolean): number[][] {
  const p = [...P0];
  const v = [0, 0];
  const a = [0, 0];
  const b = [0, 0];
  return G.map((g) => {
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      v[i] = rho * v[i]! + (1 - rho) * gi * gi;
      let denominator = v[i]! + eps;
      if (centered) {
        a[i] = rho * a[i]! + (1 - rho) * gi;
        denominator -= a[i]! * a[i]!;
      }
      const increment = (lr * gi) / Math.sqrt(denominator);
      b[i] = momentum * b[i]! + increment;
      p[i] = p[i]! - (momentum > 0 ? b[i]! : increment);
    }
    return [...p];
  });
}

test('RMSprop: plain, momentum, centered (Keras form)', () => {
  const plain = twoSteps(rmsprop({ learningRate: 0.01 }));
  // v1 = 0.1 * 0.01 = 0.001: step = 0.01 * 0.1 / sqrt(0.001 + 1e-7) = 0.0316212
  assertClose([plain[0]![0]!], [1 - 0.001 / Math.sqrt(0.001 + 1e-7)], 1e-6);
  assertClose(plain.flat(), kerasRmsprop(0.01, 0.9, 0, 1e-7, false).flat(), 1e-6);
  assertClose(
    twoSteps(rmsprop({ learningRate: 0.01, momentum: 0.9 })).flat(),
    kerasRmsprop(0.01, 0.9, 0.9, 1e-7, false).flat(),
    1e-6,
  );
  assertClose(
    twoSteps(rmsprop({ learningRate: 0.01, rho: 0.8, centered: true, epsilon: 1e-3 })).flat(),
    kerasRmsprop(0.01, 0.8, 0, 1e-3, true).flat(),
    1e-6,
  );
});

test('clipNorm scales every gradient by clipNorm / globalNorm before the update', () => {
  const a = tensor([0]);
  const b = tensor([0, 0]);
  const optimizer = sgd({ learningRate: 1, clipNorm: 1 });
  optimizer.applyGradients([a, b], [tensor([3]), tensor([0, 4])]); // global norm 5
  assertClose([...a.toArray(), ...b.toArray()], [-0.6, 0, -0.8], 1e-6);
  // Below the threshold gradients are untouched.
  optimizer.applyGradients([a, b], [tensor([0.3]), tensor([0, 0.4])]);
  assertClose([...a.toArray(), ...b.toArray()], [-0.9, 0, -1.2], 1e-6);
  assert.throws(() => sgd({ clipNorm: 0 }), /clipNorm must be positive/);
});

test('learning-rate multipliers: an array aligned with params, or a map by tensor', () => {
  const a = tensor([1]);
  const b = tensor([1]);
  sgd({ learningRate: 0.1, lrMultipliers: [1, 0.5] }).applyGradients([a, b], [tensor([1]), tensor([1])]);
  assertClose([a.item(), b.item()], [0.9, 0.95], 1e-6);
  // Adam, fused per group: a frozen-by-zero group stays put; the other moves by about lr.
  const c = tensor([1, 1]);
  const d = tensor([1]);
  const optimizer = adam({ learningRate: 0.1, lrMultipliers: new Map([[d, 0]]) });
  optimizer.applyGradients([c, d], [tensor([1, -1]), tensor([1])]);
  assertClose([...c.toArray(), d.item()], [0.9, 1.1, 1], 1e-5);
  assert.throws(
    () => sgd({ lrMultipliers: [1] }).applyGradients([a, b], [tensor([1]), tensor([1])]),
    /lrMultipliers has 1 entries for 2 parameters/,
  );
});

/** Deterministic gradient for step s of parameter k. */
function gradientAt(step: number, k: number, size: number): Tensor {
  return tensor(Array.from({ length: size }, (_, i) => Math.sin(step * 1.3 + k * 0.7 + i)));
}

function trainSteps(optimizer: Optimizer, params: Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    tidy(() =>
      optimizer.applyGradients(
        params,
        params.map((p, k) => gradientAt(s, k, p.size)),
      ),
    );
  }
}

function namedParams(): Tensor[] {
  const a = tensor([0.5, -0.5, 1.5]);
  a.name = 'dense/kernel';
  const b = tensor([0.25]);
  b.name = 'dense/bias';
  return [a, b];
}

for (const make of [
  () => adam({ learningRate: 0.05 }),
  () => adamW({ learningRate: 0.05 }),
  () => sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true }),
  () => rmsprop({ learningRate: 0.05, momentum: 0.5, centered: true }),
]) {
  const name = make().className;
  test(`${name}: getState/setState resumes bit-identically (slots survive tidy, match by name)`, () => {
    const straight = namedParams();
    trainSteps(make(), straight, 0, 6);

    const first = make();
    const resumed = namedParams();
    trainSteps(first, resumed, 0, 3);
    const state = first.getState();
    assert.equal(state.iterations, 3);
    for (const slots of Object.values(state.slots)) {
      assert.equal(slots.length, 2);
      for (const slot of slots) assert.equal(slot.disposed, false);
    }
    // A new optimizer (as after a restart) continues; parameters given in another order still
    // get their own slots back, by name.
    const second = make();
    second.setState(state);
    assert.equal(second.iterations, 3);
    const reversed = [resumed[1]!, resumed[0]!];
    for (let s = 3; s < 6; s++) {
      tidy(() => second.applyGradients(reversed, [gradientAt(s, 1, 1), gradientAt(s, 0, 3)]));
    }
    assert.deepEqual(
      resumed.map((p) => p.toArray()),
      straight.map((p) => p.toArray()),
    );
  });
}

test('getState before any update reports what setState restored', () => {
  const optimizer = adam();
  const m = tensor([0.1]);
  m.name = 'w/m';
  const v = tensor([0.2]);
  v.name = 'w/v';
  optimizer.setState({ iterations: 7, slots: { m: [m], v: [v] } });
  const state = optimizer.getState();
  assert.equal(state.iterations, 7);
  assert.deepEqual(
    state.slots['m']?.map((t) => t.toArray()),
    [[0.1].map((x) => Math.fround(x))],
  );
  const w = tensor([1]);
  w.name = 'other';
  // Named slots that name no parameter of the model are an error only when sizes clash; here the
  // parameter simply starts fresh.
  optimizer.applyGradients([w], [tensor([1])]);
  assert.equal(optimizer.iterations, 8);
});

test('optimizers by Keras name; configs round-trip with schedules', () => {
  assert.equal(getOptimizer('adam').className, 'Adam');
  assert.equal(getOptimizer('Adam').currentLearningRate(), 0.001);
  assert.equal(getOptimizer('adamw').className, 'AdamW');
  assert.equal(getOptimizer('sgd').currentLearningRate(), 0.01);
  assert.equal(getOptimizer('rmsprop').className, 'RMSprop');
  const original = adam({
    learningRate: cosineDecay({
      initialLearningRate: 0,
      warmupTarget: 0.01,
      warmupSteps: 10,
      decaySteps: 90,
    }),
    beta1: 0.7,
    beta2: 0.9,
    clipNorm: 1,
  });
  assert.equal(getOptimizer(original), original);
  const saved = JSON.parse(JSON.stringify(serializeOptimizer(original)));
  const copy = getOptimizer(saved);
  assert.deepEqual(copy.getConfig(), original.getConfig());
  assert.equal(copy.clipNorm, 1);
  assert.equal(typeof copy.learningRate === 'number' ? NaN : copy.learningRate.at(5), 0.005);
  assert.throws(
    () => getOptimizer('adagrad'),
    /unknown optimizer 'adagrad' \(known: adam, adamw, sgd, rmsprop\)/,
  );
});

test('argument errors name the optimizer and the mismatch', () => {
  const p = tensor([1, 2]);
  assert.throws(() => sgd().applyGradients([p], []), /SGD: 1 parameters but 0 gradients/);
  assert.throws(
    () => sgd().applyGradients([p], [tensor([1, 2, 3])]),
    /SGD: gradient 0 is float32 \[3\], parameter 0 is float32 \[2\]/,
  );
});
