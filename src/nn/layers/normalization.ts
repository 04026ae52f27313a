// Normalization: y = (x - mean) / sqrt(variance), Keras's preprocessing layer with scalar statistics
// (axis null: one mean and variance for every value; MNIST-family images have one channel). A model
// that starts with it carries its input standardisation: it is saved with the model, and every path
// that predicts (predict, evaluate, the server, the web page, exports) applies it by construction.
// No weights: mean and variance are configuration, like Keras's when they are given.
//
// NOTE: the arithmetic is an f32 subtraction of f32(mean) then an f32 division by f32(std), the same
// as data/normalize.ts normalizedLevel, so fit's batches can fold this layer into their pixel
// lookup (CallContext.normalizedBy) without changing a bit.
import { checkNormalization, pixelStatistics } from '../../data/normalize.js';
import type { InputNormalization } from '../../data/normalize.js';
import { div, sub } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs } from './common.js';

/** mean and variance (Keras), or mean and std. */
export type NormalizationArgs = LayerArgs & { mean: number } & (
    { variance: number; std?: never } | { std: number; variance?: never }
  );

/** Keras's backend epsilon: the smallest standard deviation divided by. */
const EPSILON = 1e-7;

export class Normalization extends Layer {
  readonly className = 'Normalization';
  private current: InputNormalization;
  private varianceValue: number;

  constructor(args: NormalizationArgs) {
    super(args, 'normalization');
    this.varianceValue = 0;
    this.current = { mean: 0, std: 1 };
    this.setStatistics(args.mean, args.variance, args.std);
  }

  get mean(): number {
    return this.current.mean;
  }

  get variance(): number {
    return this.varianceValue;
  }

  /** max(sqrt(variance), 1e-7): what inputs are divided by. */
  get std(): number {
    return this.current.std;
  }

  /** The mean and std this layer standardises with, as the batch pipeline takes them. */
  get statistics(): InputNormalization {
    return this.current;
  }

  private setStatistics(mean: number, variance: number | undefined, std: number | undefined): void {
    if (!(variance === undefined ? std !== undefined && std >= 0 : std === undefined && variance >= 0)) {
      throw new Error(
        `Normalization '${this.name}': expected a mean and either a variance or a std (non-negative), ` +
          `found variance ${variance}, std ${std}`,
      );
    }
    // NOTE: sqrt(std * std) is std again in binary floating point, so a layer saved with its
    // variance (the Keras config) divides by the same std after loading.
    const deviation = std ?? Math.sqrt(variance as number);
    const next = { mean, std: Math.max(deviation, EPSILON) };
    checkNormalization(next, `Normalization '${this.name}'`);
    this.current = next;
    this.varianceValue = variance ?? deviation * deviation;
  }

  /**
   * Sets mean and variance from data, as Keras's adapt(): u8 pixels are read as pixel / 255 (what
   * the model takes), float values as they are.
   */
  adapt(data: Uint8Array | Float32Array | Float64Array): void {
    if (data.length === 0) throw new Error(`Normalization '${this.name}': adapt() needs data, found none`);
    if (data instanceof Uint8Array) {
      const { mean, std } = pixelStatistics(data);
      this.setStatistics(mean, std * std, undefined);
      return;
    }
    let sum = 0;
    for (const v of data) sum += v;
    const mean = sum / data.length;
    let squares = 0;
    for (const v of data) squares += (v - mean) * (v - mean);
    this.setStatistics(mean, squares / data.length, undefined);
  }

  call(x: Tensor, context: CallContext): Tensor {
    if (context.normalizedBy === this) return x;
    return div(sub(x, this.mean), this.std);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: null, mean: this.mean, variance: this.variance };
  }
}

/** Keras-style factory: normalization({mean: 0.1307, variance: 0.3081 ** 2}) or ({mean, std}). */
export function normalization(args: NormalizationArgs): Normalization {
  return new Normalization(args);
}

/** A Normalization from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const normalizationFromConfig: LayerFactory = (config) => {
  if (config['axis'] !== undefined && config['axis'] !== null) {
    throw new Error(
      `Normalization: axis ${JSON.stringify(config['axis'])} is not supported (only null: scalar statistics)`,
    );
  }
  return new Normalization({
    ...baseArgs(config),
    mean: config['mean'] as number,
    variance: config['variance'] as number,
  });
};
