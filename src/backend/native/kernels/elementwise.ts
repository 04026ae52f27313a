// Elementwise kernels on the addon: unary activations and their gradients (oneDNN eltwise),
// broadcasting binary arithmetic and reductions (native/src/eltwise.cc, binary.cc).
import type { BroadcastAttrs, FloatStorage, KernelName, Kernels, Shape } from '../../kernels.js';
import { BinaryOp, EltwiseOp, Op, ReduceOp, type BinaryOpCode, type EltwiseOpCode } from '../binding.js';
import { f32, sizeOf, type NativeContext } from '../context.js';

type ElementwiseKernels = Pick<
  Kernels,
  | 'Neg'
  | 'Exp'
  | 'Log'
  | 'Sqrt'
  | 'Abs'
  | 'Relu'
  | 'LeakyRelu'
  | 'Sigmoid'
  | 'Tanh'
  | 'Gelu'
  | 'GeluTanh'
  | 'ReluGrad'
  | 'LeakyReluGrad'
  | 'SigmoidGrad'
  | 'TanhGrad'
  | 'GeluGrad'
  | 'GeluTanhGrad'
  | 'Add'
  | 'Sub'
  | 'Mul'
  | 'Div'
  | 'Pow'
  | 'Maximum'
  | 'Minimum'
  | 'Equal'
  | 'Greater'
  | 'Sum'
  | 'Max'
>;

export function elementwiseKernels(ctx: NativeContext): ElementwiseKernels {
  const unary =
    (op: EltwiseOpCode, kernel: KernelName) =>
    (x: FloatStorage, alpha = 0): Float32Array => {
      const input = f32(x, kernel);
      const y = ctx.float32(input.length);
      ctx.emit(Op.Eltwise, [input, y], [op, input.length], 2, [alpha]);
      return y;
    };

  /** `data` is x for Relu/LeakyRelu/Gelu/GeluTanh and the forward output y for Sigmoid/Tanh. */
  const unaryGrad =
    (op: EltwiseOpCode, kernel: KernelName) =>
    (dy: FloatStorage, data: FloatStorage, alpha = 0): Float32Array => {
      const g = f32(dy, kernel);
      const dx = ctx.float32(g.length);
      ctx.emit(Op.EltwiseGrad, [g, f32(data, kernel, g.length), dx], [op, g.length], 2, [alpha]);
      return dx;
    };

  const binary =
    (op: BinaryOpCode, kernel: KernelName) =>
    (a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs): Float32Array => {
      const out = ctx.float32(sizeOf(attrs.outShape));
      const p = ctx.packer.start().push(op).shape(attrs.aShape).shape(attrs.bShape).shape(attrs.outShape);
      ctx.emit(
        Op.Binary,
        [f32(a, kernel, sizeOf(attrs.aShape)), f32(b, kernel, sizeOf(attrs.bShape)), out],
        p.packed,
        p.length,
      );
      return out;
    };

  const reduce =
    (op: (typeof ReduceOp)[keyof typeof ReduceOp], kernel: KernelName) =>
    (x: FloatStorage, attrs: { shape: Shape; axes: readonly number[] }): Float32Array => {
      let size = 1;
      attrs.shape.forEach((d, axis) => {
        if (!attrs.axes.includes(axis)) size *= d;
      });
      const out = ctx.float32(size);
      const p = ctx.packer.start().push(op).shape(attrs.shape).shape(attrs.axes);
      ctx.emit(Op.Reduce, [f32(x, kernel, sizeOf(attrs.shape)), out], p.packed, p.length);
      return out;
    };

  const leakyRelu = unary(EltwiseOp.LeakyRelu, 'LeakyRelu');
  const leakyGrad = unaryGrad(EltwiseOp.LeakyRelu, 'LeakyReluGrad');
  return {
    Neg: unary(EltwiseOp.Neg, 'Neg'),
    Exp: unary(EltwiseOp.Exp, 'Exp'),
    Log: unary(EltwiseOp.Log, 'Log'),
    Sqrt: unary(EltwiseOp.Sqrt, 'Sqrt'),
    Abs: unary(EltwiseOp.Abs, 'Abs'),
    Relu: unary(EltwiseOp.Relu, 'Relu'),
    LeakyRelu: (x, attrs) => leakyRelu(x, attrs.alpha),
    Sigmoid: unary(EltwiseOp.Sigmoid, 'Sigmoid'),
    Tanh: unary(EltwiseOp.Tanh, 'Tanh'),
    Gelu: unary(EltwiseOp.Gelu, 'Gelu'),
    GeluTanh: unary(EltwiseOp.GeluTanh, 'GeluTanh'),

    ReluGrad: unaryGrad(EltwiseOp.Relu, 'ReluGrad'),
    LeakyReluGrad: (dy, x, attrs) => leakyGrad(dy, x, attrs.alpha),
    SigmoidGrad: unaryGrad(EltwiseOp.Sigmoid, 'SigmoidGrad'),
    TanhGrad: unaryGrad(EltwiseOp.Tanh, 'TanhGrad'),
    GeluGrad: unaryGrad(EltwiseOp.Gelu, 'GeluGrad'),
    GeluTanhGrad: unaryGrad(EltwiseOp.GeluTanh, 'GeluTanhGrad'),

    Add: binary(BinaryOp.Add, 'Add'),
    Sub: binary(BinaryOp.Sub, 'Sub'),
    Mul: binary(BinaryOp.Mul, 'Mul'),
    Div: binary(BinaryOp.Div, 'Div'),
    Pow: binary(BinaryOp.Pow, 'Pow'),
    Maximum: binary(BinaryOp.Maximum, 'Maximum'),
    Minimum: binary(BinaryOp.Minimum, 'Minimum'),
    Equal: binary(BinaryOp.Equal, 'Equal'),
    Greater: binary(BinaryOp.Greater, 'Greater'),

    Sum: reduce(ReduceOp.Sum, 'Sum'),
    Max: reduce(ReduceOp.Max, 'Max'),
  };
}
