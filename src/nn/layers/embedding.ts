// Embedding: integer ids [batch, ...] -> rows of a learned table [...ids.shape, outputDim]. The
// table `embeddings` is [inputDim, outputDim] (Keras's name and layout; PyTorch's
// nn.Embedding.weight is the same matrix). Ids are int32, or floats holding whole numbers.
import type { Shape } from '../../backend/kernels.js';
import type { RandomSource } from '../../tensor/ops/creation.js';
import { gather } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';
import { getInitializer, serializeInitializer } from '../initializers.js';
import type { InitializerIdentifier, SerializableInitializer } from '../initializers.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, pick } from './common.js';

export interface EmbeddingArgs extends LayerArgs {
  /** Vocabulary size: ids are in [0, inputDim). */
  inputDim: number;
  /** Width of each embedding vector. */
  outputDim: number;
  /** Default 'random_uniform' (uniform in [-0.05, 0.05), as Keras). */
  embeddingsInitializer?: InitializerIdentifier;
}

export class Embedding extends Layer {
  readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: SerializableInitializer;
  /** [inputDim, outputDim] */
  embeddings: Tensor | undefined;

  constructor(args: EmbeddingArgs) {
    super(args, 'embedding');
    for (const key of ['inputDim', 'outputDim'] as const) {
      if (!Number.isInteger(args[key]) || args[key] <= 0) {
        throw new Error(
          `Embedding '${this.name}': ${key} must be a positive integer, found ${JSON.stringify(args[key])}`,
        );
      }
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.embeddingsInitializer = getInitializer(args.embeddingsInitializer ?? 'random_uniform');
  }

  protected override createWeights(_inputShape: Shape, random: RandomSource): void {
    this.embeddings = this.addWeight(
      'embeddings',
      [this.inputDim, this.outputDim],
      this.embeddingsInitializer,
      random,
    );
  }

  call(ids: Tensor, _context: CallContext): Tensor {
    const data = ids.data;
    for (let i = 0; i < data.length; i++) {
      const id = data[i] as number;
      if (!(Number.isInteger(id) && id >= 0 && id < this.inputDim)) {
        throw new Error(
          `Embedding '${this.name}': id ${id} at position ${i} is not in [0, ${this.inputDim}) (inputDim ${this.inputDim}); ids are whole numbers below the vocabulary size`,
        );
      }
    }
    return gather(this.embeddings as Tensor, ids);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: serializeInitializer(this.embeddingsInitializer),
    };
  }
}

/** Keras-style factory: embedding({inputDim: 1000, outputDim: 64}). */
export function embedding(args: EmbeddingArgs): Embedding {
  return new Embedding(args);
}

/** A Embedding from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const embeddingFromConfig: LayerFactory = (config) =>
  new Embedding({
    ...baseArgs(config),
    ...pick<EmbeddingArgs>(config, ['inputDim', 'outputDim', 'embeddingsInitializer']),
  });
