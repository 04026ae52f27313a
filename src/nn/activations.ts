// Activation functions by Keras name. Each maps a tensor to a tensor of the same shape; softmax
// and log_softmax act on the last axis (classes of (N, K), channels of NHWC).
import { gelu, leakyRelu, relu, sigmoid, tanh } from '../tensor/ops/elementwise.js';
import { logSoftmax, softmax } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';

export type ActivationName =
  'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'log_softmax' | 'gelu' | 'gelu_tanh' | 'leaky_relu';

export type ActivationFunction = (x: Tensor) => Tensor;

/** NOTE: Keras 3's keras.activations.leaky_relu defaults to negative_slope 0.2. */
const LEAKY_RELU_SLOPE = 0.2;

const ACTIVATIONS: Record<ActivationName, ActivationFunction> = {
  linear: (x) => x,
  relu,
  sigmoid,
  tanh,
  softmax: (x) => softmax(x),
  log_softmax: (x) => logSoftmax(x),
  // Keras's 'gelu' is the exact (erf) form; 'gelu_tanh' is its approximate=True (PyTorch's
  // approximate='tanh', TF.js's 'gelu_new').
  gelu: (x) => gelu(x),
  gelu_tanh: (x) => gelu(x, { approximate: true }),
  leaky_relu: (x) => leakyRelu(x, LEAKY_RELU_SLOPE),
};

/** Accepts Keras names and TF.js camelCase spellings ('leakyRelu', 'logSoftmax'). */
export function canonicalActivationName(name: string): ActivationName {
  const canonical = name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  if (!(canonical in ACTIVATIONS)) {
    throw new Error(`unknown activation '${name}' (known: ${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  return canonical as ActivationName;
}

/** The activation function for a name; undefined and null mean 'linear'. */
export function getActivation(name: ActivationName | string | null | undefined): ActivationFunction {
  if (name === undefined || name === null) return ACTIVATIONS.linear;
  return ACTIVATIONS[canonicalActivationName(name)];
}

export function activationNames(): ActivationName[] {
  return Object.keys(ACTIVATIONS) as ActivationName[];
}
