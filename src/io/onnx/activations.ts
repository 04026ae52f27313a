// Our activations as ONNX opset-17 nodes (shared by the layer-graph exporter and the vit's).
import type { ActivationName } from '../../nn/activations.js';
import type { GraphBuilder } from './builder.js';

/** The node(s) computing activation `name` of `x`; returns the output's name (`x` for linear). */
export function activation(g: GraphBuilder, name: ActivationName, x: string, wanted: string): string {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', [x], wanted);
    case 'sigmoid':
      return g.node('Sigmoid', [x], wanted);
    case 'tanh':
      return g.node('Tanh', [x], wanted);
    case 'softmax':
      return g.node('Softmax', [x], wanted, { axis: { int: -1 } });
    case 'log_softmax':
      return g.node('LogSoftmax', [x], wanted, { axis: { int: -1 } });
    case 'leaky_relu':
      // Keras 3's leaky_relu slope, as in src/nn/activations.ts.
      return g.node('LeakyRelu', [x], wanted, { alpha: { float: 0.2 } });
    case 'gelu': {
      // Exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt 2)); the Gelu op needs opset 20.
      const erf = g.node(
        'Erf',
        [g.node('Div', [x, g.floats('sqrt2', [], [Math.SQRT2])], `${wanted}_div`)],
        `${wanted}_erf`,
      );
      const onePlus = g.node('Add', [erf, g.floats('one', [], [1])], `${wanted}_add`);
      return g.node(
        'Mul',
        [g.node('Mul', [x, g.floats('half', [], [0.5])], `${wanted}_half`), onePlus],
        wanted,
      );
    }
    case 'gelu_tanh': {
      // x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), from opset-17 ops.
      const cube = g.node('Mul', [g.node('Mul', [x, x], `${wanted}_sq`), x], `${wanted}_cube`);
      const inner = g.node(
        'Add',
        [x, g.node('Mul', [cube, g.floats('gelu_cubic', [], [0.044715])], `${wanted}_cubic`)],
        `${wanted}_inner`,
      );
      const t = g.node(
        'Tanh',
        [g.node('Mul', [inner, g.floats('gelu_scale', [], [Math.sqrt(2 / Math.PI)])], `${wanted}_scaled`)],
        `${wanted}_tanh`,
      );
      const onePlus = g.node('Add', [t, g.floats('one', [], [1])], `${wanted}_add`);
      return g.node(
        'Mul',
        [g.node('Mul', [x, g.floats('half', [], [0.5])], `${wanted}_half`), onePlus],
        wanted,
      );
    }
  }
}
