// TransformerBlock: a pre-norm transformer encoder block (as in ViT and GPT-2). Letters: B batch,
// T tokens, D width (the input's last axis), H heads.
//   x (B, T, D)
//   h = x + dropout(attention(norm1(x)))                    self-attention, H heads of keyDim
//   y = h + dropout(dense2(dense1(norm2(h))))               MLP: D -> mlpDim (gelu) -> D
// Sublayers, named under the block: '<name>/norm1', '<name>/attention' (with '/query', '/key',
// '/value', '/output'), '<name>/norm2', '<name>/mlp/dense1', '<name>/mlp/dense2'. The MLP's denses
// see the tokens as rows (B*T, D): one product per dense, not one per token.
import type { Shape } from '../../backend/kernels.js';
import { add } from '../../tensor/ops/elementwise.js';
import { dropout as dropoutOp } from '../../tensor/ops/nn.js';
import { reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ActivationName } from '../activations.js';
import { canonicalActivationName } from '../activations.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape, pick } from './common.js';
import { Dense, dense } from './dense.js';
import { LayerNormalization, layerNormalization } from './layer-normalization.js';
import { MultiHeadAttention, multiHeadAttention } from './multi-head-attention.js';
import type { AttentionOutput } from './multi-head-attention.js';

export interface TransformerBlockArgs extends LayerArgs {
  numHeads: number;
  /** Size of each head; default width / numHeads (then numHeads must divide the width). */
  keyDim?: number;
  /** Hidden units of the MLP. */
  mlpDim: number;
  /** Activation of the MLP's hidden layer; default 'gelu' (exact). */
  mlpActivation?: ActivationName;
  /** Dropout on the attention probabilities and on each branch before its residual add; default 0. */
  dropout?: number;
  /** Epsilon of both layer norms; default 1e-5 (PyTorch's, and Keras Hub's TransformerEncoder). */
  layerNormEpsilon?: number;
  /** Each token attends only to itself and earlier tokens (a decoder); default false. */
  useCausalMask?: boolean;
}

const TRANSFORMER_BLOCK_DEFAULTS = {
  mlpActivation: 'gelu',
  dropout: 0,
  layerNormEpsilon: 1e-5,
  useCausalMask: false,
} as const;

/**
 * Why `numHeads` heads of `keyDim` (or of width / numHeads when keyDim is not given) cannot serve a
 * width, or null. Shared with models that know their width when constructed.
 */
export function headsProblem(width: number, numHeads: number, keyDim: number | undefined): string | null {
  if (keyDim !== undefined || width % numHeads === 0) return null;
  const choices = Array.from({ length: width }, (_, i) => i + 1).filter((h) => width % h === 0);
  return (
    `width ${width} does not split into ${numHeads} heads (numHeads x keyDim must equal the width; ` +
    `keyDim would be ${+(width / numHeads).toFixed(3)}); choose numHeads among ${choices.join(', ')}, or give keyDim`
  );
}

export class TransformerBlock extends Layer {
  readonly className = 'TransformerBlock';
  readonly numHeads: number;
  readonly keyDim: number | undefined;
  readonly mlpDim: number;
  readonly mlpActivation: ActivationName;
  readonly dropout: number;
  readonly layerNormEpsilon: number;
  readonly useCausalMask: boolean;
  readonly norm1: LayerNormalization;
  readonly norm2: LayerNormalization;
  readonly dense1: Dense;
  /** Made at build, when the width (its units, and the head size) is known. */
  attention: MultiHeadAttention | undefined;
  dense2: Dense | undefined;

  constructor(args: TransformerBlockArgs) {
    super(args, 'transformer_block');
    const d = TRANSFORMER_BLOCK_DEFAULTS;
    for (const key of ['numHeads', 'mlpDim'] as const) {
      if (!Number.isInteger(args[key]) || args[key] <= 0) {
        throw new Error(
          `TransformerBlock '${this.name}': ${key} must be a positive integer, found ${JSON.stringify(args[key])}`,
        );
      }
    }
    if (args.keyDim !== undefined && !(Number.isInteger(args.keyDim) && args.keyDim > 0)) {
      throw new Error(
        `TransformerBlock '${this.name}': keyDim must be a positive integer, found ${JSON.stringify(args.keyDim)}`,
      );
    }
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.mlpDim = args.mlpDim;
    this.mlpActivation = canonicalActivationName(args.mlpActivation ?? d.mlpActivation);
    this.dropout = args.dropout ?? d.dropout;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new Error(
        `TransformerBlock '${this.name}': dropout must be in [0, 1), found ${JSON.stringify(args.dropout)}`,
      );
    }
    this.layerNormEpsilon = args.layerNormEpsilon ?? d.layerNormEpsilon;
    this.useCausalMask = args.useCausalMask ?? d.useCausalMask;
    const width = this.inputShape?.[this.inputShape.length - 1];
    if (width !== undefined) this.checkWidth(width);
    const norm = (role: string): LayerNormalization =>
      layerNormalization({
        name: `${this.name}/${role}`,
        epsilon: this.layerNormEpsilon,
        trainable: this.trainable,
      });
    this.norm1 = norm('norm1');
    this.norm2 = norm('norm2');
    this.dense1 = dense({
      name: `${this.name}/mlp/dense1`,
      units: this.mlpDim,
      activation: this.mlpActivation,
      trainable: this.trainable,
    });
  }

  override get sublayers(): readonly Layer[] {
    const layers: Layer[] = [this.norm1];
    if (this.attention) layers.push(this.attention);
    layers.push(this.norm2, this.standIn(this.dense1));
    if (this.dense2) layers.push(this.standIn(this.dense2));
    return layers;
  }

  /** The MLP's denses; a LoRA wrapper may stand in for either (Layer.replaceSublayer). */
  protected override get swappableSublayers(): readonly Layer[] {
    return this.dense2 ? [this.dense1, this.dense2] : [this.dense1];
  }

  private checkWidth(width: number): void {
    const problem = headsProblem(width, this.numHeads, this.keyDim);
    if (problem) throw new Error(`TransformerBlock '${this.name}': ${problem}`);
  }

  protected override createWeights(inputShape: Shape): void {
    if (inputShape.length !== 3) {
      throw new Error(
        `TransformerBlock '${this.name}': expected tokens [batch, tokens, width], found ${formatShape(inputShape)}`,
      );
    }
    const width = inputShape[2] as number;
    this.checkWidth(width);
    this.attention = multiHeadAttention({
      name: `${this.name}/attention`,
      numHeads: this.numHeads,
      keyDim: this.keyDim ?? width / this.numHeads,
      dropout: this.dropout,
      trainable: this.trainable,
    });
    this.dense2 = dense({ name: `${this.name}/mlp/dense2`, units: width, trainable: this.trainable });
  }

  call(x: Tensor, context: CallContext): Tensor {
    return this.forward(x, context).output;
  }

  /** The block's output and its attention probabilities [B, H, T, T] (attention maps). */
  applyWithScores(x: Tensor, context: CallContext): AttentionOutput {
    this.buildOnce(x, context.random);
    return this.forward(x, context);
  }

  private forward(x: Tensor, context: CallContext): AttentionOutput {
    const width = this.inputShape?.[this.inputShape.length - 1];
    if (x.rank !== 3 || x.shape[2] !== width) {
      throw new Error(
        `TransformerBlock '${this.name}': expected tokens [batch, tokens, ${width}], found ${formatShape(x.shape)}`,
      );
    }
    const [B, T, D] = x.shape as [number, number, number];
    const branch = (t: Tensor): Tensor =>
      context.training && this.dropout > 0 ? dropoutOp(t, this.dropout, context.random) : t;
    const attended = (this.attention as MultiHeadAttention).apply(this.norm1.apply(x, context), context, {
      useCausalMask: this.useCausalMask,
      returnAttentionScores: true,
    });
    const h = add(x, branch(attended.output));
    const rows = reshape(this.norm2.apply(h, context), [B * T, D]);
    const hidden = this.standIn(this.dense1).apply(rows, context); // (B*T, mlpDim)
    const mlp = this.standIn(this.dense2 as Dense).apply(hidden, context); // (B*T, D)
    return { output: add(h, reshape(branch(mlp), [B, T, D])), scores: attended.scores };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      keyDim: this.keyDim ?? null,
      mlpDim: this.mlpDim,
      mlpActivation: this.mlpActivation,
      dropout: this.dropout,
      layerNormEpsilon: this.layerNormEpsilon,
      useCausalMask: this.useCausalMask,
    };
  }
}

/** Factory: transformerBlock({numHeads: 4, mlpDim: 128}). */
export function transformerBlock(args: TransformerBlockArgs): TransformerBlock {
  return new TransformerBlock(args);
}

/** A TransformerBlock from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const transformerBlockFromConfig: LayerFactory = (config) =>
  new TransformerBlock({
    ...baseArgs(config),
    ...pick<TransformerBlockArgs>(config, [
      'numHeads',
      'keyDim',
      'mlpDim',
      'mlpActivation',
      'dropout',
      'layerNormEpsilon',
      'useCausalMask',
    ]),
  });
