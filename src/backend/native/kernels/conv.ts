// Convolution and pooling on the addon (oneDNN; native/src/conv.cc, pool.cc): NHWC activations,
// HWIO kernels, the 17-int geometry block of binding.ts.
import type { Conv2DAttrs, FloatStorage, KernelName, Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { f32, type NativeContext } from '../context.js';

type ConvKernels = Pick<
  Kernels,
  | 'Conv2D'
  | 'FusedConv2D'
  | 'Conv2DBackpropInput'
  | 'Conv2DBackpropFilter'
  | 'Conv2DBackpropFilterBias'
  | 'MaxPool'
  | 'MaxPoolGrad'
  | 'AvgPool'
  | 'AvgPoolGrad'
>;

/** The op's precision flag: 1 for bfloat16 operands with float32 accumulation. */
function bf16(attrs: Conv2DAttrs): number {
  return attrs.precision === 'bfloat16' ? 1 : 0;
}

export function convKernels(ctx: NativeContext): ConvKernels {
  /** Conv2D and FusedConv2D: one oneDNN convolution, + bias, with relu as a post-op when asked. */
  const forward = (
    kernel: KernelName,
    x: FloatStorage,
    w: FloatStorage,
    bias: FloatStorage | null,
    attrs: Conv2DAttrs,
    relu: boolean,
  ): Float32Array => {
    const y = ctx.float32(attrs.N * attrs.OH * attrs.OW * attrs.O);
    const p = ctx.packer
      .start()
      .window(attrs, attrs.O)
      .push(relu ? 1 : 0)
      .push(bf16(attrs));
    ctx.emit(
      Op.Conv2D,
      [
        f32(x, kernel, attrs.N * attrs.H * attrs.W * attrs.C),
        f32(w, kernel, attrs.KH * attrs.KW * attrs.C * attrs.O),
        bias ? f32(bias, kernel, attrs.O) : null,
        y,
      ],
      p.packed,
      p.length,
    );
    return y;
  };

  /** Conv2DBackpropFilter, with the bias gradient in the same op when `dbias` is given. */
  const filterGradient = (
    kernel: KernelName,
    x: FloatStorage,
    dy: FloatStorage,
    attrs: Conv2DAttrs,
    dbias: Float32Array | null,
  ): Float32Array => {
    const dw = ctx.float32(attrs.KH * attrs.KW * attrs.C * attrs.O);
    const p = ctx.packer.start().window(attrs, attrs.O).push(bf16(attrs));
    ctx.emit(
      Op.Conv2DBackpropFilter,
      [
        f32(x, kernel, attrs.N * attrs.H * attrs.W * attrs.C),
        f32(dy, kernel, attrs.N * attrs.OH * attrs.OW * attrs.O),
        dw,
        dbias,
      ],
      p.packed,
      p.length,
    );
    return dw;
  };

  /** The pooling ops: (input, output[, workspace]) over the window's geometry. */
  const pool = (
    code: (typeof Op)[keyof typeof Op],
    buffers: (Float32Array | Int32Array)[],
    attrs: Conv2DAttrs | Parameters<Kernels['AvgPool']>[1],
  ): void => {
    const p = ctx.packer.start().window(attrs);
    ctx.emit(code, buffers, p.packed, p.length);
  };

  return {
    Conv2D: (x, w, bias, attrs) => forward('Conv2D', x, w, bias, attrs, false),
    // The activation was checked by the tensor op (conv2d); 'relu' is the only one fused here.
    FusedConv2D: (x, w, bias, attrs) =>
      forward('FusedConv2D', x, w, bias, attrs, attrs.activation === 'relu'),
    Conv2DBackpropInput(dy, w, attrs) {
      const dx = ctx.float32(attrs.N * attrs.H * attrs.W * attrs.C);
      const p = ctx.packer.start().window(attrs, attrs.O).push(bf16(attrs));
      ctx.emit(
        Op.Conv2DBackpropInput,
        [
          f32(dy, 'Conv2DBackpropInput', attrs.N * attrs.OH * attrs.OW * attrs.O),
          f32(w, 'Conv2DBackpropInput', attrs.KH * attrs.KW * attrs.C * attrs.O),
          dx,
        ],
        p.packed,
        p.length,
      );
      return dx;
    },
    Conv2DBackpropFilter: (x, dy, attrs) => filterGradient('Conv2DBackpropFilter', x, dy, attrs, null),
    Conv2DBackpropFilterBias(x, dy, attrs) {
      const dbias = ctx.float32(attrs.O);
      return { dw: filterGradient('Conv2DBackpropFilterBias', x, dy, attrs, dbias), dbias };
    },

    MaxPool(x, attrs) {
      const input = f32(x, 'MaxPool', attrs.N * attrs.H * attrs.W * attrs.C);
      const geometry = ctx.packer.start().window(attrs).packed;
      const workspace = ctx.int32(Math.ceil(ctx.addon.maxPoolWorkspaceBytes(geometry) / 4));
      const y = ctx.float32(attrs.N * attrs.OH * attrs.OW * attrs.C);
      pool(Op.MaxPool, [input, y, workspace], attrs);
      return { y, workspace };
    },
    MaxPoolGrad(dy, _x, workspace, attrs) {
      if (!(workspace instanceof Int32Array)) {
        throw new Error('native backend: MaxPoolGrad expects the workspace MaxPool returned (an Int32Array)');
      }
      const dx = ctx.float32(attrs.N * attrs.H * attrs.W * attrs.C);
      pool(
        Op.MaxPoolGrad,
        [f32(dy, 'MaxPoolGrad', attrs.N * attrs.OH * attrs.OW * attrs.C), dx, workspace],
        attrs,
      );
      return dx;
    },
    AvgPool(x, attrs) {
      const y = ctx.float32(attrs.N * attrs.OH * attrs.OW * attrs.C);
      pool(Op.AvgPool, [f32(x, 'AvgPool', attrs.N * attrs.H * attrs.W * attrs.C), y], attrs);
      return y;
    },
    AvgPoolGrad(dy, attrs) {
      const dx = ctx.float32(attrs.N * attrs.H * attrs.W * attrs.C);
      pool(Op.AvgPoolGrad, [f32(dy, 'AvgPoolGrad', attrs.N * attrs.OH * attrs.OW * attrs.C), dx], attrs);
      return dx;
    },
  };
}
