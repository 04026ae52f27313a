// Add: the merge layer of residual connections. apply([a, b, ...]) sums tensors of one shape
// elementwise. Use it inside a Model subclass's call(), e.g. this.merge.apply([x, shortcut]).
import { add as addOp } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerFactory } from '../layer.js';
import type { CallContext, LayerArgs } from '../layer.js';
import { baseArgs, formatShape } from './common.js';

export type AddArgs = LayerArgs;

const NO_RANDOM = { nextFloat: (): number => 0.5 };

export class Add extends Layer {
  readonly className = 'Add';

  constructor(args: AddArgs = {}) {
    super(args, 'add');
  }

  /** Sums `inputs` (at least one; equal shapes). A single tensor passes through. */
  override apply(inputs: Tensor | readonly Tensor[], context?: CallContext): Tensor {
    // No weights to build; the base apply() would read a single input's shape.
    this.built = true;
    return this.call(inputs, context ?? { training: false, random: NO_RANDOM });
  }

  call(inputs: Tensor | readonly Tensor[], _context: CallContext): Tensor {
    const list: readonly Tensor[] = Array.isArray(inputs) ? inputs : [inputs as Tensor];
    const first = list[0];
    if (!first) throw new Error(`Add '${this.name}': needs at least one input tensor`);
    for (const t of list) {
      if (t.rank !== first.rank || t.shape.some((d, i) => d !== first.shape[i])) {
        throw new Error(
          `Add '${this.name}': inputs must have one shape, found ${list.map((u) => formatShape(u.shape)).join(' and ')}`,
        );
      }
    }
    return list.slice(1).reduce((sum, t) => addOp(sum, t), first);
  }
}

/** Keras-style factory: const merge = add(); ...; merge.apply([x, shortcut]). */
export function add(args: AddArgs = {}): Add {
  return new Add(args);
}

/** A Add from its getConfig(): its row of BUILTIN_LAYERS (src/nn/index.ts). */
export const addFromConfig: LayerFactory = (config) => new Add(baseArgs(config));
