// Learning-rate schedules: the rate as a pure function of the 0-based optimizer step, so a resumed
// run gets the same rate from the restored iteration count.
//   stepDecay               lr * decayRate^floor(step / stepSize)           (PyTorch StepLR)
//   piecewiseConstantDecay  values[i] while step <= boundaries[i]           (Keras)
//   exponentialDecay        lr * decayRate^(step / decaySteps), optionally floored (Keras)
//   cosineDecay             optional linear warmup, then half a cosine down to alpha * peak (Keras 3)
//   oneCycle                warm up to maxLearningRate, anneal far below the start (PyTorch OneCycleLR)
import type { LearningRateSchedule } from './optimizer.js';

export interface ScheduleConfig {
  className: string;
  config: Record<string, unknown>;
}

function checkPositive(value: number, what: string, schedule: string): void {
  if (!(value > 0)) throw new Error(`${schedule}: ${what} must be positive, found ${JSON.stringify(value)}`);
}

// ---- step decay ----

export interface StepDecayOptions {
  initialLearningRate: number;
  /** Steps between two decays. */
  stepSize: number;
  /** Factor applied every stepSize steps; default 0.1. */
  decayRate?: number;
}

export class StepDecay implements LearningRateSchedule {
  readonly className = 'StepDecay';
  readonly options: Required<StepDecayOptions>;

  constructor(options: StepDecayOptions) {
    this.options = { decayRate: 0.1, ...options };
    checkPositive(options.stepSize, 'stepSize', this.className);
  }

  at(step: number): number {
    const { initialLearningRate, stepSize, decayRate } = this.options;
    return initialLearningRate * decayRate ** Math.floor(step / stepSize);
  }

  getConfig(): Record<string, unknown> {
    return { ...this.options };
  }
}

export function stepDecay(options: StepDecayOptions): StepDecay {
  return new StepDecay(options);
}

// ---- piecewise constant ----

export interface PiecewiseConstantDecayOptions {
  /** Increasing step numbers. */
  boundaries: readonly number[];
  /** One more value than boundaries: values[0] up to boundaries[0] (inclusive), and so on. */
  values: readonly number[];
}

export class PiecewiseConstantDecay implements LearningRateSchedule {
  readonly className = 'PiecewiseConstantDecay';
  readonly boundaries: number[];
  readonly values: number[];

  constructor(options: PiecewiseConstantDecayOptions) {
    if (options.values.length !== options.boundaries.length + 1) {
      throw new Error(
        `${this.className}: needs one more value than boundaries, found ${options.values.length} values for ${options.boundaries.length} boundaries`,
      );
    }
    this.boundaries = [...options.boundaries];
    this.values = [...options.values];
  }

  at(step: number): number {
    let i = 0;
    while (i < this.boundaries.length && step > (this.boundaries[i] as number)) i++;
    return this.values[i] as number;
  }

  getConfig(): Record<string, unknown> {
    return { boundaries: this.boundaries, values: this.values };
  }
}

export function piecewiseConstantDecay(options: PiecewiseConstantDecayOptions): PiecewiseConstantDecay {
  return new PiecewiseConstantDecay(options);
}

// ---- exponential ----

export interface ExponentialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  /** Decay in discrete jumps every decaySteps; default false. */
  staircase?: boolean;
}

export class ExponentialDecay implements LearningRateSchedule {
  readonly className = 'ExponentialDecay';
  readonly options: Required<ExponentialDecayOptions>;

  constructor(options: ExponentialDecayOptions) {
    this.options = { staircase: false, ...options };
    checkPositive(options.decaySteps, 'decaySteps', this.className);
  }

  at(step: number): number {
    const { initialLearningRate, decaySteps, decayRate, staircase } = this.options;
    const p = step / decaySteps;
    return initialLearningRate * decayRate ** (staircase ? Math.floor(p) : p);
  }

  getConfig(): Record<string, unknown> {
    return { ...this.options };
  }
}

export function exponentialDecay(options: ExponentialDecayOptions): ExponentialDecay {
  return new ExponentialDecay(options);
}

// ---- cosine with linear warmup ----

export interface CosineDecayOptions {
  /** The rate at step 0 (the warmup's start when warming up). */
  initialLearningRate: number;
  /** Steps of the cosine part (after the warmup). */
  decaySteps: number;
  /** Final rate as a fraction of the peak; default 0. */
  alpha?: number;
  /** Peak reached after warmupSteps, linearly from initialLearningRate; default: no warmup. */
  warmupTarget?: number;
  warmupSteps?: number;
}

export class CosineDecay implements LearningRateSchedule {
  readonly className = 'CosineDecay';
  readonly options: CosineDecayOptions & { alpha: number; warmupSteps: number };

  constructor(options: CosineDecayOptions) {
    this.options = { alpha: 0, warmupSteps: 0, ...options };
    checkPositive(options.decaySteps, 'decaySteps', this.className);
    if (this.options.warmupSteps > 0 && this.options.warmupTarget === undefined) {
      throw new Error(`${this.className}: warmupSteps needs a warmupTarget (the peak learning rate)`);
    }
  }

  at(step: number): number {
    const { initialLearningRate, decaySteps, alpha, warmupTarget, warmupSteps } = this.options;
    if (warmupTarget !== undefined && step < warmupSteps) {
      return initialLearningRate + ((warmupTarget - initialLearningRate) * step) / warmupSteps;
    }
    const peak = warmupTarget ?? initialLearningRate;
    const progress = Math.min(step - (warmupTarget === undefined ? 0 : warmupSteps), decaySteps) / decaySteps;
    const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
    return peak * ((1 - alpha) * cosine + alpha);
  }

  getConfig(): Record<string, unknown> {
    return { ...this.options };
  }
}

export function cosineDecay(options: CosineDecayOptions): CosineDecay {
  return new CosineDecay(options);
}

// ---- one cycle ----

export interface OneCycleOptions {
  maxLearningRate: number;
  /** Steps of the whole cycle (epochs * steps per epoch). */
  totalSteps: number;
  /** Fraction of the cycle spent increasing the rate; default 0.3. */
  pctStart?: number;
  /** 'cos' (default) or 'linear' interpolation within a phase. */
  annealStrategy?: 'cos' | 'linear';
  /** Start rate = maxLearningRate / divFactor; default 25. */
  divFactor?: number;
  /** Final rate = start rate / finalDivFactor; default 1e4. */
  finalDivFactor?: number;
  /** Fast.ai's three phases (up, back down to the start rate, then annealing); default false. */
  threePhase?: boolean;
}

const ONE_CYCLE_DEFAULTS = {
  pctStart: 0.3,
  annealStrategy: 'cos',
  divFactor: 25,
  finalDivFactor: 1e4,
  threePhase: false,
} as const;

interface Phase {
  /** Last step of the phase (PyTorch end_step; may be fractional). */
  endStep: number;
  startLr: number;
  endLr: number;
}

/**
 * PyTorch OneCycleLR (learning rate only; momentum cycling is not modelled). Steps past the end
 * keep the final rate.
 */
export class OneCycle implements LearningRateSchedule {
  readonly className = 'OneCycle';
  readonly options: Required<OneCycleOptions>;
  private readonly phases: Phase[];

  constructor(options: OneCycleOptions) {
    this.options = { ...ONE_CYCLE_DEFAULTS, ...options };
    const { maxLearningRate, totalSteps, pctStart, divFactor, finalDivFactor, threePhase } = this.options;
    checkPositive(totalSteps, 'totalSteps', this.className);
    if (!(pctStart > 0 && pctStart < 1)) {
      throw new Error(`${this.className}: pctStart must be in (0, 1), found ${pctStart}`);
    }
    const initial = maxLearningRate / divFactor;
    const min = initial / finalDivFactor;
    const up = pctStart * totalSteps - 1;
    this.phases = threePhase
      ? [
          { endStep: up, startLr: initial, endLr: maxLearningRate },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: maxLearningRate, endLr: initial },
          { endStep: totalSteps - 1, startLr: initial, endLr: min },
        ]
      : [
          { endStep: up, startLr: initial, endLr: maxLearningRate },
          { endStep: totalSteps - 1, startLr: maxLearningRate, endLr: min },
        ];
  }

  at(step: number): number {
    const s = Math.min(step, this.options.totalSteps - 1);
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const phase = this.phases[i] as Phase;
      if (s <= phase.endStep || i === this.phases.length - 1) {
        const pct = (s - start) / (phase.endStep - start);
        return this.anneal(phase.startLr, phase.endLr, pct);
      }
      start = phase.endStep;
    }
    return this.phases[this.phases.length - 1]?.endLr as number;
  }

  private anneal(from: number, to: number, pct: number): number {
    if (this.options.annealStrategy === 'linear') return (to - from) * pct + from;
    return to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  getConfig(): Record<string, unknown> {
    return { ...this.options };
  }
}

export function oneCycle(options: OneCycleOptions): OneCycle {
  return new OneCycle(options);
}

// ---- serialisation ----

export function serializeSchedule(schedule: LearningRateSchedule): ScheduleConfig {
  return { className: schedule.className, config: schedule.getConfig() };
}

const SCHEDULES: Record<string, (config: Record<string, unknown>) => LearningRateSchedule> = {
  StepDecay: (c) => new StepDecay(c as unknown as StepDecayOptions),
  PiecewiseConstantDecay: (c) => new PiecewiseConstantDecay(c as unknown as PiecewiseConstantDecayOptions),
  ExponentialDecay: (c) => new ExponentialDecay(c as unknown as ExponentialDecayOptions),
  CosineDecay: (c) => new CosineDecay(c as unknown as CosineDecayOptions),
  OneCycle: (c) => new OneCycle(c as unknown as OneCycleOptions),
};

/** Rebuilds a schedule saved with serializeSchedule (a run's config.json). */
export function scheduleFromConfig(saved: ScheduleConfig): LearningRateSchedule {
  const make = SCHEDULES[saved.className];
  if (!make) {
    throw new Error(
      `unknown learning-rate schedule '${saved.className}' (known: ${Object.keys(SCHEDULES).join(', ')})`,
    );
  }
  return make(saved.config);
}

// ---- by name: what `train --schedule` and `finetune --schedule` mean ----

/**
 * Schedules by name, over a run of `totalSteps` optimizer steps peaking at `learningRate`:
 *   constant     the rate itself
 *   step         x0.1 after each third of the run
 *   exponential  smoothly down to x0.1 at the end
 *   cosine       linear warm-up from 0 over the first 5% of the steps (at most 500), then a
 *                cosine to 0 at the end
 *   one-cycle    PyTorch OneCycleLR with its defaults
 */
export const SCHEDULE_NAMES = ['constant', 'step', 'exponential', 'cosine', 'one-cycle'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** Fraction of a cosine schedule's steps spent warming up, and their cap. */
export const COSINE_WARMUP = { fraction: 0.05, maxSteps: 500 } as const;

export function scheduleByName(
  name: ScheduleName,
  options: { learningRate: number; totalSteps: number },
): number | LearningRateSchedule {
  const { learningRate } = options;
  const totalSteps = Math.max(1, Math.round(options.totalSteps));
  switch (name) {
    case 'constant':
      return learningRate;
    case 'step':
      return stepDecay({
        initialLearningRate: learningRate,
        stepSize: Math.max(1, Math.round(totalSteps / 3)),
        decayRate: 0.1,
      });
    case 'exponential':
      return exponentialDecay({ initialLearningRate: learningRate, decaySteps: totalSteps, decayRate: 0.1 });
    case 'cosine': {
      const warmupSteps = Math.min(Math.round(totalSteps * COSINE_WARMUP.fraction), COSINE_WARMUP.maxSteps);
      return warmupSteps > 0
        ? cosineDecay({
            initialLearningRate: 0,
            warmupTarget: learningRate,
            warmupSteps,
            decaySteps: Math.max(1, totalSteps - warmupSteps),
          })
        : cosineDecay({ initialLearningRate: learningRate, decaySteps: totalSteps });
    }
    case 'one-cycle':
      return oneCycle({ maxLearningRate: learningRate, totalSteps });
    default:
      throw new Error(
        `unknown learning-rate schedule '${String(name)}': expected one of ${SCHEDULE_NAMES.join(', ')}`,
      );
  }
}
