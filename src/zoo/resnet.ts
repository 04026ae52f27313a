// A small residual network for 28x28 images: the zoo's `resnet`. Non-sequential composition:
// each block adds its input (or a 1x1 projection of it) to its output, He et al. 2015 style.
//
//   input:  [Normalization] of pixel / 255 (the recipe's MNIST standardisation)
//   stem:   Conv(16, 3, same) → BN → ReLU                      (N,28,28,16)
//   stage1: ResidualBlock(16)                                  (N,28,28,16)
//   stage2: ResidualBlock(32, stride 2)                        (N,14,14,32)
//   stage3: ResidualBlock(64, stride 2)                        (N,7,7,64)
//   head:   GlobalAveragePooling → Dense(classes)              (N,K) logits
import type { InputNormalization } from '../data/normalize.js';
import type { CallContext, LayerArgs } from '../nn/layer.js';
import {
  Add,
  BatchNormalization,
  Conv2D,
  Dense,
  GlobalAveragePooling2D,
  Normalization,
  add,
  batchNormalization,
  conv2d,
  dense,
  globalAveragePooling2d,
  normalization,
} from '../nn/index.js';
import { relu } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import { Model } from '../train/model.js';

export interface ResidualBlockArgs extends LayerArgs {
  filters: number;
  strides?: number;
}

/** conv3x3(stride) → BN → ReLU → conv3x3 → BN, plus shortcut, then ReLU. */
export class ResidualBlock extends Model {
  readonly className = 'ResidualBlock';
  readonly filters: number;
  readonly strides: number;
  private readonly conv1: Conv2D;
  private readonly bn1: BatchNormalization;
  private readonly conv2: Conv2D;
  private readonly bn2: BatchNormalization;
  private projection: Conv2D | undefined;
  private projectionBn: BatchNormalization | undefined;
  private readonly merge: Add;

  constructor(args: ResidualBlockArgs) {
    super(args, 'residual_block');
    this.filters = args.filters;
    this.strides = args.strides ?? 1;
    const conv = (name: string, strides: number, kernelSize: number): Conv2D =>
      conv2d({
        name: `${this.name}/${name}`,
        filters: this.filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: 'he_normal',
      });
    this.conv1 = this.track(conv('conv1', this.strides, 3));
    this.bn1 = this.track(batchNormalization({ name: `${this.name}/bn1` }));
    this.conv2 = this.track(conv('conv2', 1, 3));
    this.bn2 = this.track(batchNormalization({ name: `${this.name}/bn2` }));
    this.merge = this.track(add({ name: `${this.name}/add` }));
    this.makeProjection = () => {
      this.projection = this.track(conv('projection', this.strides, 1));
      this.projectionBn = this.track(batchNormalization({ name: `${this.name}/projection_bn` }));
    };
  }

  /** The shortcut needs a projection when the block changes shape; known only at first call. */
  private makeProjection: () => void;

  protected override createWeights(inputShape: readonly number[]): void {
    if (this.strides !== 1 || inputShape[3] !== this.filters) this.makeProjection();
  }

  call(x: Tensor, context: CallContext): Tensor {
    let y = relu(this.bn1.apply(this.conv1.apply(x, context), context));
    y = this.bn2.apply(this.conv2.apply(y, context), context);
    const shortcut =
      this.projection && this.projectionBn
        ? this.projectionBn.apply(this.projection.apply(x, context), context)
        : x;
    return relu(this.merge.apply([y, shortcut], context));
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.filters, strides: this.strides };
  }
}

export interface ResNetArgs extends LayerArgs {
  classes?: number;
  /** Filters of the three stages. */
  widths?: readonly [number, number, number];
  /** Standardise the input (pixel / 255) first, with a Normalization layer the model carries. */
  normalization?: InputNormalization;
}

export class ResNet extends Model {
  readonly className = 'ResNet';
  readonly classes: number;
  readonly widths: readonly [number, number, number];
  private readonly normalizer: Normalization | undefined;
  private readonly stem: Conv2D;
  private readonly stemBn: BatchNormalization;
  private readonly blocks: ResidualBlock[];
  private readonly pool: GlobalAveragePooling2D;
  private readonly head: Dense;

  constructor(args: ResNetArgs = {}) {
    super({ inputShape: [28, 28, 1], ...args }, 'resnet');
    this.classes = args.classes ?? 10;
    this.widths = args.widths ?? [16, 32, 64];
    const [w1, w2, w3] = this.widths;
    const n = args.normalization;
    this.normalizer = n
      ? this.track(normalization({ name: `${this.name}/input_normalization`, mean: n.mean, std: n.std }))
      : undefined;
    this.stem = this.track(
      conv2d({
        name: `${this.name}/stem`,
        filters: w1,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: 'he_normal',
      }),
    );
    this.stemBn = this.track(batchNormalization({ name: `${this.name}/stem_bn` }));
    this.blocks = [
      this.track(new ResidualBlock({ name: `${this.name}/block1`, filters: w1 })),
      this.track(new ResidualBlock({ name: `${this.name}/block2`, filters: w2, strides: 2 })),
      this.track(new ResidualBlock({ name: `${this.name}/block3`, filters: w3, strides: 2 })),
    ];
    this.pool = this.track(globalAveragePooling2d({ name: `${this.name}/pool` }));
    this.head = this.track(dense({ name: `${this.name}/head`, units: this.classes }));
  }

  override get inputNormalization(): Normalization | undefined {
    return this.normalizer;
  }

  call(x: Tensor, context: CallContext): Tensor {
    const input = this.normalizer ? this.normalizer.apply(x, context) : x;
    let y = relu(this.stemBn.apply(this.stem.apply(input, context), context));
    for (const block of this.blocks) y = block.apply(y, context);
    return this.head.apply(this.pool.apply(y, context), context);
  }

  override getConfig(): Record<string, unknown> {
    const n = this.normalizer;
    return {
      ...super.getConfig(),
      classes: this.classes,
      widths: this.widths,
      ...(n ? { normalization: { mean: n.mean, std: n.std } } : {}),
    };
  }
}

function baseArgsOf(config: Record<string, unknown>): LayerArgs {
  const args: LayerArgs = {};
  if (typeof config['name'] === 'string') args.name = config['name'];
  if (typeof config['trainable'] === 'boolean') args.trainable = config['trainable'];
  if (Array.isArray(config['inputShape'])) args.inputShape = config['inputShape'] as number[];
  return args;
}

/** A ResidualBlock from its getConfig() (its row in LAYER_CLASSES). */
export function residualBlockFromConfig(config: Record<string, unknown>): ResidualBlock {
  const args: ResidualBlockArgs = { ...baseArgsOf(config), filters: config['filters'] as number };
  if (typeof config['strides'] === 'number') args.strides = config['strides'];
  return new ResidualBlock(args);
}

/** A ResNet from its getConfig() (its row in LAYER_CLASSES). */
export function resNetFromConfig(config: Record<string, unknown>): ResNet {
  const args: ResNetArgs = baseArgsOf(config);
  if (typeof config['classes'] === 'number') args.classes = config['classes'];
  if (Array.isArray(config['widths'])) args.widths = config['widths'] as [number, number, number];
  const n = config['normalization'] as { mean?: unknown; std?: unknown } | undefined;
  if (n) args.normalization = { mean: n.mean as number, std: n.std as number };
  return new ResNet(args);
}
