// The masked autoencoder (He et al. 2021, "Masked Autoencoders Are Scalable Vision Learners") as a
// model: a vision transformer's encoder learns from unlabelled images by reconstructing the pixels
// of patches it never saw. Letters: B batch, N patches per image, K kept (visible) patches, M masked
// ones (N = K + M), D the encoder's width, E the decoder's, Q = P*P*C pixels per patch.
//
//   images (B, H, W, C)  pixel / 255, standardised by the encoder's own Normalization
//   targets               the standardised pixels cut into patches, row-major              (B, N, Q)
//   mask                  per image a random choice of M = round(ratio * N) patches, from
//                         the call's random source (training: fit's checkpointed stream)
//   encoder               the vit's projection + positions on the K visible patches only,
//                         its class token in front, its blocks, its final norm             (B, 1+K, D)
//   decoder               Dense(E) of those; a shared learned mask token in every masked
//                         slot; its own positions; its own blocks; LayerNorm; Dense(Q)      (B, 1+N, E)
//   output                per image, the mean squared error over the masked patches only   (B, 1)
//
// The model's output is its loss: compile with the 'output_mean' loss (what pretrain() does), and
// the trainer's loop, checkpoints and resume work as for any model. The encoder is a whole
// VisionTransformer whose weights keep the zoo vit's names ('block3/attention/query/kernel'), so
// the encoder transfers to a classifier by name; its classification head is unused here (frozen).
import type { Shape } from '../backend/kernels.js';
import { getInitializer } from '../nn/initializers.js';
import type { CallContext, LayerArgs, LayerClasses, LayerConfig } from '../nn/layer.js';
import { layerFromConfig } from '../nn/index.js';
import { baseArgs, pick } from '../nn/layers/common.js';
import {
  Dense,
  LayerNormalization,
  TransformerBlock,
  dense,
  layerNormalization,
  transformerBlock,
} from '../nn/index.js';
import type { RandomSource } from '../tensor/ops/creation.js';
import { refuseCapture } from '../tensor/capture.js';
import { tensor } from '../tensor/ops/creation.js';
import { add, broadcastTo, div, sqrt, square, sub } from '../tensor/ops/elementwise.js';
import { gather } from '../tensor/ops/nn.js';
import { mean } from '../tensor/ops/reduce.js';
import { concat, reshape, slice, transpose } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad, tidy } from '../tensor/tensor.js';
import { Model } from '../train/model.js';
import type { Normalization } from '../nn/layers/normalization.js';
import { Random } from '../util/random.js';
import { VisionTransformer } from '../zoo/vit.js';

export interface MaskedAutoencoderArgs extends LayerArgs {
  /** The encoder: a VisionTransformer (the zoo's vit or vit-7); its head is not used. */
  encoder: VisionTransformer;
  /** Fraction of each image's patches hidden from the encoder. Default 0.75 (the paper's). */
  maskRatio?: number;
  /** Decoder width E. Default 64. */
  decoderDim?: number;
  /** Decoder transformer blocks. Default 2. */
  decoderDepth?: number;
  /** Decoder attention heads (divide decoderDim). Default 4. */
  decoderHeads?: number;
  /** Hidden units of each decoder block's MLP. Default 2 * decoderDim. */
  decoderMlpDim?: number;
  /** Targets standardised per patch (the paper's better-representation option). Default false. */
  normPixLoss?: boolean;
}

export const MAE_DEFAULTS = {
  maskRatio: 0.75,
  decoderDim: 64,
  decoderDepth: 2,
  decoderHeads: 4,
  normPixLoss: false,
} as const;

/** Which patches one batch hides: per image, kept and masked patch indices (ascending). */
export interface PatchMask {
  /** (B, K) indices of the visible patches, 0..N-1 row-major. */
  kept: Int32Array;
  /** (B, M) indices of the masked patches. */
  masked: Int32Array;
  batch: number;
  patches: number;
}

/** Masked patches per image for `ratio` of `patches`: round(ratio * N), at least 1, at most N - 1. */
export function maskedCount(patches: number, ratio: number): number {
  return Math.min(patches - 1, Math.max(1, Math.round(ratio * patches)));
}

/**
 * A random mask per image: for each, M = maskedCount(N, ratio) patches chosen uniformly without
 * replacement (a shuffle drawn from `random`), the rest kept. Seeded sources give the same masks.
 */
export function randomPatchMask(
  batch: number,
  patches: number,
  ratio: number,
  random: RandomSource,
): PatchMask {
  const M = maskedCount(patches, ratio);
  const K = patches - M;
  const kept = new Int32Array(batch * K);
  const masked = new Int32Array(batch * M);
  const order = new Int32Array(patches);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < patches; i++) order[i] = i;
    // Fisher-Yates with the source's floats (a RandomSource has only nextFloat).
    for (let i = patches - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random.nextFloat() * (i + 1)));
      const swap = order[i] as number;
      order[i] = order[j] as number;
      order[j] = swap;
    }
    kept.set(order.subarray(0, K).sort(), b * K);
    masked.set(order.subarray(K).sort(), b * M);
  }
  return { kept, masked, batch, patches };
}

/** Images [begin, begin + count) of a mask. */
export function maskRows(mask: PatchMask, begin: number, count: number): PatchMask {
  const K = mask.kept.length / mask.batch;
  const M = mask.masked.length / mask.batch;
  return {
    kept: mask.kept.slice(begin * K, (begin + count) * K),
    masked: mask.masked.slice(begin * M, (begin + count) * M),
    batch: count,
    patches: mask.patches,
  };
}

/** What one forward pass gives besides the loss: for reconstructions and tests. */
export interface MaskedForward {
  /** (B, 1) mean squared error over each image's masked patches. */
  loss: Tensor;
  /** (B, N, Q) the decoder's prediction for every patch (masked ones are what the loss reads). */
  prediction: Tensor;
  /** (B, N, Q) the standardised pixels per patch. */
  target: Tensor;
  mask: PatchMask;
}

export class MaskedAutoencoder extends Model {
  readonly className = 'MaskedAutoencoder';
  readonly encoder: VisionTransformer;
  readonly maskRatio: number;
  readonly decoderDim: number;
  readonly decoderDepth: number;
  readonly decoderHeads: number;
  readonly decoderMlpDim: number;
  readonly normPixLoss: boolean;
  readonly decoderEmbed: Dense;
  readonly decoderBlocks: readonly TransformerBlock[];
  readonly decoderNorm: LayerNormalization;
  readonly decoderPrediction: Dense;
  /** [1, E]: what the decoder sees in place of a masked patch. */
  maskToken: Tensor | undefined;
  /** [1, 1+N, E]: the decoder's own positions (class token first). */
  decoderPositions: Tensor | undefined;

  constructor(args: MaskedAutoencoderArgs) {
    super({ inputShape: args.encoder.inputShape ?? [28, 28, 1], ...args }, 'masked_autoencoder');
    const d = MAE_DEFAULTS;
    if (!(args.encoder instanceof VisionTransformer)) {
      throw new Error(
        `MaskedAutoencoder '${this.name}': the encoder must be a VisionTransformer (the zoo's vit or vit-7)`,
      );
    }
    this.encoder = args.encoder;
    this.maskRatio = args.maskRatio ?? d.maskRatio;
    if (!(this.maskRatio > 0 && this.maskRatio < 1)) {
      throw new Error(
        `MaskedAutoencoder '${this.name}': maskRatio must be between 0 and 1 (exclusive), found ${this.maskRatio}`,
      );
    }
    this.decoderDim = args.decoderDim ?? d.decoderDim;
    this.decoderDepth = args.decoderDepth ?? d.decoderDepth;
    this.decoderHeads = args.decoderHeads ?? d.decoderHeads;
    this.decoderMlpDim = args.decoderMlpDim ?? 2 * this.decoderDim;
    this.normPixLoss = args.normPixLoss ?? d.normPixLoss;
    if (this.decoderDim % this.decoderHeads !== 0) {
      throw new Error(
        `MaskedAutoencoder '${this.name}': decoderHeads ${this.decoderHeads} must divide decoderDim ${this.decoderDim}`,
      );
    }
    // The classifier head has no part in reconstruction: frozen, so no optimizer slot is spent on it.
    this.encoder.head.trainable = false;
    this.track(this.encoder);
    this.decoderEmbed = this.track(dense({ name: 'decoder_embed', units: this.decoderDim }));
    this.decoderBlocks = Array.from({ length: this.decoderDepth }, (_, i) =>
      this.track(
        transformerBlock({
          name: `decoder_block${i + 1}`,
          numHeads: this.decoderHeads,
          mlpDim: this.decoderMlpDim,
          layerNormEpsilon: this.encoder.layerNormEpsilon,
        }),
      ),
    );
    this.decoderNorm = this.track(
      layerNormalization({ name: 'decoder_norm', epsilon: this.encoder.layerNormEpsilon }),
    );
    const [, , C] = this.inputShape as [number, number, number];
    const P = this.encoder.patchSize;
    this.decoderPrediction = this.track(dense({ name: 'decoder_prediction', units: P * P * C }));
  }

  /** N: patches per image. */
  get patches(): number {
    return this.encoder.tokens - 1;
  }

  override get inputNormalization(): Normalization | undefined {
    return this.encoder.inputNormalization;
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    // The encoder is built whole (its head too, frozen): the run then holds a complete vit.
    if (!this.encoder.built) this.encoder.buildFor(inputShape.slice(1), random);
    const init = getInitializer({ className: 'TruncatedNormal', config: { mean: 0, stddev: 0.02 } });
    this.maskToken = this.addWeight('mask_token', [1, this.decoderDim], init, random);
    this.decoderPositions = this.addWeight(
      'decoder_position_embedding',
      [1, this.patches + 1, this.decoderDim],
      init,
      random,
    );
    // The decoder's layers build at their first call: trace one example through call() now (what
    // every Model's build does), so that every weight exists when build() returns. fit() hands the
    // optimizer the trainable weights it finds right after building; a layer built later, inside
    // the first step, would never be trained, and its weights would be drawn from the training
    // generator (changing the masks that follow and differing after a resume).
    super.createWeights(inputShape, random);
  }

  call(x: Tensor, context: CallContext): Tensor {
    const B = x.shape[0] as number;
    // NOTE: each batch's mask is drawn on the host, so a recorded step could not replay another's.
    refuseCapture('the masked autoencoder draws a new patch mask for every batch in JavaScript');
    // Data-parallel: the global batch's masks, drawn as one process draws them, and this share's rows.
    const share = context.batchShare;
    const mask = share
      ? maskRows(randomPatchMask(share.rows, this.patches, this.maskRatio, share.random), share.begin, B)
      : randomPatchMask(B, this.patches, this.maskRatio, context.random);
    return this.forward(x, context, mask).loss;
  }

  /** The whole pass with a given mask (call() draws one per batch from the context's source). */
  forward(x: Tensor, context: CallContext, mask: PatchMask): MaskedForward {
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const P = this.encoder.patchSize;
    const N = this.patches;
    const D = this.encoder.embedDim;
    const E = this.decoderDim;
    const Q = P * P * C;
    const K = mask.kept.length / B;
    const M = mask.masked.length / B;
    const z = this.encoder.inputNormalization?.apply(x, context) ?? x; // (B, H, W, C) standardised
    // Targets: (B, H/P, P, W/P, P, C) -> (B, H/P, W/P, P, P, C) -> (B, N, Q), as the projection reads them.
    const target = reshape(transpose(reshape(z, [B, H / P, P, W / P, P, C]), [0, 1, 3, 2, 4, 5]), [B, N, Q]);

    // Encoder on the visible patches: projection, positions, then keep K of N rows per image.
    const patchLayer = this.encoder.patches;
    const positions = patchLayer.positions as Tensor; // (1, 1+N, D)
    const projected = reshape(patchLayer.projection.apply(z, context), [B, N, D]);
    const tokens = add(projected, slice(positions, [0, 1, 0], [1, N, D])); // (B, N, D)
    const visible = gather(reshape(tokens, [B * N, D]), rowsOf(mask.kept, B, K, N)); // (B, K, D)
    const classToken = add(patchLayer.classTokenWeight as Tensor, slice(positions, [0, 0, 0], [1, 1, D])); // (1, 1, D)
    let encoded = concat([broadcastTo(classToken, [B, 1, D]), visible], 1); // (B, 1+K, D)
    for (const block of this.encoder.blocks) encoded = block.apply(encoded, context);
    encoded = this.encoder.norm.apply(encoded, context);

    // Decoder: every patch slot gets its encoded token or the mask token, plus the decoder's positions.
    const embedded = this.decoderEmbed.apply(reshape(encoded, [B * (1 + K), D]), context); // (B*(1+K), E)
    const table = concat([embedded, this.maskToken as Tensor], 0); // (B*(1+K) + 1, E)
    let decoded = add(
      gather(table, this.decoderSlots(mask, B, K)), // (B, 1+N, E)
      this.decoderPositions as Tensor,
    );
    for (const block of this.decoderBlocks) decoded = block.apply(decoded, context);
    decoded = this.decoderNorm.apply(decoded, context);
    const patchTokens = reshape(slice(decoded, [0, 1, 0], [B, N, E]), [B * N, E]);
    const prediction = reshape(this.decoderPrediction.apply(patchTokens, context), [B, N, Q]);

    // The loss reads the masked patches only: the gather's gradient reaches no other prediction.
    const maskedRows = rowsOf(mask.masked, B, M, N);
    const predicted = gather(reshape(prediction, [B * N, Q]), maskedRows); // (B, M, Q)
    let wanted = gather(reshape(target, [B * N, Q]), maskedRows); // (B, M, Q)
    if (this.normPixLoss) wanted = standardizedPerPatch(wanted);
    const loss = reshape(mean(square(sub(predicted, wanted)), [1, 2]), [B, 1]);
    return { loss, prediction, target, mask };
  }

  /** (B, 1+N) rows of [embedded (B*(1+K) rows), mask token]: what each decoder slot reads. */
  private decoderSlots(mask: PatchMask, B: number, K: number): Tensor {
    const N = this.patches;
    const maskRow = B * (1 + K);
    const slots = new Int32Array(B * (1 + N)).fill(maskRow);
    for (let b = 0; b < B; b++) {
      slots[b * (1 + N)] = b * (1 + K); // the class token
      for (let k = 0; k < K; k++) {
        slots[b * (1 + N) + 1 + (mask.kept[b * K + k] as number)] = b * (1 + K) + 1 + k;
      }
    }
    return tensor(slots, [B, 1 + N], 'int32');
  }

  /**
   * Reconstructions of images (B, H, W, C) of pixel / 255 with masks drawn from `seed`: the images
   * with the masked patches blanked, and the images with those patches replaced by the decoder's
   * prediction (visible patches as they were), both as pixel / 255 clipped to [0, 1], plus the loss.
   */
  reconstruct(
    images: Tensor,
    seed = 0,
  ): { masked: Float32Array; reconstruction: Float32Array; loss: number; mask: PatchMask } {
    if (!this.built) this.buildFor(this.inputShape as number[]);
    const B = images.shape[0] as number;
    const mask = randomPatchMask(B, this.patches, this.maskRatio, new Random(seed));
    return tidy(() =>
      noGrad(() => {
        const context: CallContext = { training: false, random: new Random(seed) };
        const out = this.forward(images, context, mask);
        const prediction = Float32Array.from(out.prediction.data);
        const target = out.target.data;
        if (this.normPixLoss) undoPatchStandardization(prediction, target, this.encoder.patchSize ** 2);
        return {
          ...this.pictures(images, prediction, mask),
          loss: Array.from(out.loss.data).reduce((a, v) => a + v, 0) / B,
          mask,
        };
      }),
    );
  }

  /** Masked and reconstructed images (pixel / 255) from a prediction (B, N, Q) of standardised pixels. */
  private pictures(
    images: Tensor,
    prediction: ArrayLike<number>,
    mask: PatchMask,
  ): { masked: Float32Array; reconstruction: Float32Array } {
    const [B, H, W, C] = images.shape as [number, number, number, number];
    const P = this.encoder.patchSize;
    const perRow = W / P;
    const norm = this.inputNormalization;
    const unstandardize = (v: number): number => (norm ? v * norm.std + norm.mean : v);
    const masked = Float32Array.from(images.data);
    const reconstruction = Float32Array.from(images.data);
    const M = mask.masked.length / B;
    for (let b = 0; b < B; b++) {
      for (let m = 0; m < M; m++) {
        const patch = mask.masked[b * M + m] as number;
        const top = Math.floor(patch / perRow) * P;
        const left = (patch % perRow) * P;
        for (let i = 0; i < P; i++) {
          for (let j = 0; j < P; j++) {
            for (let c = 0; c < C; c++) {
              const pixel = ((b * H + top + i) * W + left + j) * C + c;
              const q = ((b * this.patches + patch) * P + i) * P * C + j * C + c;
              masked[pixel] = 0;
              reconstruction[pixel] = Math.min(1, Math.max(0, unstandardize(prediction[q] as number)));
            }
          }
        }
      }
    }
    return { masked, reconstruction };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      encoder: this.encoder.toConfig(),
      maskRatio: this.maskRatio,
      decoderDim: this.decoderDim,
      decoderDepth: this.decoderDepth,
      decoderHeads: this.decoderHeads,
      decoderMlpDim: this.decoderMlpDim,
      normPixLoss: this.normPixLoss,
    };
  }
}

/** (B, count) int32 rows of a (B*N, width) table: image b's index i is row b*N + i. */
function rowsOf(indices: Int32Array, B: number, count: number, N: number): Tensor {
  const rows = new Int32Array(B * count);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < count; i++) rows[b * count + i] = b * N + (indices[b * count + i] as number);
  return tensor(rows, [B, count], 'int32');
}

/** (.., Q) values standardised over their last axis: (t - mean) / sqrt(var + 1e-6), as the paper. */
function standardizedPerPatch(t: Tensor): Tensor {
  const centred = sub(t, mean(t, -1, true));
  return div(centred, sqrt(add(mean(square(centred), -1, true), 1e-6)));
}

/**
 * In place: a prediction of per-patch standardised pixels (B*N patches of `size` values) back to the
 * scale of the target's own patches (its mean and std), to show it (the paper's figures do this).
 */
function undoPatchStandardization(prediction: Float32Array, target: ArrayLike<number>, size: number): void {
  for (let start = 0; start < prediction.length; start += size) {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += target[start + i] as number;
    const mu = sum / size;
    let squares = 0;
    for (let i = 0; i < size; i++) squares += ((target[start + i] as number) - mu) ** 2;
    const sigma = Math.sqrt(squares / size + 1e-6);
    for (let i = 0; i < size; i++) prediction[start + i] = (prediction[start + i] as number) * sigma + mu;
  }
}

/** A masked autoencoder around `encoder` (a fresh zoo vit: `getRecipe('vit').model()`). */
export function maskedAutoencoder(args: MaskedAutoencoderArgs): MaskedAutoencoder {
  return new MaskedAutoencoder(args);
}

/** A MaskedAutoencoder from its getConfig(), its encoder rebuilt from `classes` (its row in LAYER_CLASSES). */
export function maskedAutoencoderFromConfig(
  config: Record<string, unknown>,
  classes: LayerClasses,
): MaskedAutoencoder {
  const encoder = layerFromConfig(config['encoder'] as LayerConfig, classes);
  if (!(encoder instanceof VisionTransformer)) {
    throw new Error(
      `MaskedAutoencoder: its saved encoder is a ${encoder.className}, expected a VisionTransformer`,
    );
  }
  return new MaskedAutoencoder({
    ...baseArgs(config),
    ...pick<MaskedAutoencoderArgs>(config, [
      'maskRatio',
      'decoderDim',
      'decoderDepth',
      'decoderHeads',
      'decoderMlpDim',
      'normPixLoss',
    ]),
    encoder,
  });
}
