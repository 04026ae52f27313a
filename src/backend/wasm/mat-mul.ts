// MatMul on wasm (wasm/src/matmul.c): batch products split into output blocks, rows of each
// product when it has enough of them, else columns.
import type { MatMulAttrs } from '../kernels.js';
import { checkMatMul } from '../js/mat-mul.js';
import { TASKS_PER_THREAD, lines, roundUp, withFrame, type WasmContext } from './context.js';

const MR = 4;
const NR = 8;

export function matMul(ctx: WasmContext, a: Float32Array, b: Float32Array, attrs: MatMulAttrs): Float32Array {
  checkMatMul(a, b, attrs);
  const { batch, m, k, n, transposeA, transposeB } = attrs;
  const out = ctx.alloc('float32', batch * m * n);
  if (out.length === 0) return out;
  const e = ctx.exports;
  const flops = 2 * batch * m * n * k;
  const parallel = flops >= ctx.minParallelFlops;
  // Blocks per product so that all products together make about TASKS_PER_THREAD tasks per thread.
  const wanted = parallel ? Math.max(1, Math.ceil((ctx.threads.threads * TASKS_PER_THREAD) / batch)) : 1;
  let rowBlock = m;
  let colBlock = n;
  if (m >= n || m >= 16 * MR) rowBlock = Math.max(4 * MR, roundUp(Math.ceil(m / wanted), MR));
  else colBlock = Math.max(4 * NR, roundUp(Math.ceil(n / wanted), NR));
  const tasks = batch * Math.ceil(m / rowBlock) * Math.ceil(n / colBlock);
  withFrame(ctx, (f) => {
    const stride = lines(e.matmul_scratch_bytes(k, colBlock));
    const scratch = f.scratch(stride * ctx.threads.threads);
    // A fresh scratch header per thread: no packed panel of an earlier call is taken for this one's.
    const headers = ctx.heap.view(Int32Array, scratch, (stride * ctx.threads.threads) / 4);
    for (let t = 0; t < ctx.threads.threads; t++) headers[(t * stride) / 4] = -1;
    const args = [
      f.input(a),
      f.input(b),
      f.output(out),
      m,
      k,
      n,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      rowBlock,
      colBlock,
      0,
      scratch,
      stride,
    ];
    ctx.threads.run('matmul_task', args, tasks, parallel);
  });
  return out;
}
