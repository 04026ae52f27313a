// The machinery every built-in optimizer shares: argument checks, global-norm clipping, per-parameter
// learning-rate multipliers (discriminative fine-tuning), persistent slot tensors (moments) and
// their save/restore. Subclasses only implement one in-place update over a group of parameters that
// share a learning rate.
import type { FloatStorage } from '../backend/kernels.js';
import { clone, zerosLike } from '../tensor/ops/creation.js';
import { Tensor, keep, noGrad, tidy } from '../tensor/tensor.js';
import { getBackend } from '../backend/registry.js';
import { onReplay, refuseCapture, type ReplayHook } from '../tensor/capture.js';
import { clipByGlobalNorm } from './clip.js';
import { Optimizer } from './optimizer.js';
import type { LearningRateSchedule, OptimizerState } from './optimizer.js';
import { serializeSchedule } from './schedules.js';

/**
 * Learning-rate multipliers per parameter: an array aligned with the params given to
 * applyGradients, or a map from parameter tensor to multiplier (missing parameters get 1).
 */
export type LrMultipliers = readonly number[] | ReadonlyMap<Tensor, number>;

export interface OptimizerOptions {
  learningRate?: number | LearningRateSchedule;
  /** Scale gradients so their global L2 norm is at most this, before the update. */
  clipNorm?: number;
  lrMultipliers?: LrMultipliers;
}

/** One call of a fused update: parameters sharing a learning rate, with their slots. */
export interface UpdateGroup {
  /** Parameter storage, updated in place. */
  params: FloatStorage[];
  grads: FloatStorage[];
  /** Slot storage by slot name, aligned with params; updated in place. */
  slots: Record<string, FloatStorage[]>;
  /** Base rate (schedule applied) times the group's multiplier. */
  lr: number;
  /** 1-based number of this update (bias corrections). */
  step: number;
  /**
   * float64 [lr, step], what the fused update kernels read: a buffer that outlives the step, so a
   * replayed step (src/tensor/capture.ts) reads this step's values from it.
   */
  schedule: Float64Array;
}

export abstract class SlotOptimizer extends Optimizer {
  /** See LrMultipliers; may be changed between updates (e.g. when fine-tuning unfreezes layers). */
  lrMultipliers: LrMultipliers | undefined;
  /** Slots of each parameter, by parameter tensor. */
  private readonly slotsByParam = new Map<Tensor, Record<string, Tensor>>();
  /** Parameters in the order first seen: the order of getState(). */
  private readonly order: Tensor[] = [];
  /** Restored slots not yet matched to parameters (setState before the first update). */
  private pending: Record<string, Tensor[]> | undefined;
  /** One schedule buffer per learning-rate group (UpdateGroup.schedule). */
  private readonly schedules: Float64Array[] = [];

  constructor(defaultLearningRate: number, options: OptimizerOptions) {
    super(options.learningRate ?? defaultLearningRate, options.clipNorm);
    if (options.clipNorm !== undefined && !(options.clipNorm > 0)) {
      throw new Error(`${new.target.name}: clipNorm must be positive, found ${options.clipNorm}`);
    }
    this.lrMultipliers = options.lrMultipliers;
  }

  /** Slot names this optimizer keeps per parameter, e.g. ['m', 'v']. */
  protected abstract slotNames(): readonly string[];

  /** Updates one group in place (params and slots). */
  protected abstract updateGroup(group: UpdateGroup): void;

  /** The optimizer's own hyperparameters for getConfig() (learning rate and clipNorm are added). */
  protected abstract hyperparameters(): Record<string, unknown>;

  applyGradients(params: readonly Tensor[], grads: readonly Tensor[]): void {
    this.checkArguments(params, grads);
    const lr = this.currentLearningRate();
    const step = this.iterations + 1;
    const groups = this.groupByMultiplier(params);
    const schedules = this.writeSchedules(groups, lr, step);
    tidy(() =>
      noGrad(() => {
        if (this.clipNorm !== undefined) {
          refuseCapture(`${this.className}: clipNorm scales the gradients by a norm read in JavaScript`);
        }
        const clipped = this.clipNorm === undefined ? grads : clipByGlobalNorm(grads, this.clipNorm);
        const slots = params.map((p) => this.slotsOf(p));
        [...groups].forEach(([multiplier, indices], g) => {
          const group: UpdateGroup = {
            params: indices.map((i) => (params[i] as Tensor).data as FloatStorage),
            grads: indices.map((i) => (clipped[i] as Tensor).data as FloatStorage),
            slots: {},
            lr: lr * multiplier,
            step,
            schedule: schedules[g] as Float64Array,
          };
          for (const name of this.slotNames()) {
            group.slots[name] = indices.map(
              (i) => (slots[i] as Record<string, Tensor>)[name]?.data as FloatStorage,
            );
          }
          this.updateGroup(group);
        });
      }),
    );
    onReplay(this, this.replayHook([...params], groupSignature(groups), schedules));
    this.iterations += 1;
  }

  /**
   * A replayed step: this step's rates go into the schedule buffers before it, the count after it
   * (when the update ran). Groups that changed since the recording invalidate the plan. NOTE: made
   * here, not in applyGradients, so the hook holds no gradient of the recorded step.
   */
  private replayHook(params: readonly Tensor[], recorded: string, schedules: Float64Array[]): ReplayHook {
    return {
      writes: schedules,
      before: () => {
        const now = this.groupByMultiplier(params);
        if (groupSignature(now) !== recorded) return false;
        this.writeSchedules(now, this.currentLearningRate(), this.iterations + 1);
        return true;
      },
      after: () => {
        this.iterations += 1;
      },
    };
  }

  /** [lr * multiplier, step] into each group's schedule buffer (made on first use). */
  private writeSchedules(groups: Map<number, number[]>, lr: number, step: number): Float64Array[] {
    let g = 0;
    for (const multiplier of groups.keys()) {
      let schedule = this.schedules[g];
      if (!schedule) {
        schedule = getBackend().alloc('float64', 2);
        this.schedules[g] = schedule;
      }
      schedule[0] = lr * multiplier;
      schedule[1] = step;
      g++;
    }
    return this.schedules.slice(0, groups.size);
  }

  private checkArguments(params: readonly Tensor[], grads: readonly Tensor[]): void {
    if (params.length !== grads.length) {
      throw new Error(`${this.className}: ${params.length} parameters but ${grads.length} gradients`);
    }
    params.forEach((p, i) => {
      const g = grads[i] as Tensor;
      if (p.dtype === 'int32' || g.dtype !== p.dtype || g.size !== p.size) {
        throw new Error(
          `${this.className}: gradient ${i} is ${g.dtype} [${g.shape.join(', ')}], parameter ${p.name ?? i} is ` +
            `${p.dtype} [${p.shape.join(', ')}] (expected the same float dtype and shape)`,
        );
      }
    });
    if (Array.isArray(this.lrMultipliers) && this.lrMultipliers.length !== params.length) {
      throw new Error(
        `${this.className}: lrMultipliers has ${this.lrMultipliers.length} entries for ${params.length} parameters`,
      );
    }
  }

  /** Multiplier -> parameter indices, in order of first appearance (so updates are deterministic). */
  private groupByMultiplier(params: readonly Tensor[]): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    const multipliers = this.lrMultipliers;
    params.forEach((p, i) => {
      const m =
        multipliers === undefined
          ? 1
          : Array.isArray(multipliers)
            ? (multipliers[i] as number)
            : ((multipliers as ReadonlyMap<Tensor, number>).get(p) ?? 1);
      if (!(m >= 0))
        throw new Error(
          `${this.className}: learning-rate multiplier of ${p.name ?? 'parameter ' + i} is ${m}`,
        );
      const list = groups.get(m);
      if (list) list.push(i);
      else groups.set(m, [i]);
    });
    return groups;
  }

  /**
   * The slots of a parameter, created on first use as zeros (or taken from a restored state).
   * keep(): they are made inside applyGradients' tidy() and must outlive it.
   */
  private slotsOf(param: Tensor): Record<string, Tensor> {
    let slots = this.slotsByParam.get(param);
    if (slots) return slots;
    const index = this.order.length;
    slots = {};
    for (const name of this.slotNames()) {
      const restored = this.takePending(name, param, index);
      const slot = keep(restored ?? zerosLike(param));
      slot.name = `${param.name ?? 'param_' + index}/${name}`;
      slots[name] = slot;
    }
    this.slotsByParam.set(param, slots);
    this.order.push(param);
    return slots;
  }

  /** A restored slot for `param`, or undefined (a fresh zero slot). */
  private takePending(slotName: string, param: Tensor, index: number): Tensor | undefined {
    const list = this.pending?.[slotName];
    if (!list) return undefined;
    // Slots saved by getState() are named '<param name>/<slot>': match those by name, so a model
    // whose parameter list grew (layers unfrozen) still gets each slot back on its own parameter.
    const byName = list.length > 0 && list.every((t) => t.name?.endsWith(`/${slotName}`));
    const found = byName ? list.find((t) => t.name === `${param.name}/${slotName}`) : list[index];
    if (!found) return undefined;
    if (found.size !== param.size) {
      throw new Error(
        `${this.className}.setState: slot '${found.name ?? slotName}' has [${found.shape.join(', ')}], ` +
          `parameter ${param.name ?? index} has [${param.shape.join(', ')}] (state from another model?)`,
      );
    }
    return found;
  }

  /**
   * Iterations and every slot, in the order parameters were first updated. The slot tensors are
   * the live ones (named '<param name>/<slot>'): copy them if they must outlive the next update.
   */
  getState(): OptimizerState {
    const slots: Record<string, Tensor[]> = {};
    for (const name of this.slotNames()) {
      slots[name] =
        this.order.length === 0 && this.pending
          ? [...(this.pending[name] ?? [])]
          : this.order.map((p) => (this.slotsByParam.get(p) as Record<string, Tensor>)[name] as Tensor);
    }
    return { iterations: this.iterations, slots };
  }

  /**
   * Restores iterations and slots (copied; the given tensors are not retained). Slots bind to
   * parameters on the next update: by name when the saved slots are named, else by position.
   */
  setState(state: OptimizerState): void {
    this.iterations = state.iterations;
    this.slotsByParam.clear();
    this.order.length = 0;
    const pending: Record<string, Tensor[]> = {};
    for (const name of this.slotNames()) {
      pending[name] = (state.slots[name] ?? []).map((t) => {
        const copy = keep(noGrad(() => clone(t)));
        copy.name = t.name;
        return copy;
      });
    }
    this.pending = pending;
  }

  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      learningRate:
        typeof this.learningRate === 'number' ? this.learningRate : serializeSchedule(this.learningRate),
      ...this.hyperparameters(),
    };
    if (this.clipNorm !== undefined) config['clipNorm'] = this.clipNorm;
    return config;
  }
}

/** Multipliers and the parameter indices of each group, as one string. */
function groupSignature(groups: Map<number, number[]>): string {
  return [...groups].map(([m, indices]) => `${m}:${indices.join(',')}`).join(';');
}
