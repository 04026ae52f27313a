// Attention maps of a vision transformer for the report: where the class token looks. Browser-safe.
// Letters: B images, L blocks, H heads, T tokens (token 0 the class token, then G x G patches in
// row-major order), G patches per side.
//
// Two views per image:
// - per head: the last block's attention of the class token over the patches, scores[L-1][h, 0, 1..];
// - rollout (Abnar & Zuidema 2020): the heads averaged per block, the residual path added as
//   0.5 A + 0.5 I, the blocks multiplied first to last; row 0 over the patches says how much each
//   patch fed the class token through all blocks.
// Each map is scaled to a maximum of 1, so maps show where, not how much.
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tensor.js';

/** A model that reports its attention probabilities (the zoo's VisionTransformer). */
export interface AttentionModel {
  /** Images (B, H, W, C) of pixel / 255 -> logits (B, K) and every block's scores (B, H, T, T). */
  attentionScores(images: Tensor): { logits: Tensor; scores: Tensor[] };
}

export function hasAttentionScores(model: unknown): model is AttentionModel {
  return typeof (model as Partial<AttentionModel> | undefined)?.attentionScores === 'function';
}

export interface AttentionMaps {
  /** Patches per side G. */
  grid: number;
  /** (G*G) attention rollout of the class token, max 1. */
  rollout: number[];
  /** (H, G*G) the last block's class-token attention per head, each max 1. */
  heads: number[][];
  /** The model's predicted class. */
  predicted: number;
}

function scaledToMax(values: number[]): number[] {
  const max = Math.max(...values);
  return max > 0 ? values.map((v) => v / max) : values;
}

/** (T, T) = a (T, T) @ b (T, T). */
function matmulSquare(a: Float64Array, b: Float64Array, T: number): Float64Array {
  const out = new Float64Array(T * T);
  for (let i = 0; i < T; i++)
    for (let k = 0; k < T; k++) {
      const aik = a[i * T + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < T; j++)
        out[i * T + j] = (out[i * T + j] as number) + aik * (b[k * T + j] as number);
    }
  return out;
}

/**
 * Attention maps of `count` images (u8, `pixels` values each, side x side x 1) at `indices` of
 * `images`: one AttentionMaps per index, in order.
 */
export function attentionMaps(
  model: AttentionModel,
  images: Uint8Array,
  indices: readonly number[],
  side: number,
): AttentionMaps[] {
  const pixels = side * side;
  const batch = new Float32Array(indices.length * pixels); // (B, side, side, 1) pixel / 255
  indices.forEach((index, b) => {
    for (let p = 0; p < pixels; p++) batch[b * pixels + p] = (images[index * pixels + p] as number) / 255;
  });
  return tidy(() => {
    const { logits, scores } = model.attentionScores(tensor(batch, [indices.length, side, side, 1]));
    const [, H, T] = scores[0]?.shape as [number, number, number, number];
    const G = Math.round(Math.sqrt(T - 1));
    const K = logits.shape[1] as number;
    return indices.map((_, b) => {
      let rollout: Float64Array | undefined;
      for (const block of scores) {
        const data = block.data; // (B, H, T, T)
        const mixed = new Float64Array(T * T); // 0.5 mean_h A + 0.5 I
        for (let h = 0; h < H; h++) {
          const offset = (b * H + h) * T * T;
          for (let i = 0; i < T * T; i++)
            mixed[i] = (mixed[i] as number) + (0.5 * (data[offset + i] as number)) / H;
        }
        for (let t = 0; t < T; t++) mixed[t * T + t] = (mixed[t * T + t] as number) + 0.5;
        rollout = rollout ? matmulSquare(mixed, rollout, T) : mixed;
      }
      const last = (scores[scores.length - 1] as Tensor).data;
      const heads = Array.from({ length: H }, (_, h) => {
        const row = ((b * H + h) * T + 0) * T; // the class token's row
        return scaledToMax(Array.from({ length: T - 1 }, (_, s) => last[row + 1 + s] as number));
      });
      const row = Array.from(logits.data.subarray(b * K, (b + 1) * K) as ArrayLike<number>);
      return {
        grid: G,
        rollout: scaledToMax(Array.from((rollout as Float64Array).subarray(1, T))),
        heads,
        predicted: row.indexOf(Math.max(...row)),
      };
    });
  });
}
