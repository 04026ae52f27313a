// Elementwise ops: unary activations and broadcasting binary arithmetic, each with its gradient
// beside its forward.
import type { BroadcastAttrs, FloatStorage, Shape } from '../../backend/kernels.js';
import { kernels } from '../dispatch.js';
import { Tensor, fromKernel } from '../tensor.js';
import { fill } from './creation.js';
import { floatData } from './float-data.js';
import { reshape } from './shape.js';

export type TensorLike = Tensor | number;

// ---- unary ----

export function neg(x: Tensor): Tensor {
  return fromKernel(kernels().Neg(floatData(x, 'neg')), x.shape, {
    op: 'neg',
    inputs: [x],
    backward: (dy) => [neg(dy)],
  });
}

export function exp(x: Tensor): Tensor {
  const out: Tensor = fromKernel(kernels().Exp(floatData(x, 'exp')), x.shape, {
    op: 'exp',
    inputs: [x],
    backward: (dy) => [mul(dy, out)],
  });
  return out;
}

export function log(x: Tensor): Tensor {
  return fromKernel(kernels().Log(floatData(x, 'log')), x.shape, {
    op: 'log',
    inputs: [x],
    backward: (dy) => [div(dy, x)],
  });
}

export function sqrt(x: Tensor): Tensor {
  const out: Tensor = fromKernel(kernels().Sqrt(floatData(x, 'sqrt')), x.shape, {
    op: 'sqrt',
    inputs: [x],
    backward: (dy) => [div(dy, mul(out, 2))],
  });
  return out;
}

export function abs(x: Tensor): Tensor {
  return fromKernel(kernels().Abs(floatData(x, 'abs')), x.shape, {
    op: 'abs',
    inputs: [x],
    backward: (dy) => [mul(dy, sign(x))],
  });
}

/** -1, 0 or 1 per element (not differentiable). */
export function sign(x: Tensor): Tensor {
  return sub(greater(x, 0), greater(0, x));
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}

export function relu(x: Tensor): Tensor {
  return fromKernel(kernels().Relu(floatData(x, 'relu')), x.shape, {
    op: 'relu',
    inputs: [x],
    backward: (dy) => [fromKernel(kernels().ReluGrad(floatData(dy, 'relu'), floatData(x, 'relu')), x.shape)],
  });
}

export function leakyRelu(x: Tensor, alpha = 0.3): Tensor {
  const attrs = { alpha };
  return fromKernel(kernels().LeakyRelu(floatData(x, 'leakyRelu'), attrs), x.shape, {
    op: 'leakyRelu',
    inputs: [x],
    backward: (dy) => [
      fromKernel(
        kernels().LeakyReluGrad(floatData(dy, 'leakyRelu'), floatData(x, 'leakyRelu'), attrs),
        x.shape,
      ),
    ],
  });
}

export function sigmoid(x: Tensor): Tensor {
  const out: Tensor = fromKernel(kernels().Sigmoid(floatData(x, 'sigmoid')), x.shape, {
    op: 'sigmoid',
    inputs: [x],
    backward: (dy) => [
      fromKernel(kernels().SigmoidGrad(floatData(dy, 'sigmoid'), floatData(out, 'sigmoid')), x.shape),
    ],
  });
  return out;
}

export function tanh(x: Tensor): Tensor {
  const out: Tensor = fromKernel(kernels().Tanh(floatData(x, 'tanh')), x.shape, {
    op: 'tanh',
    inputs: [x],
    backward: (dy) => [
      fromKernel(kernels().TanhGrad(floatData(dy, 'tanh'), floatData(out, 'tanh')), x.shape),
    ],
  });
  return out;
}

export interface GeluOptions {
  /**
   * false (default): exact, x * Phi(x) with the normal CDF (Keras's and PyTorch's default);
   * true: the tanh approximation, x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Keras
   * `approximate=True`, PyTorch `approximate='tanh'`).
   */
  approximate?: boolean;
}

export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const approximate = options.approximate ?? false;
  const data = floatData(x, 'gelu');
  return fromKernel(approximate ? kernels().GeluTanh(data) : kernels().Gelu(data), x.shape, {
    op: 'gelu',
    inputs: [x],
    backward: (dy) => {
      const [g, input] = [floatData(dy, 'gelu'), floatData(x, 'gelu')];
      return [
        fromKernel(approximate ? kernels().GeluTanhGrad(g, input) : kernels().GeluGrad(g, input), x.shape),
      ];
    },
  });
}

// ---- binary, broadcasting ----

/** The numpy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Sums a broadcast gradient back down to `shape`. Called only from a backward, which runs without
 * gradients (autograd.ts), so the Sum kernel is called directly: the same kernel and arguments as
 * ops.sum, without ops.sum's own gradient (and without reduce.ts, whose gradients need mul).
 */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const offset = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < offset || (shape[i - offset] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return reshape(g, shape);
  const summed = fromKernel(
    kernels().Sum(floatData(g, 'sum'), { shape: g.shape, axes }),
    g.shape.filter((_, i) => !axes.includes(i)),
  );
  return reshape(summed, shape);
}

/**
 * x repeated along the axes where it has size 1 (or is missing) to `shape`, numpy's broadcast_to;
 * the gradient sums back (unbroadcast). A copy, made by adding zeros: used where a kernel needs
 * operands of equal shape (matmul's batch axes), never in a hot path of the zoo's models.
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const out = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new Error(`broadcastTo: [${x.shape.join(', ')}] does not broadcast to [${shape.join(', ')}]`);
  }
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return add(x, fill(shape, 0, x.dtype));
}

function asTensor(value: TensorLike, like: Tensor): Tensor {
  return value instanceof Tensor ? value : fill([], value, like.dtype);
}

type BinaryKernel = (a: FloatStorage, b: FloatStorage, attrs: BroadcastAttrs) => FloatStorage;

function binary(
  op: string,
  kernel: BinaryKernel,
  aIn: TensorLike,
  bIn: TensorLike,
  backward?: (dy: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
): Tensor {
  const a = typeof aIn === 'number' ? asTensor(aIn, bIn as Tensor) : aIn;
  const b = asTensor(bIn, a);
  if (a.dtype !== b.dtype) throw new Error(`${op}: dtypes differ (${a.dtype} and ${b.dtype})`);
  const outShape = broadcastShapes(a.shape, b.shape, op);
  const storage = kernel(floatData(a, op), floatData(b, op), { aShape: a.shape, bShape: b.shape, outShape });
  if (!backward) return fromKernel(storage, outShape);
  const out: Tensor = fromKernel(storage, outShape, {
    op,
    inputs: [a, b],
    backward: (dy, needed) => {
      const [da, db] = backward(dy, a, b, out);
      return [
        needed[0] && da ? unbroadcast(da, a.shape) : null,
        needed[1] && db ? unbroadcast(db, b.shape) : null,
      ];
    },
  });
  return out;
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'add',
    (x, y, s) => kernels().Add(x, y, s),
    a,
    b,
    (dy) => [dy, dy],
  );
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'sub',
    (x, y, s) => kernels().Sub(x, y, s),
    a,
    b,
    (dy) => [dy, neg(dy)],
  );
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'mul',
    (x, y, s) => kernels().Mul(x, y, s),
    a,
    b,
    (dy, x, y) => [mul(dy, y), mul(dy, x)],
  );
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'div',
    (x, y, s) => kernels().Div(x, y, s),
    a,
    b,
    (dy, x, y) => [div(dy, y), neg(div(mul(dy, x), mul(y, y)))],
  );
}

/** a^b; d/da = b a^(b-1), d/db = a^b ln a. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'pow',
    (x, y, s) => kernels().Pow(x, y, s),
    a,
    b,
    (dy, x, y, out) => [
      mul(dy, mul(y, pow(x, sub(y, 1)))),
      y.requiresGrad ? mul(dy, mul(out, log(x))) : null,
    ],
  );
}

export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'maximum',
    (x, y, s) => kernels().Maximum(x, y, s),
    a,
    b,
    (dy, x, y) => {
      const bWins = greater(y, x);
      return [mul(dy, sub(1, bWins)), mul(dy, bWins)];
    },
  );
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary(
    'minimum',
    (x, y, s) => kernels().Minimum(x, y, s),
    a,
    b,
    (dy, x, y) => {
      const bWins = greater(x, y);
      return [mul(dy, sub(1, bWins)), mul(dy, bWins)];
    },
  );
}

/** 1 where a == b, else 0 (not differentiable). */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return binary('equal', (x, y, s) => kernels().Equal(x, y, s), a, b);
}

/** 1 where a > b, else 0 (not differentiable). */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return binary('greater', (x, y, s) => kernels().Greater(x, y, s), a, b);
}
