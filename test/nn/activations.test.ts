// Activations by Keras name, values against hand-computed ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers.js';
import { activationNames, getActivation } from '../../src/nn/activations.js';
import { tensor } from '../../src/tensor/ops/creation.js';

const x = () => tensor([[-2, 0, 1]]);

test('elementwise activations', () => {
  assertClose(getActivation('linear')(x()).toArray(), [-2, 0, 1]);
  assertClose(getActivation('relu')(x()).toArray(), [0, 0, 1]);
  assertClose(getActivation('sigmoid')(x()).toArray(), [1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-1))]);
  assertClose(getActivation('tanh')(x()).toArray(), [Math.tanh(-2), 0, Math.tanh(1)]);
  // Exact GELU: x * Phi(x); Phi(1) = 0.8413447460685429, Phi(-2) = 0.022750131948179195.
  assertClose(getActivation('gelu')(x()).toArray(), [-2 * 0.022750131948179195, 0, 0.8413447460685429], 1e-5);
  // The tanh approximation (PyTorch 1.13, F.gelu(x, approximate='tanh')).
  assertClose(getActivation('gelu_tanh')(x()).toArray(), [-0.04540230591222453, 0, 0.8411919906082768], 1e-6);
  assertClose(getActivation('geluTanh')(x()).toArray(), [-0.04540230591222453, 0, 0.8411919906082768], 1e-6);
  assertClose(getActivation('leaky_relu')(x()).toArray(), [-0.4, 0, 1]);
});

test('softmax and log_softmax act on the last axis', () => {
  const z = Math.exp(-2) + 1 + Math.exp(1);
  const expected = [Math.exp(-2) / z, 1 / z, Math.exp(1) / z];
  assertClose(getActivation('softmax')(x()).toArray(), expected, 1e-5);
  assertClose(getActivation('log_softmax')(x()).toArray(), expected.map(Math.log), 1e-5);
});

test('names: Keras snake case, TF.js camel case, undefined is linear, unknown fails', () => {
  assert.deepEqual(activationNames().sort(), [
    'gelu',
    'gelu_tanh',
    'leaky_relu',
    'linear',
    'log_softmax',
    'relu',
    'sigmoid',
    'softmax',
    'tanh',
  ]);
  assertClose(getActivation('leakyRelu')(x()).toArray(), [-0.4, 0, 1]);
  const input = x();
  assert.equal(getActivation(undefined)(input), input);
  assert.throws(() => getActivation('swishy'), /unknown activation 'swishy' \(known: linear, relu/);
});
