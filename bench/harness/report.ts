// Reduces the rounds of each workload to medians and pairwise ratios, checks the targets, and
// renders the table.
//
// NOTE: the machine is shared and noisy, so single timings mean little. Each round runs mnist-lab
// and its peer back to back (A B), and the ratio of each pair is taken before the median: a slow
// minute slows both members of a pair, so the ratio is steadier than either median.
import type { ChildRecord } from './child.js';
import type { Figures, Framework, Measurement, Workload } from './plan.js';

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
  readonly oursAccuracies: readonly number[];
  readonly peerAccuracies: readonly number[];
  readonly targets: readonly TargetStatus[];
  readonly rounds: readonly Round[];
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
  const oursMedian = median(ours.map((m) => m.value));
  const peerMedian = median(peer.map((m) => m.value));
  const ratioMedian = median(ratios);
  const oursMinAccuracy = oursAccuracies.length ? Math.min(...oursAccuracies) : undefined;
  const figures: Figures | undefined =
    oursMedian === undefined ? undefined : { oursMedian, peerMedian, ratioMedian, oursMinAccuracy };
  const oursBackend = ours.find((m) => m.backend !== undefined)?.backend;
  const targets = workload.targets.map((target): TargetStatus => ({
    description: `${target.description} (${target.backend})`,
    met: figures && oursBackend === target.backend ? target.met(figures) : null,
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
    ratios,
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
    const peerName = s.peerFramework ?? (s.peerSkipped ? 'skipped' : '-');
    const ratio = s.ratioMedian === undefined ? '-' : `${s.ratioMedian.toFixed(2)}x`;
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
