// The matrix-product engine behind MatMul and the convolutions (not a kernel itself):
//   C[i, j] (+)= sum_p A[i, p] * B[p, j],  i < m, j < n, p < k
// with A and B addressed through (offset, row stride, column stride), so transposes and im2col
// views need no copy, and C row-major with leading dimension ldc.
//
// How it is fast in plain JS (Goto/BLIS structure, scalar):
// - Blocks of A (MC x KC) and B (KC x NC) are packed into float64 scratch as 4-wide micro-panels,
//   contiguous in the order the micro-kernel reads them. Packing converts float32 once, keeps the
//   hot loop monomorphic (it only ever sees Float64Array) and makes its reads sequential.
// - The 4x4 micro-kernel keeps 16 accumulators in locals: 8 loads per 32 flops.
// - Loop order jr (B micro-panel, stays in L1) outside ir (A micro-panels, streamed from L2).
// NOTE: sums run in float64 inside a KC block; float32 outputs round once per block.
import type { FloatStorage } from '../kernels.js';
import { scratch } from './scratch.js';

const MR = 4;
const NR = 4;
/** Rows of A per packed block (MC x KC x 8 bytes ~ 200 KB at KC 384: L2). */
const MC = 64;
/** Columns of B per packed block. */
const NC = 1024;
/** Upper bound on the depth of one block; k is split into equal blocks no deeper than this. */
const KC_MAX = 384;

/** One operand: element (r, c) is data[offset + r * rowStride + c * colStride]. */
export interface MatrixView {
  data: FloatStorage;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** A row-major [rows, cols] matrix at `offset`, optionally read transposed. */
export function rowMajor(data: FloatStorage, offset: number, cols: number, transposed = false): MatrixView {
  return transposed
    ? { data, offset, rowStride: 1, colStride: cols }
    : { data, offset, rowStride: cols, colStride: 1 };
}

/**
 * C (m x n, row-major at cOffset, leading dimension ldc) = A (m x k) . B (k x n), or += when
 * `accumulate`. C must not overlap A or B.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: FloatStorage,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
    return;
  }
  const kBlocks = Math.ceil(k / KC_MAX);
  const kcFull = Math.ceil(k / kBlocks);
  const ncFull = Math.min(NC, roundUp(n, NR));
  const bPacked = scratch('gemm.b', kcFull * ncFull);
  const aPacked = scratch('gemm.a', kcFull * MC);
  const tile = scratch('gemm.tile', MR * NR);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcFull) {
      const kc = Math.min(kcFull, k - pc);
      const add = accumulate || pc > 0;
      packB(b, pc, jc, kc, nc, bPacked);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(a, ic, pc, mc, kc, aPacked);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bOff = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            const cOff = cOffset + (ic + ir) * ldc + jc + jr;
            if (mr === MR && nr === NR) {
              micro4x4(kc, aPacked, ir * kc, bPacked, bOff, c, cOff, ldc, add);
            } else {
              // Edge block: the full 4x4 into the tile, then only its valid part into C.
              micro4x4(kc, aPacked, ir * kc, bPacked, bOff, tile, 0, NR, false);
              for (let r = 0; r < mr; r++) {
                for (let s = 0; s < nr; s++) {
                  const at = cOff + r * ldc + s;
                  const v = tile[r * NR + s] as number;
                  c[at] = add ? (c[at] as number) + v : v;
                }
              }
            }
          }
        }
      }
    }
  }
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** A[ic.., pc..] (mc x kc) into micro-panels of MR rows: panel q holds p-major [kc][MR], zero-padded. */
function packA(a: MatrixView, ic: number, pc: number, mc: number, kc: number, out: Float64Array): void {
  const { data, rowStride, colStride } = a;
  const base = a.offset + ic * rowStride + pc * colStride;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const panel = ir * kc;
    if (mr === MR && rowStride === 1) {
      // A read transposed (e.g. patches^T): the panel's 4 rows are adjacent in memory.
      let src = base + ir;
      for (let p = 0, o = panel; p < kc; p++, o += MR, src += colStride) {
        out[o] = data[src] as number;
        out[o + 1] = data[src + 1] as number;
        out[o + 2] = data[src + 2] as number;
        out[o + 3] = data[src + 3] as number;
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      let o = panel + r;
      if (r >= mr) {
        for (let p = 0; p < kc; p++, o += MR) out[o] = 0;
        continue;
      }
      let src = base + (ir + r) * rowStride;
      for (let p = 0; p < kc; p++, o += MR, src += colStride) out[o] = data[src] as number;
    }
  }
}

/** B[pc.., jc..] (kc x nc) into micro-panels of NR columns: panel q holds p-major [kc][NR], zero-padded. */
function packB(b: MatrixView, pc: number, jc: number, kc: number, nc: number, out: Float64Array): void {
  const { data, rowStride, colStride } = b;
  const base = b.offset + pc * rowStride + jc * colStride;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const panel = jr * kc;
    if (nr === NR && colStride === 1) {
      // Row-major B: the panel's 4 columns are adjacent in memory.
      let src = base + jr;
      for (let p = 0, o = panel; p < kc; p++, o += NR, src += rowStride) {
        out[o] = data[src] as number;
        out[o + 1] = data[src + 1] as number;
        out[o + 2] = data[src + 2] as number;
        out[o + 3] = data[src + 3] as number;
      }
      continue;
    }
    for (let s = 0; s < NR; s++) {
      let o = panel + s;
      if (s >= nr) {
        for (let p = 0; p < kc; p++, o += NR) out[o] = 0;
        continue;
      }
      let src = base + (jr + s) * colStride;
      for (let p = 0; p < kc; p++, o += NR, src += rowStride) out[o] = data[src] as number;
    }
  }
}

// The micro-kernel: a 4x4 block of C from a packed A micro-panel (kc x 4) and B micro-panel
// (kc x 4). The loop reads only the float64 panels (monomorphic); C (float32, float64 or the edge
// tile) is touched 16 times per call. Kept as a 4x4 grid: the layout is the tile.
// NOTE: one b live at a time: 16 accumulators + 4 a + 1 b fit x64's 16 xmm registers better than
// four b values (measured ~1.4x faster in V8); unrolling the p loop did not help.
// prettier-ignore
function micro4x4(
  kc: number, ap: Float64Array, ai: number, bp: Float64Array, bi: number,
  c: FloatStorage, ci: number, ldc: number, add: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (const end = ai + 4 * kc; ai < end; ai += 4, bi += 4) {
    const a0 = ap[ai] as number, a1 = ap[ai + 1] as number, a2 = ap[ai + 2] as number, a3 = ap[ai + 3] as number;
    let b = bp[bi] as number;
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = bp[bi + 1] as number;
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = bp[bi + 2] as number;
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = bp[bi + 3] as number;
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
  }
  const i0 = ci, i1 = ci + ldc, i2 = ci + 2 * ldc, i3 = ci + 3 * ldc;
  if (add) {
    c00 += c[i0] as number; c01 += c[i0 + 1] as number; c02 += c[i0 + 2] as number; c03 += c[i0 + 3] as number;
    c10 += c[i1] as number; c11 += c[i1 + 1] as number; c12 += c[i1 + 2] as number; c13 += c[i1 + 3] as number;
    c20 += c[i2] as number; c21 += c[i2 + 1] as number; c22 += c[i2 + 2] as number; c23 += c[i2 + 3] as number;
    c30 += c[i3] as number; c31 += c[i3 + 1] as number; c32 += c[i3 + 2] as number; c33 += c[i3 + 3] as number;
  }
  c[i0] = c00; c[i0 + 1] = c01; c[i0 + 2] = c02; c[i0 + 3] = c03;
  c[i1] = c10; c[i1 + 1] = c11; c[i1 + 2] = c12; c[i1 + 3] = c13;
  c[i2] = c20; c[i2 + 1] = c21; c[i2 + 2] = c22; c[i2 + 3] = c23;
  c[i3] = c30; c[i3 + 1] = c31; c[i3 + 2] = c32; c[i3 + 3] = c33;
}
