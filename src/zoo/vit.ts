// The zoo's vision transformers (Dosovitskiy et al. 2020) for 28x28 images. Letters: B batch,
// T tokens (patches + the class token), D embedDim, K classes.
//
//   [input_normalization]  Normalization of pixel / 255 (the recipe's MNIST standardisation)
//   patch_embedding  Conv(D, P, stride P) -> (B, 49, D) for P = 4, + class token, + positions  (B, T, D)
//   block1..blockN   pre-norm TransformerBlock: LN -> MHA(H heads) -> +; LN -> MLP -> +         (B, T, D)
//   norm             LayerNorm of the class token's output                                       (B, D)
//   head             Dense(K) on it                                                              (B, K) logits
//
// `vit`: P 4 (49 patches, T 50), D 64, 6 blocks, 4 heads of 16, MLP 128: 205,962 parameters, as
// the PyTorch reference bench/peer/vit_reference.py builds from nn.MultiheadAttention(64, 4)
// blocks and Conv2d(1, 64, 4, 4). `vit-7`: P 7 (16 patches, T 17); by coincidence the same count
// (its larger patch kernel takes what its shorter position table gives back).
// Layer norms use PyTorch's epsilon 1e-5 (Keras's default is 1e-3), so PyTorch weights load and
// give the same outputs. Weight paths (checkpoint names; LoRA globs) read
// 'block3/attention/query/kernel', 'patch_embedding/projection/kernel', 'head/bias'.
import type { InputNormalization } from '../data/normalize.js';
import type { CallContext, Layer, LayerArgs } from '../nn/layer.js';
import { baseArgs, formatShape, pick } from '../nn/layers/common.js';
import {
  Dense,
  LayerNormalization,
  Normalization,
  PatchEmbedding,
  TransformerBlock,
  dense,
  layerNormalization,
  normalization,
  patchEmbedding,
  transformerBlock,
} from '../nn/index.js';
import { patchSizeProblem } from '../nn/layers/patch-embedding.js';
import { headsProblem } from '../nn/layers/transformer-block.js';
import { reshape, slice } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad, tidy } from '../tensor/tensor.js';
import { Model } from '../train/model.js';

export interface VisionTransformerArgs extends LayerArgs {
  /** Side of the square patches; divides the image's height and width. */
  patchSize: number;
  /** Token width D. */
  embedDim: number;
  /** Transformer blocks. */
  depth: number;
  /** Attention heads per block, of embedDim / numHeads each. */
  numHeads: number;
  /** Hidden units of each block's MLP. */
  mlpDim: number;
  /** Output classes; default 10. */
  classes?: number;
  /** Dropout in the blocks (attention probabilities and residual branches); default 0. */
  dropout?: number;
  /** Epsilon of every layer norm; default 1e-5 (PyTorch's). */
  layerNormEpsilon?: number;
  /** Standardise the input (pixel / 255) first, with a Normalization layer the model carries. */
  normalization?: InputNormalization;
}

const VISION_TRANSFORMER_DEFAULTS = { classes: 10, dropout: 0, layerNormEpsilon: 1e-5 } as const;

export class VisionTransformer extends Model {
  readonly className = 'VisionTransformer';
  readonly patchSize: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly mlpDim: number;
  readonly classes: number;
  readonly dropout: number;
  readonly layerNormEpsilon: number;
  readonly patches: PatchEmbedding;
  readonly blocks: readonly TransformerBlock[];
  readonly norm: LayerNormalization;
  readonly head: Dense;
  private readonly normalizer: Normalization | undefined;

  constructor(args: VisionTransformerArgs) {
    super({ inputShape: [28, 28, 1], ...args }, 'vision_transformer');
    const d = VISION_TRANSFORMER_DEFAULTS;
    for (const key of ['patchSize', 'embedDim', 'depth', 'numHeads', 'mlpDim'] as const) {
      this.checkPositive(key, args[key]);
    }
    this.patchSize = args.patchSize;
    this.embedDim = args.embedDim;
    this.depth = args.depth;
    this.numHeads = args.numHeads;
    this.mlpDim = args.mlpDim;
    this.classes = this.checkPositive('classes', args.classes ?? d.classes);
    this.dropout = args.dropout ?? d.dropout;
    this.layerNormEpsilon = args.layerNormEpsilon ?? d.layerNormEpsilon;
    // Bad configurations fail here, before any weight exists or any data is read.
    const imageShape = this.inputShape as number[];
    if (imageShape.length !== 3) {
      throw new Error(
        `VisionTransformer '${this.name}': inputShape must be [height, width, channels], found ${formatShape(imageShape)}`,
      );
    }
    const problem =
      patchSizeProblem(this.patchSize, imageShape) ?? headsProblem(this.embedDim, this.numHeads, undefined);
    if (problem) throw new Error(`VisionTransformer '${this.name}': ${problem}`);

    const n = args.normalization;
    this.normalizer = n
      ? this.track(normalization({ name: 'input_normalization', mean: n.mean, std: n.std }))
      : undefined;
    this.patches = this.track(
      patchEmbedding({ name: 'patch_embedding', patchSize: this.patchSize, embedDim: this.embedDim }),
    );
    this.blocks = Array.from({ length: this.depth }, (_, i) =>
      this.track(
        transformerBlock({
          name: `block${i + 1}`,
          numHeads: this.numHeads,
          mlpDim: this.mlpDim,
          dropout: this.dropout,
          layerNormEpsilon: this.layerNormEpsilon,
        }),
      ),
    );
    this.norm = this.track(layerNormalization({ name: 'norm', epsilon: this.layerNormEpsilon }));
    this.head = this.track(dense({ name: 'head', units: this.classes }));
  }

  private checkPositive(key: string, value: unknown): number {
    if (!Number.isInteger(value) || (value as number) <= 0) {
      throw new Error(
        `VisionTransformer '${this.name}': ${key} must be a positive integer, found ${JSON.stringify(value)}`,
      );
    }
    return value as number;
  }

  /** Tokens per image: patches plus the class token. */
  get tokens(): number {
    return this.patches.tokensFor(this.inputShape as number[]);
  }

  /** The classifier may be swapped (a new head for another task; Layer.replaceSublayer). */
  protected override get swappableSublayers(): readonly Layer[] {
    return [this.head];
  }

  override get inputNormalization(): Normalization | undefined {
    return this.normalizer;
  }

  call(x: Tensor, context: CallContext): Tensor {
    let tokens = this.patches.apply(this.normalized(x, context), context); // (B, T, D)
    for (const block of this.blocks) tokens = block.apply(tokens, context);
    return this.classify(tokens, context);
  }

  private normalized(x: Tensor, context: CallContext): Tensor {
    return this.normalizer ? this.normalizer.apply(x, context) : x;
  }

  /** Logits (B, K) from the class token of the last block's output (B, T, D). */
  private classify(tokens: Tensor, context: CallContext): Tensor {
    const [B, , D] = tokens.shape as [number, number, number];
    // NOTE: the final norm is per token, so normalising the class token alone equals normalising all.
    const classToken = reshape(slice(tokens, [0, 0, 0], [B, 1, D]), [B, D]);
    return this.standIn(this.head).apply(this.norm.apply(classToken, context), context);
  }

  /**
   * Inference on images (B, H, W, C) of pixel / 255 (the model's own normalisation applies): the logits and every
   * block's attention probabilities [B, H, T, T] (token 0 is the class token; tokens 1.. are the
   * patches in row-major order). For attention maps.
   */
  attentionScores(images: Tensor): { logits: Tensor; scores: Tensor[] } {
    if (!this.built) this.buildFor(this.inputShape as number[]);
    return tidy(() =>
      noGrad(() => {
        const context: CallContext = { training: false, random: { nextFloat: () => 0.5 } };
        let tokens = this.patches.apply(this.normalized(images, context), context);
        const scores: Tensor[] = [];
        for (const block of this.blocks) {
          const result = block.applyWithScores(tokens, context);
          tokens = result.output;
          scores.push(result.scores);
        }
        return { logits: this.classify(tokens, context), scores };
      }),
    );
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      patchSize: this.patchSize,
      embedDim: this.embedDim,
      depth: this.depth,
      numHeads: this.numHeads,
      mlpDim: this.mlpDim,
      // A head swapped for another task's (finetune's replaceHead) sets the class count.
      classes: (this.standIn(this.head) as Dense).units ?? this.classes,
      dropout: this.dropout,
      layerNormEpsilon: this.layerNormEpsilon,
      ...(this.normalizer ? { normalization: { mean: this.normalizer.mean, std: this.normalizer.std } } : {}),
    };
  }
}

/** The zoo's `vit` (patches of 4, 49 + 1 tokens) or `vit-7` (patches of 7, 16 + 1 tokens). */
export function vit(
  options: { patchSize?: 4 | 7; classes?: number; dropout?: number; normalization?: InputNormalization } = {},
): VisionTransformer {
  const patchSize = options.patchSize ?? 4;
  return new VisionTransformer({
    name: patchSize === 4 ? 'vit' : `vit-${patchSize}`,
    patchSize,
    embedDim: 64,
    depth: 6,
    numHeads: 4,
    mlpDim: 128,
    ...(options.classes === undefined ? {} : { classes: options.classes }),
    ...(options.dropout === undefined ? {} : { dropout: options.dropout }),
    ...(options.normalization === undefined ? {} : { normalization: options.normalization }),
  });
}

/** A VisionTransformer from its getConfig() (its row in LAYER_CLASSES). */
export function visionTransformerFromConfig(config: Record<string, unknown>): VisionTransformer {
  return new VisionTransformer({
    ...baseArgs(config),
    ...pick<VisionTransformerArgs>(config, [
      'patchSize',
      'embedDim',
      'depth',
      'numHeads',
      'mlpDim',
      'classes',
      'dropout',
      'layerNormEpsilon',
    ]),
    ...normalizationOf(config),
  });
}

function normalizationOf(config: Record<string, unknown>): { normalization?: InputNormalization } {
  const n = config['normalization'] as { mean?: unknown; std?: unknown } | undefined;
  return n ? { normalization: { mean: n.mean as number, std: n.std as number } } : {};
}
