// MultiHeadAttention (Vaswani et al. 2017) with Keras's arguments and semantics. Letters: B batch,
// T query length, S key/value length, H heads, dk key size, dv value size, E output features.
//   query [B, T, Dq], value [B, S, Dv], key [B, S, Dk] (key defaults to value)
//   q = (query Wq + bq) / sqrt(dk) -> [B, H, T, dk]    k = key Wk + bk -> [B, H, S, dk]
//   v = value Wv + bv -> [B, H, S, dv]
//   scores = softmax(q k^T + maskBias) [B, H, T, S]    (maskBias -1e9 where the mask is 0)
//   output = concat over heads of (dropout(scores) v) Wo + bo -> [B, T, E], E = outputShape ?? Dq
// The four projections are Dense sublayers '<name>/query', '/key', '/value', '/output' with kernels
// [D, H*dk] and [H*dv, E]: Keras's EinsumDense kernels [D, H, dk] and [H, dv, E] flattened (same
// values, same order; head h owns columns h*dk .. h*dk+dk-1, as in PyTorch's nn.MultiheadAttention),
// so a fine-tuning glob reaches 'block3/attention/query' like any other dense layer.
// NOTE: the kernels' glorot_uniform fans are those of the 2-D kernel ([D, H*dk]: D and H*dk), not
// Keras's fans of the 3-D EinsumDense kernel.
import type { Shape } from '../../backend/kernels.js';
import { cast, fill } from '../../tensor/ops/creation.js';
import { add, mul, sub } from '../../tensor/ops/elementwise.js';
import { dropout as dropoutOp, matmul, softmax } from '../../tensor/ops/nn.js';
import { reshape, transpose } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape, pick } from './common.js';
import { Dense, dense } from './dense.js';

export interface MultiHeadAttentionArgs extends LayerArgs {
  numHeads: number;
  /** Size of each head's query and key projections. */
  keyDim: number;
  /** Size of each head's value projection; default keyDim. */
  valueDim?: number;
  /** Dropout rate on the attention probabilities while training; default 0. */
  dropout?: number;
  /** Biases on the four projections; default true. */
  useBias?: boolean;
  /** Output features E; default the query's feature count. */
  outputShape?: number;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
}

/** Keras's call arguments besides the inputs. */
export interface AttentionOptions {
  /**
   * 1 where query position t may attend to key position s, 0 where not (Keras attention_mask):
   * [B, T, S], or [T, S] shared by the whole batch; float or int32.
   */
  attentionMask?: Tensor;
  /** Query position t attends only to key positions s <= t (Keras use_causal_mask); combines with attentionMask. */
  useCausalMask?: boolean;
  /** Also return the attention probabilities [B, H, T, S] (Keras return_attention_scores). */
  returnAttentionScores?: boolean;
}

/** What apply() returns with returnAttentionScores. */
export interface AttentionOutput {
  /** [B, T, E] */
  output: Tensor;
  /** [B, H, T, S]: softmax over S, before dropout. */
  scores: Tensor;
}

/** A tensor (self-attention: query = value = key), or [query, value] or [query, value, key]. */
export type AttentionInputs = Tensor | readonly [query: Tensor, value: Tensor, key?: Tensor];

const MULTI_HEAD_ATTENTION_DEFAULTS = {
  dropout: 0,
  useBias: true,
  kernelInitializer: 'glorot_uniform',
  biasInitializer: 'zeros',
} as const;

/** Added to masked scores: exp() of it is 0 in float32 and float64 (Keras uses the same -1e9). */
const MASKED_SCORE = -1e9;

export class MultiHeadAttention extends Layer {
  readonly className = 'MultiHeadAttention';
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly dropout: number;
  readonly useBias: boolean;
  readonly outputShape: number | undefined;
  readonly kernelInitializer: SerializableInitializer;
  readonly biasInitializer: SerializableInitializer;
  readonly query: Dense;
  readonly key: Dense;
  readonly value: Dense;
  /** Made at the first call when outputShape is not given (it is the query's feature count). */
  output: Dense | undefined;

  constructor(args: MultiHeadAttentionArgs) {
    super(args, 'multi_head_attention');
    const positive = (value: unknown, what: string): number => {
      if (!Number.isInteger(value) || (value as number) <= 0) {
        throw new Error(
          `MultiHeadAttention '${this.name}': ${what} must be a positive integer, found ${JSON.stringify(value)}`,
        );
      }
      return value as number;
    };
    const d = MULTI_HEAD_ATTENTION_DEFAULTS;
    this.numHeads = positive(args.numHeads, 'numHeads');
    this.keyDim = positive(args.keyDim, 'keyDim');
    this.valueDim = args.valueDim === undefined ? this.keyDim : positive(args.valueDim, 'valueDim');
    this.outputShape = args.outputShape === undefined ? undefined : positive(args.outputShape, 'outputShape');
    this.dropout = args.dropout ?? d.dropout;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new Error(
        `MultiHeadAttention '${this.name}': dropout must be in [0, 1), found ${JSON.stringify(args.dropout)}`,
      );
    }
    this.useBias = args.useBias ?? d.useBias;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? d.kernelInitializer);
    this.biasInitializer = getInitializer(args.biasInitializer ?? d.biasInitializer);
    this.query = this.projection('query', this.numHeads * this.keyDim);
    this.key = this.projection('key', this.numHeads * this.keyDim);
    this.value = this.projection('value', this.numHeads * this.valueDim);
    if (this.outputShape !== undefined) this.output = this.projection('output', this.outputShape);
  }

  private projection(role: string, units: number): Dense {
    return dense({
      name: `${this.name}/${role}`,
      units,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
      trainable: this.trainable,
    });
  }

  /** The four projections as created; a LoRA wrapper may stand in for any (Layer.replaceSublayer). */
  protected override get swappableSublayers(): readonly Layer[] {
    return this.output ? [this.query, this.key, this.value, this.output] : [this.query, this.key, this.value];
  }

  override get sublayers(): readonly Layer[] {
    return this.swappableSublayers.map((layer) => this.standIn(layer));
  }

  /**
   * Keras's call: `apply([query, value], context)`, `apply([query, value, key], context, options)`,
   * or `apply(x, context)` for self-attention. With returnAttentionScores it returns
   * {output, scores}.
   */
  override apply(
    inputs: AttentionInputs,
    context: CallContext,
    options: AttentionOptions & { returnAttentionScores: true },
  ): AttentionOutput;
  override apply(
    inputs: AttentionInputs,
    context: CallContext,
    options?: AttentionOptions & { returnAttentionScores?: false },
  ): Tensor;
  override apply(
    inputs: AttentionInputs,
    context: CallContext,
    options: AttentionOptions = {},
  ): Tensor | AttentionOutput {
    const [query, value, key] = Array.isArray(inputs)
      ? (inputs as readonly [Tensor, Tensor, Tensor?])
      : [inputs as Tensor, inputs as Tensor];
    const result = this.attend(query, value, key ?? value, context, options);
    return options.returnAttentionScores ? result : result.output;
  }

  /** The output projection's default width is the query's feature count, known now. */
  protected override createWeights(queryShape: Shape): void {
    this.output ??= this.projection('output', queryShape[queryShape.length - 1] as number);
  }

  /** Self-attention, so the layer also works where one input is passed (a Sequential). */
  call(x: Tensor, context: CallContext): Tensor {
    return this.attend(x, x, x, context, {}).output;
  }

  private attend(
    query: Tensor,
    value: Tensor,
    key: Tensor,
    context: CallContext,
    options: AttentionOptions,
  ): AttentionOutput {
    this.checkInputs(query, value, key);
    const [B, T] = query.shape as [number, number, number];
    const S = value.shape[1] as number;
    this.buildOnce(query, context.random);
    const bias = this.maskBias(options, B, T, S, query);
    const H = this.numHeads;
    // [B, L, D] -> rows [B*L, D] -> projection [B*L, H*size] -> [B, H, L, size]
    const heads = (layer: Dense, x: Tensor, scale: number, size: number): Tensor => {
      const rows = this.standIn(layer).apply(reshape(x, [-1, x.shape[2] as number]), context);
      const scaled = scale === 1 ? rows : mul(rows, scale);
      return transpose(reshape(scaled, [B, x.shape[1] as number, H, size]), [0, 2, 1, 3]);
    };
    const q = heads(this.query, query, 1 / Math.sqrt(this.keyDim), this.keyDim);
    const k = heads(this.key, key, 1, this.keyDim);
    const v = heads(this.value, value, 1, this.valueDim);
    const logits = matmul(q, k, { transposeB: true }); // [B, H, T, S]
    const scores = softmax(bias ? add(logits, bias) : logits);
    const kept =
      context.training && this.dropout > 0 ? dropoutOp(scores, this.dropout, context.random) : scores;
    const attended = matmul(kept, v); // [B, H, T, dv]
    const merged = reshape(transpose(attended, [0, 2, 1, 3]), [B * T, H * this.valueDim]);
    const output = this.standIn(this.output as Dense).apply(merged, context); // [B*T, E]
    return { output: reshape(output, [B, T, output.shape[1] as number]), scores };
  }

  /** Throws, naming this layer, unless query/value/key are [B, T, .], [B, S, .], [B, S, .]. */
  private checkInputs(query: Tensor, value: Tensor, key: Tensor): void {
    const expected = '[batch, length, features]';
    for (const [role, t] of [
      ['query', query],
      ['value', value],
      ['key', key],
    ] as const) {
      if (t.rank !== 3) {
        throw new Error(`${this.describe()}: ${role} must be ${expected}, found ${formatShape(t.shape)}`);
      }
      if (t.shape[0] !== query.shape[0]) {
        throw new Error(
          `${this.describe()}: ${role} has batch ${t.shape[0]}, query has ${query.shape[0]}: ${formatShape(t.shape)} vs ${formatShape(query.shape)}`,
        );
      }
    }
    if (key.shape[1] !== value.shape[1]) {
      throw new Error(
        `${this.describe()}: key and value must have the same length, found key ${formatShape(key.shape)} and value ${formatShape(value.shape)}`,
      );
    }
  }

  /** -1e9 where attention is masked, 0 elsewhere: [B or 1, 1, T, S] (broadcast over heads), or null. */
  private maskBias(options: AttentionOptions, B: number, T: number, S: number, like: Tensor): Tensor | null {
    const dtype = like.dtype === 'float64' ? 'float64' : 'float32';
    let allowed: Tensor | null = null;
    const mask = options.attentionMask;
    if (mask) {
      const fits =
        (mask.rank === 2 && mask.shape[0] === T && mask.shape[1] === S) ||
        (mask.rank === 3 &&
          (mask.shape[0] === B || mask.shape[0] === 1) &&
          mask.shape[1] === T &&
          mask.shape[2] === S);
      if (!fits) {
        throw new Error(
          `${this.describe()}: attentionMask must be [${B}, ${T}, ${S}] or [${T}, ${S}] ` +
            `(batch, query length, key length), found ${formatShape(mask.shape)}`,
        );
      }
      allowed = reshape(cast(mask, dtype), [mask.rank === 3 ? (mask.shape[0] as number) : 1, 1, T, S]);
    }
    if (options.useCausalMask) {
      const causal = fill([1, 1, T, S], 0, dtype);
      const data = causal.data;
      for (let t = 0; t < T; t++) for (let s = 0; s <= Math.min(t, S - 1); s++) data[t * S + s] = 1;
      allowed = allowed ? mul(allowed, causal) : causal;
    }
    return allowed ? mul(sub(1, allowed), MASKED_SCORE) : null;
  }

  private describe(): string {
    return `MultiHeadAttention '${this.name}'`;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropout,
      useBias: this.useBias,
      outputShape: this.outputShape ?? null,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
    };
  }
}

/** Keras-style factory: multiHeadAttention({numHeads: 4, keyDim: 16}). */
export function multiHeadAttention(args: MultiHeadAttentionArgs): MultiHeadAttention {
  return new MultiHeadAttention(args);
}

/** A MultiHeadAttention from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const multiHeadAttentionFromConfig: LayerFactory = (config) =>
  new MultiHeadAttention({
    ...baseArgs(config),
    ...pick<MultiHeadAttentionArgs>(config, [
      'numHeads',
      'keyDim',
      'valueDim',
      'dropout',
      'useBias',
      'outputShape',
      'kernelInitializer',
      'biasInitializer',
    ]),
  });
