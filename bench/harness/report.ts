// Reduces the rounds of each workload to medians and pairwise ratios, checks the targets, and
// renders the table.
//
// NOTE: the machine is shared and noisy, so single timings mean little. Each round runs mnist-lab
// and its peer back to back (A B), and the ratio of each pair is taken before the median: a slow
// minute slows both members of a pair, so the ratio is steadier than either median.
import type { ChildRecord } from './child.js';
import { REFUSED_BLAS, type Figures, type Framework, type Measurement, type Workload } from './plan.js';

export interface SideRound {
  readonly measurement: Measurement;
  readonly wallSeconds: number;
  readonly record: ChildRecord;
}

export interface Round {
  readonly ours: SideRound | undefined;
  readonly peer: SideRound | undefined;
  readonly errors: readonly string[];
}

export interface TargetStatus {
  readonly description: string;
  /** null: not applicable to the backend that ran (or no measurement). */
  readonly met: boolean | null;
}

export interface WorkloadSummary extends Partial<Figures> {
  readonly workload: string;
  readonly description: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  readonly oursBackend: string | undefined;
  readonly peerFramework: Framework | undefined;
  readonly peerSkipped: string | undefined;
  /** Per-round ratios, > 1 means mnist-lab is better. */
  readonly ratios: readonly number[];
  /** The BLAS builds the PyTorch peer mapped over the rounds. */
  readonly peerBlas: readonly string[];
  /** Why no ratio is given (a peer on the reference BLAS), when none is. */
  readonly ratioRefused?: string;
  readonly oursAccuracies: readonly number[];
  readonly peerAccuracies: readonly number[];
  readonly targets: readonly TargetStatus[];
  readonly rounds: readonly Round[];
}

/** The figures a target reads, from a workload's summary (undefined when ours never ran). */
export function figuresOf(s: WorkloadSummary): Figures | undefined {
  if (s.oursMedian === undefined) return undefined;
  return {
    oursMedian: s.oursMedian,
    peerMedian: s.peerMedian,
    ratioMedian: s.ratioMedian,
    oursMinAccuracy: s.oursMinAccuracy,
    oursAccuracies: s.oursAccuracies,
  };
}

/**
 * Checks every target once all workloads ran (a bf16 row reads its float32 row). null: not
 * applicable to the backend that ran, or not judgeable (no measurement, the other row missing).
 */
export function checkTargets(
  workloads: readonly Workload[],
  summaries: readonly WorkloadSummary[],
): WorkloadSummary[] {
  const others = new Map<string, Figures>();
  for (const s of summaries) {
    const figures = figuresOf(s);
    if (figures) others.set(s.workload, figures);
  }
  return summaries.map((s, i) => {
    const figures = figuresOf(s);
    const workload = workloads[i] as Workload;
    const targets = workload.targets.map((target): TargetStatus => {
      const met = figures && s.oursBackend === target.backend ? target.met(figures, others) : undefined;
      return { description: `${target.description} (${target.backend})`, met: met ?? null };
    });
    return { ...s, targets };
  });
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarise(workload: Workload, rounds: readonly Round[]): WorkloadSummary {
  const ours = rounds.flatMap((round) => (round.ours ? [round.ours.measurement] : []));
  const peer = rounds.flatMap((round) => (round.peer ? [round.peer.measurement] : []));
  // Ratios only from complete pairs, oriented so that > 1 favours mnist-lab.
  const ratios = rounds.flatMap((round) => {
    if (!round.ours || !round.peer) return [];
    const a = round.ours.measurement.value;
    const b = round.peer.measurement.value;
    return [workload.higherIsBetter ? a / b : b / a];
  });
  const oursAccuracies = ours.flatMap((m) => (m.accuracy === undefined ? [] : [m.accuracy]));
  const peerAccuracies = peer.flatMap((m) => (m.accuracy === undefined ? [] : [m.accuracy]));
  const peerBlas = [...new Set(peer.flatMap((m) => (m.blas === undefined ? [] : [m.blas])))];
  const refusedBlas = peerBlas.filter((blas) => REFUSED_BLAS.has(blas));
  const ratioRefused = refusedBlas.length
    ? `the PyTorch peer ran on the ${refusedBlas.join('/')} BLAS; install libopenblas0-pthread`
    : undefined;
  const oursMedian = median(ours.map((m) => m.value));
  const peerMedian = median(peer.map((m) => m.value));
  const ratioMedian = ratioRefused ? undefined : median(ratios);
  const oursMinAccuracy = oursAccuracies.length ? Math.min(...oursAccuracies) : undefined;
  const oursBackend = ours.find((m) => m.backend !== undefined)?.backend;
  const targets = workload.targets.map((target): TargetStatus => ({
    description: `${target.description} (${target.backend})`,
    met: null,
  }));
  return {
    workload: workload.name,
    description: workload.description,
    metric: workload.metric,
    higherIsBetter: workload.higherIsBetter,
    ...(oursMedian === undefined ? {} : { oursMedian }),
    ...(peerMedian === undefined ? {} : { peerMedian }),
    ...(ratioMedian === undefined ? {} : { ratioMedian }),
    ...(oursMinAccuracy === undefined ? {} : { oursMinAccuracy }),
    oursBackend,
    peerFramework: workload.peer?.framework,
    peerSkipped: workload.skipReason,
    ratios: ratioRefused ? [] : ratios,
    peerBlas,
    ...(ratioRefused ? { ratioRefused } : {}),
    oursAccuracies,
    peerAccuracies,
    targets,
    rounds,
  };
}

function formatValue(value: number | undefined, metric: string): string {
  if (value === undefined) return '-';
  if (metric === 'ms') return `${value.toFixed(3)} ms`;
  if (metric === 's') return `${value.toFixed(2)} s`;
  if (metric === 'MB') return `${value.toFixed(0)} MB`;
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

function formatAccuracy(accuracies: readonly number[]): string {
  return accuracies.length ? ` @${(100 * Math.min(...accuracies)).toFixed(2)}%` : '';
}

/** The table printed at the end of a run (plain text, fixed-width columns). */
export function renderTable(summaries: readonly WorkloadSummary[]): string {
  const header = ['workload', 'backend', 'mnist-lab', 'peer', 'peer value', 'ratio', 'target', 'status'];
  const rows = summaries.flatMap((s) => {
    const peerName =
      (s.peerFramework ?? (s.peerSkipped ? 'skipped' : '-')) +
      (s.peerBlas.length ? ` (${s.peerBlas.join('/')})` : '');
    const ratio = s.ratioRefused
      ? 'refused: reference BLAS'
      : s.ratioMedian === undefined
        ? '-'
        : `${s.ratioMedian.toFixed(2)}x`;
    const base = [
      `${s.workload} (${s.description})`,
      s.oursBackend ?? '?',
      formatValue(s.oursMedian, s.metric) + formatAccuracy(s.oursAccuracies),
      peerName,
      formatValue(s.peerMedian, s.metric) + formatAccuracy(s.peerAccuracies),
      ratio,
    ];
    const targets = s.targets.length ? s.targets : [{ description: '-', met: null }];
    return targets.map((target, i) => [
      ...(i === 0 ? base : base.map(() => '')),
      target.description,
      target.met === null ? (target.description === '-' ? '' : 'n/a') : target.met ? 'MET' : 'NOT MET',
    ]);
  });
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n').trimEnd();
}
