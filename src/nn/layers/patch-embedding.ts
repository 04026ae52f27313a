// PatchEmbedding: images to a vision transformer's tokens (Dosovitskiy et al. 2020, "An Image is
// Worth 16x16 Words"). Letters: B batch, P patch size, D embedDim, N = (H/P)(W/P) patches.
//   x (B, H, W, C) NHWC
//   -> projection: Conv2D(D, P, stride P), the '<name>/projection' sublayer   (B, H/P, W/P, D)
//   -> patches in row-major (h, w) order                                        (B, N, D)
//   -> class token prepended: the weight 'class_token' [1, 1, D]                 (B, N+1, D)
//   -> + learned positions: the weight 'position_embedding' [1, N+1, D]          (B, N+1, D)
// Same arithmetic and token order as PyTorch's Conv2d(C, D, P, P) then flatten(2).transpose(1, 2).
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { add, broadcastTo } from '../../tensor/ops/elementwise.js';
import { concat, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape, pick } from './common.js';
import { Conv2D, conv2d } from './conv2d.js';

export interface PatchEmbeddingArgs extends LayerArgs {
  /** Side of the square patches; it must divide the image's height and width. */
  patchSize: number;
  /** Width D of every token. */
  embedDim: number;
  /** Prepend a learned class token (its output is what a classifier reads); default true. */
  classToken?: boolean;
  /** Add a learned position embedding; default true. */
  positionEmbedding?: boolean;
  /** For the projection's kernel; default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
  /** For the class token and positions; default TruncatedNormal(stddev 0.02), as ViT. */
  tokenInitializer?: InitializerIdentifier;
}

const PATCH_EMBEDDING_DEFAULTS = {
  classToken: true,
  positionEmbedding: true,
  kernelInitializer: 'glorot_uniform',
  tokenInitializer: { className: 'TruncatedNormal', config: { mean: 0, stddev: 0.02 } },
} as const;

/** The divisors of n, for error messages that suggest a patch size. */
function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/**
 * Why `patchSize` cannot cut an image of `imageShape` ([H, W, C]) into patches, or null when it
 * can. Used by the layer at build and by models that know their input size when constructed.
 */
export function patchSizeProblem(patchSize: number, imageShape: Shape): string | null {
  const [H, W] = imageShape as [number, number];
  if (H % patchSize === 0 && W % patchSize === 0) return null;
  const common = divisors(H).filter((d) => W % d === 0);
  return (
    `patchSize ${patchSize} does not divide the ${H}x${W} image (the patches would miss pixels); ` +
    `choose one of ${common.join(', ')}`
  );
}

export class PatchEmbedding extends Layer {
  readonly className = 'PatchEmbedding';
  readonly patchSize: number;
  readonly embedDim: number;
  readonly classToken: boolean;
  readonly positionEmbedding: boolean;
  readonly kernelInitializer: SerializableInitializer;
  readonly tokenInitializer: SerializableInitializer;
  readonly projection: Conv2D;
  /** [1, 1, D] when classToken. */
  classTokenWeight: Tensor | undefined;
  /** [1, tokens, D] when positionEmbedding. */
  positions: Tensor | undefined;

  constructor(args: PatchEmbeddingArgs) {
    super(args, 'patch_embedding');
    for (const key of ['patchSize', 'embedDim'] as const) {
      if (!Number.isInteger(args[key]) || args[key] <= 0) {
        throw new Error(
          `PatchEmbedding '${this.name}': ${key} must be a positive integer, found ${JSON.stringify(args[key])}`,
        );
      }
    }
    const d = PATCH_EMBEDDING_DEFAULTS;
    this.patchSize = args.patchSize;
    this.embedDim = args.embedDim;
    this.classToken = args.classToken ?? d.classToken;
    this.positionEmbedding = args.positionEmbedding ?? d.positionEmbedding;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? d.kernelInitializer);
    this.tokenInitializer = getInitializer(args.tokenInitializer ?? d.tokenInitializer);
    if (this.inputShape) this.checkImage([0, ...this.inputShape]);
    this.projection = conv2d({
      name: `${this.name}/projection`,
      filters: this.embedDim,
      kernelSize: this.patchSize,
      strides: this.patchSize,
      kernelInitializer: this.kernelInitializer,
      trainable: this.trainable,
    });
  }

  override get sublayers(): readonly Layer[] {
    return [this.projection];
  }

  /** Tokens per image: patches, plus one for the class token. */
  tokensFor(imageShape: Shape): number {
    const [H, W] = imageShape as [number, number];
    return (H / this.patchSize) * (W / this.patchSize) + (this.classToken ? 1 : 0);
  }

  private checkImage(shape: Shape): void {
    if (shape.length !== 4) {
      throw new Error(
        `PatchEmbedding '${this.name}': expected images [batch, height, width, channels] (NHWC), found ${formatShape(shape)}`,
      );
    }
    const problem = patchSizeProblem(this.patchSize, shape.slice(1));
    if (problem) throw new Error(`PatchEmbedding '${this.name}': ${problem}`);
  }

  protected override createWeights(inputShape: Shape, random: RandomSource): void {
    this.checkImage(inputShape);
    const D = this.embedDim;
    if (this.classToken) {
      this.classTokenWeight = this.addWeight('class_token', [1, 1, D], this.tokenInitializer, random);
    }
    if (this.positionEmbedding) {
      const tokens = this.tokensFor(inputShape.slice(1));
      this.positions = this.addWeight('position_embedding', [1, tokens, D], this.tokenInitializer, random);
    }
  }

  call(x: Tensor, context: CallContext): Tensor {
    this.checkImage(x.shape);
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const built = this.inputShape as number[];
    if (H !== built[0] || W !== built[1] || C !== built[2]) {
      throw new Error(
        `PatchEmbedding '${this.name}': built for ${built.join('x')} images (its positions are per patch), found ${formatShape(x.shape)}`,
      );
    }
    const patches = this.projection.apply(x, context); // (B, H/P, W/P, D)
    let tokens = reshape(patches, [B, -1, this.embedDim]); // (B, N, D)
    if (this.classTokenWeight) {
      tokens = concat([broadcastTo(this.classTokenWeight, [B, 1, this.embedDim]), tokens], 1);
    }
    return this.positions ? add(tokens, this.positions) : tokens;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      patchSize: this.patchSize,
      embedDim: this.embedDim,
      classToken: this.classToken,
      positionEmbedding: this.positionEmbedding,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      tokenInitializer: serializeInitializer(this.tokenInitializer),
    };
  }
}

/** Factory: patchEmbedding({patchSize: 4, embedDim: 64}). */
export function patchEmbedding(args: PatchEmbeddingArgs): PatchEmbedding {
  return new PatchEmbedding(args);
}

/** A PatchEmbedding from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const patchEmbeddingFromConfig: LayerFactory = (config) =>
  new PatchEmbedding({
    ...baseArgs(config),
    ...pick<PatchEmbeddingArgs>(config, [
      'patchSize',
      'embedDim',
      'classToken',
      'positionEmbedding',
      'kernelInitializer',
      'tokenInitializer',
    ]),
  });
