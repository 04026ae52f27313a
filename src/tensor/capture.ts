// Step capture: record → plan → replay. A step (a function of input tensors: a training step, a
// batch of inference) runs eagerly while its kernel calls are recorded; once two consecutive
// recordings for the same input shapes agree, the step is planned and every later call replays the
// recorded kernels instead of running the layers, autograd and tidy() again:
// - natively, where the backend can lower a step (the native backend: one addon call per step,
//   every buffer in one arena whose regions are shared by values whose lifetimes do not overlap);
// - otherwise as a loop over the recorded kernel calls on the backend's table (no tensors, no
//   autograd, temporaries released at their last use).
// Replay runs the same kernels, in the same order, on the same values, so its results are
// bit-identical to eager execution.
//
// What a recording tells apart, for every buffer a kernel reads:
// - the step's inputs (rebound each run), given by the caller;
// - values made by kernels during the step (temporaries, or the step's outputs);
// - buffers that outlive the step (weights, optimizer slots, constants a layer keeps): bound as
//   they are. Host code must not change them during the step except through kernels or through a
//   replay hook that declares the write (dropout's generator words, an optimizer's schedule);
// - host-written buffers made during the step (fills, one-hot targets): constants, snapshotted.
//
// What cannot be replayed is refused, and the step runs eagerly with the reason (shown under
// --debug): host code reading a computed value inside the step (item() — data-dependent control
// flow), host code changing a persistent buffer, a temporary that outlives the step, recordings
// that differ (an attribute or a constant that changes from step to step). The one sanctioned
// data-dependent branch is runIf(flag, body): a guard the plan keeps (the skipped update of a
// non-finite training step).
import type { Backend } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';
import { setStepObserver, stepObserver } from './dispatch.js';
import { Recorder, Refusal, difference, type Recording, type ReplayHook } from './recording.js';
import { computePrecision } from './precision.js';
import { loopReplay, nativeReplay, type Replay } from './replay.js';
import { tidy, type Tensor } from './tensor.js';

export type { ReplayHook } from './recording.js';

// ---- what layers, ops and optimizers tell a recording ----

/**
 * Registers `hook` with the step being recorded (once per `key`); does nothing outside a
 * recording. The caller performs the same host work itself in the eager step.
 */
export function onReplay(key: object, hook: ReplayHook): void {
  recorderNow()?.addHook(key, hook);
}

/** Marks the step being recorded as not replayable, with the reason; nothing outside a recording. */
export function refuseCapture(reason: string): void {
  recorderNow()?.refuse(reason, true);
}

/**
 * Runs `body` when the int32 `flag` (1 element, made by a kernel: AllFinite) is non-zero; returns
 * whether it ran. A recorded step keeps the branch: its replay skips the body's kernels when the
 * flag is zero.
 */
export function runIf(flag: Tensor, body: () => void): boolean {
  const recorder = recorderNow();
  const ran = (flag.data[0] as number) !== 0;
  if (!recorder) {
    if (ran) body();
    return ran;
  }
  const guard = recorder.openGuard(flag.data);
  if (!ran) recorder.refuse('the guarded update did not run while recording (a non-finite step)', false);
  else body();
  recorder.closeGuard(guard);
  return ran;
}

function recorderNow(): Recorder | null {
  const observer = stepObserver();
  return observer instanceof Recorder ? observer : null;
}

// ---- the captured step ----

export interface CaptureOptions {
  /** Names the step in debug lines ('train step', 'predict'). */
  readonly name: string;
  /** Receives one line per reason a step runs eagerly (the CLI's --debug). */
  readonly debug?: ((line: string) => void) | undefined;
  /**
   * What the step's plans depend on besides the inputs' shapes (the model's weights, which of them
   * train): when any entry differs from the last run's (by identity), the plans are dropped.
   */
  readonly dependencies?: () => readonly unknown[];
}

/** How many recordings may disagree before a step shape is left to eager execution. */
const MAX_RECORDINGS = 4;

type Entry =
  | { state: 'recording'; last: Recording | null; attempts: number }
  | { state: 'replay'; replay: Replay }
  | { state: 'eager'; reason: string };

/** Counters for tests and diagnostics. */
export interface CaptureStats {
  recorded: number;
  replayed: number;
  eager: number;
  /** Replays that ran as one native plan. */
  nativeReplays: number;
}

/**
 * A step function of input tensors, returning named output tensors, that records itself and then
 * replays (see the top of this file). Call run() inside the caller's tidy(); a replay's outputs are
 * valid until the next run (read or copy them before).
 */
export class CapturedStep<O extends Record<string, Tensor>> {
  private readonly plans = new WeakMap<Backend, Map<string, Entry>>();
  private dependencies: readonly unknown[] = [];
  private readonly shown = new Set<string>();
  readonly stats: CaptureStats = { recorded: 0, replayed: 0, eager: 0, nativeReplays: 0 };
  /** Why the last run was eager (undefined when it replayed). */
  lastReason: string | undefined;

  constructor(
    private readonly fn: (inputs: readonly Tensor[]) => O,
    private readonly options: CaptureOptions,
  ) {}

  run(inputs: readonly Tensor[]): O {
    if (stepObserver()) return this.fn(inputs); // nested in another recording: part of that step
    const backend = getBackend();
    const plans = this.plansOf(backend);
    const precision = computePrecision();
    const key =
      inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' ') +
      (precision === 'float32' ? '' : ` (${precision})`);
    let entry = plans.get(key);
    if (entry?.state === 'replay') {
      const outputs = entry.replay.run(inputs);
      if (outputs) {
        this.stats.replayed++;
        if (entry.replay.native) this.stats.nativeReplays++;
        this.lastReason = undefined;
        return outputs as O;
      }
      entry = undefined;
      plans.delete(key);
      this.explain('a replay hook no longer matches the plan (state changed): recording again');
    }
    if (entry?.state === 'eager') {
      this.stats.eager++;
      this.lastReason = entry.reason;
      return this.fn(inputs);
    }
    const recordingEntry = entry ?? { state: 'recording' as const, last: null, attempts: 0 };
    plans.set(key, recordingEntry);
    return this.record(inputs, backend, plans, key, recordingEntry);
  }

  /**
   * Per-op seconds of each native plan of the active backend, by input shapes, accumulated since
   * the first call (which starts timing): where a replayed step spends its time.
   */
  profile(): Map<string, readonly { op: string; seconds: number }[]> {
    const out = new Map<string, readonly { op: string; seconds: number }[]>();
    for (const [key, entry] of this.plans.get(getBackend()) ?? []) {
      if (entry.state === 'replay' && entry.replay.profile) out.set(key, entry.replay.profile());
    }
    return out;
  }

  private plansOf(backend: Backend): Map<string, Entry> {
    let plans = this.plans.get(backend);
    const dependencies = this.options.dependencies?.() ?? [];
    const changed =
      dependencies.length !== this.dependencies.length ||
      dependencies.some((d, i) => d !== this.dependencies[i]);
    if (!plans || changed) {
      plans = new Map();
      this.plans.set(backend, plans);
      this.dependencies = dependencies;
    }
    return plans;
  }

  private record(
    inputs: readonly Tensor[],
    backend: Backend,
    plans: Map<string, Entry>,
    key: string,
    entry: Extract<Entry, { state: 'recording' }>,
  ): O {
    const recorder = new Recorder(backend, inputs);
    let outputs: O;
    let recording: Recording | null = null;
    setStepObserver(recorder);
    try {
      outputs = tidy(() => this.fn(inputs));
      recording = recorder.finish(outputs);
    } finally {
      setStepObserver(null);
      recorder.close();
    }
    this.stats.recorded++;
    const refusal = recorder.refusal ?? (recording ? null : new Refusal('internal: no recording', true));
    if (refusal || !recording) {
      if (!refusal) return outputs;
      this.lastReason = refusal.reason;
      if (refusal.permanent || ++entry.attempts >= MAX_RECORDINGS) {
        plans.set(key, { state: 'eager', reason: refusal.reason });
        this.explain(`runs eagerly: ${refusal.reason}`);
      }
      return outputs;
    }
    const differs = entry.last ? difference(entry.last, recording) : 'first recording';
    if (differs === null) {
      const replay = planOf(recording, backend);
      plans.set(key, { state: 'replay', replay });
      this.explain(`${key} replays as ${replay.description}`);
      backend.trim?.();
      this.lastReason = undefined;
      return outputs;
    }
    entry.last = recording;
    this.lastReason = differs;
    if (++entry.attempts >= MAX_RECORDINGS) {
      plans.set(key, { state: 'eager', reason: differs });
      this.explain(`runs eagerly: ${differs}`);
    }
    return outputs;
  }

  private explain(line: string): void {
    if (!this.options.debug || this.shown.has(line)) return;
    this.shown.add(line);
    this.options.debug(`${this.options.name}: ${line}`);
  }
}

/** The native plan when the backend lowers steps and the recording lowered completely; else the loop. */
function planOf(recording: Recording, backend: Backend): Replay {
  if (backend.lowering && recording.lowered) return nativeReplay(recording, backend);
  return loopReplay(recording, backend);
}
