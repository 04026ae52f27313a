// Data-parallel training: every process holds the whole model and takes a share of each global
// batch; gradients are averaged over processes before every optimizer update, so every process
// makes the same update and keeps the same weights (compared by hash every few steps). The trainer
// calls this through its one seam (src/train/data-parallel.ts); communication is a Collectives
// (MPI's on Node, launch.ts).
//
// Letters: B global batch, b this process's share, P processes, W weights (all values, flat).
//
// NOTE: a share's gradient is its mean over b examples; weighted by b / B and summed over processes
// it is the global batch's mean, exactly as one process computes it, up to float rounding (the sum
// runs in another order). The same holds for the loss, so finiteness is agreed too.
import type { Model } from '../train/model.js';
import type { DataParallel, StepSynchronization } from '../train/data-parallel.js';
import type { StepInput, StepResult } from '../train/trainer.js';
import type { CrossReplica } from '../tensor/ops/cross-replica.js';
import type { Tensor } from '../tensor/tensor.js';
import { Random } from '../util/random.js';

/** What data-parallel training needs from the processes' communication (MPI on Node). */
export interface Collectives {
  readonly rank: number;
  readonly size: number;
  /** Sum over every process (average: divided by the number of processes), in place. */
  allReduce(values: Float32Array | Float64Array, average?: boolean): void;
  /** The root passes its bytes, the others null; every process gets the root's bytes. */
  broadcast(bytes: Uint8Array | null, root: number): Uint8Array;
  /** Every process's hash of its bytes, in rank order. */
  gatherHashes(values: ArrayBufferView): string[];
}

export interface DataParallelOptions {
  /** Batch norm over the global batch's statistics (all-reduced per layer); default per process. */
  syncBatchNorm?: boolean;
  /** Weights are compared across processes after the first step and every this many. Default 50. */
  checkEvery?: number;
}

/** Where the time of the steps went (bench, README): communication against the whole step. */
export interface DataParallelTiming {
  steps: number;
  stepSeconds: number;
  allReduceSeconds: number;
  /** Values all-reduced per step (gradients and the loss). */
  allReduceValues: number;
  /** Gathering rows computed in shares (gatherRows: the fine-tune's frozen features). */
  gatherSeconds: number;
}

/** Processes hold different weights: a bug or a broken process, never float rounding. */
export class WeightsDifferError extends Error {
  override name = 'WeightsDifferError';
}

/** The [begin, end) rows of a global batch of `batch` rows that process `rank` of `size` takes. */
export function shareOf(batch: number, rank: number, size: number): [number, number] {
  return [Math.floor((rank * batch) / size), Math.floor(((rank + 1) * batch) / size)];
}

/**
 * This process's generator of a stream for one step (dropout, augmentation): derived from the global
 * generator's state, the rank and the global step. The global generator itself advances only by
 * what the step draws for the whole batch (BatchShare), as one process's would, so it stays the same
 * on every process and a checkpoint of it resumes the same draws with any number of processes.
 */
function forked(global: Random, rank: number, step: number): Random {
  return new Random(...(global.state().words as [number, ...number[]]), rank, step);
}

export class CollectiveDataParallel implements DataParallel {
  readonly rank: number;
  readonly size: number;
  readonly timing: DataParallelTiming = {
    steps: 0,
    stepSeconds: 0,
    allReduceSeconds: 0,
    allReduceValues: 0,
    gatherSeconds: 0,
  };
  private readonly checkEvery: number;
  readonly syncBatchNorm: boolean;
  private flat: Float32Array | undefined; // (W + 1) gradients, then the loss
  private weightsSent = false;
  private localSignal: AbortSignal | undefined;
  private readonly agreed = new AbortController();

  constructor(
    private readonly collectives: Collectives,
    options: DataParallelOptions = {},
  ) {
    this.rank = collectives.rank;
    this.size = collectives.size;
    this.checkEvery = options.checkEvery ?? 50;
    this.syncBatchNorm = options.syncBatchNorm ?? false;
  }

  agreedSignal(signal: AbortSignal | undefined): AbortSignal {
    this.localSignal = signal;
    return this.agreed.signal;
  }

  step(input: StepInput, trainStep: (input: StepInput) => StepResult, step: number): StepResult {
    const started = performance.now();
    if (!this.weightsSent) {
      // The first step starts from rank 0's weights (the same seed gives the same ones; this makes
      // a model built differently on one process, or a stray file, harmless).
      this.broadcastWeights(input.model);
      this.weightsSent = true;
    }
    const global = input.indices; // (B)
    const [begin, end] = shareOf(global.length, this.rank, this.size);
    // A batch smaller than P leaves some processes without rows: they run one row weighted 0.
    const share = (end - begin) / global.length;
    const indices = Int32Array.from(
      { length: Math.max(end - begin, 1) },
      (_, i) => global[Math.min(begin + i, global.length - 1)] as number,
    ); // (b)
    const sync: StepSynchronization = {
      gradients: (grads, loss) => this.averageGradients(grads, loss, share),
      ...(this.syncBatchNorm ? { crossReplica: this.crossReplica(share) } : {}),
      // A process without rows runs the batch's last one (above).
      batchShare: {
        begin: Math.min(begin, global.length - indices.length),
        rows: global.length,
        random: input.random,
      },
    };
    const result = trainStep({
      ...input,
      indices,
      random: forked(input.random, this.rank, step),
      augment: input.augment && {
        ...input.augment,
        random: forked(input.augment.random, this.rank, step),
      },
      sync,
    });
    const correct = this.afterStep(input.model, share > 0 ? result.correct : 0);
    if (this.timing.steps === 0 || (step + 1) % this.checkEvery === 0) this.compareWeights(input.model, step);
    this.timing.steps++;
    this.timing.stepSeconds += (performance.now() - started) / 1000;
    return { loss: result.loss, correct, finite: result.finite };
  }

  rowsOf(count: number): [number, number] {
    return shareOf(count, this.rank, this.size);
  }

  gatherRows(rows: Float32Array): void {
    // NOTE: a sum in which every value but one is an exact zero is that value, bit for bit.
    const started = performance.now();
    this.collectives.allReduce(rows);
    this.timing.gatherSeconds += (performance.now() - started) / 1000;
  }

  /** grads, loss: this process's means over b rows -> the global batch's means, on every process. */
  private averageGradients(grads: readonly Tensor[], loss: Tensor, share: number): void {
    const total = grads.reduce((n, g) => n + g.size, 0) + 1;
    if (this.flat?.length !== total) this.flat = new Float32Array(total);
    const flat = this.flat;
    let offset = 0;
    for (const g of grads) {
      const values = g.data as Float32Array;
      for (let i = 0; i < values.length; i++) flat[offset + i] = (values[i] as number) * share;
      offset += values.length;
    }
    flat[offset] = (loss.data[0] as number) * share;
    const started = performance.now();
    this.collectives.allReduce(flat);
    this.timing.allReduceSeconds += (performance.now() - started) / 1000;
    this.timing.allReduceValues = total;
    offset = 0;
    for (const g of grads) {
      (g.data as Float32Array).set(flat.subarray(offset, offset + g.size));
      offset += g.size;
    }
    (loss.data as Float32Array)[0] = flat[offset] as number;
  }

  private crossReplica(share: number): CrossReplica {
    return {
      sum: (values) => this.collectives.allReduce(values),
      sumGradients: (values) => {
        // See CrossReplica.sumGradients: weighted by the share, summed, unweighted again.
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * share;
        this.collectives.allReduce(values);
        if (share > 0) for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / share;
      },
    };
  }

  /**
   * One small all-reduce after the update: the batch's correct count, whether any process was
   * asked to stop (all then stop after this same step), and, with per-process batch norm, the
   * moving statistics averaged so every process keeps the same ones.
   */
  private afterStep(model: Model, correct: number): number {
    const moving = this.syncBatchNorm ? [] : movingStatistics(model);
    const values = new Float64Array(2 + moving.reduce((n, w) => n + w.size, 0));
    values[0] = correct;
    values[1] = this.localSignal?.aborted ? 1 : 0;
    let offset = 2;
    for (const w of moving) {
      values.set(w.data as Float32Array, offset);
      offset += w.size;
    }
    this.collectives.allReduce(values);
    offset = 2;
    for (const w of moving) {
      const data = w.data as Float32Array;
      for (let i = 0; i < data.length; i++) data[i] = (values[offset + i] as number) / this.size;
      offset += w.size;
    }
    if ((values[1] as number) > 0) this.agreed.abort();
    return values[0] as number;
  }

  private broadcastWeights(model: Model): void {
    const weights = model.weights.map((w) => w.value);
    const bytes = this.rank === 0 ? new Uint8Array(packWeights(weights).buffer) : null;
    const received = this.collectives.broadcast(bytes, 0);
    if (this.rank !== 0) unpackWeights(weights, new Float32Array(received.buffer, received.byteOffset));
  }

  private compareWeights(model: Model, step: number): void {
    const hashes = this.collectives.gatherHashes(packWeights(model.weights.map((w) => w.value)));
    const differing = hashes.flatMap((hash, rank) => (hash === hashes[0] ? [] : [rank]));
    if (differing.length > 0) {
      throw new WeightsDifferError(
        `after step ${step} the weights of process${differing.length > 1 ? 'es' : ''} ${differing.join(', ')} ` +
          `differ from process 0's (hash ${hashes[differing[0] as number]} against ${hashes[0]}); data-parallel ` +
          'processes must run the same mnist-lab, backend and model: check that every host has the same install',
      );
    }
  }
}

/** Batch norm's moving statistics: the state each process updates from its own rows. */
function movingStatistics(model: Model): Tensor[] {
  return model.weights
    .filter((w) => !w.trainable && (w.name === 'moving_mean' || w.name === 'moving_variance'))
    .map((w) => w.value);
}

function packWeights(weights: readonly Tensor[]): Float32Array {
  const out = new Float32Array(weights.reduce((n, w) => n + w.size, 0)); // (W)
  let offset = 0;
  for (const w of weights) {
    out.set(w.data as Float32Array, offset);
    offset += w.size;
  }
  return out;
}

function unpackWeights(weights: readonly Tensor[], flat: Float32Array): void {
  let offset = 0;
  for (const w of weights) {
    (w.data as Float32Array).set(flat.subarray(offset, offset + w.size));
    offset += w.size;
  }
}
