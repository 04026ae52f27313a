// File loggers: CSVLogger (one row per epoch, Keras columns) and JSONLLogger (one event per line).
// Each writes to a path through the FileAccess it is given (the Node entry's csvLogger/jsonlLogger
// give Node's), or to an injected sink.
import type { FileAccess } from '../../runs/types.js';
import type { EpochEndEvent, TrainBeginEvent, TrainEndEvent, TrainEvent } from '../types.js';
import { Callback, epochLogs } from './callback.js';

/** Receives text to append; return a promise to have fit() wait for it. */
export type TextSink = (text: string) => void | Promise<void>;

function sinkFor(target: { path?: string; sink?: TextSink; files?: FileAccess }, who: string): TextSink {
  if (target.sink) return target.sink;
  const { path, files } = target;
  if (path === undefined) throw new Error(`${who}: give a path or a sink`);
  if (!files) {
    throw new Error(
      `${who}: writing to '${path}' needs file access: on Node use the package entry's factory ` +
        '(it passes files), or give files or a sink',
    );
  }
  return (text) => files.appendText(path, text);
}

export interface CsvLoggerOptions {
  path?: string;
  /** How `path` is written (Node: nodeFiles). */
  files?: FileAccess;
  sink?: TextSink;
  separator?: string;
}

/** Keras CSVLogger: a header, then epoch and the sorted log keys per epoch. */
export class CsvLogger extends Callback {
  private readonly sink: TextSink;
  private readonly separator: string;
  private columns: string[] | undefined;

  constructor(options: CsvLoggerOptions) {
    super();
    this.sink = sinkFor(options, 'CsvLogger');
    this.separator = options.separator ?? ',';
  }

  override onTrainBegin(_event: TrainBeginEvent): void {
    this.columns = undefined;
  }

  override async onEpochEnd(event: EpochEndEvent): Promise<void> {
    const logs = epochLogs(event);
    let text = '';
    if (!this.columns) {
      this.columns = Object.keys(logs).sort();
      text += ['epoch', ...this.columns].join(this.separator) + '\n';
    }
    text += [String(event.epoch), ...this.columns.map((c) => (c in logs ? String(logs[c]) : ''))].join(
      this.separator,
    );
    await this.sink(text + '\n');
  }
}

export function csvLogger(options: CsvLoggerOptions): CsvLogger {
  return new CsvLogger(options);
}

export interface JsonlLoggerOptions {
  path?: string;
  /** How `path` is written (Node: nodeFiles). */
  files?: FileAccess;
  sink?: TextSink;
  /** Event types written; default every type but batchBegin. */
  types?: readonly TrainEvent['type'][];
}

const JSONL_DEFAULT_TYPES: readonly TrainEvent['type'][] = [
  'trainBegin',
  'epochBegin',
  'batchEnd',
  'epochEnd',
  'trainEnd',
];

/** One JSON object per line per event; batch events are buffered and written at epoch ends. */
export class JsonlLogger extends Callback {
  private readonly sink: TextSink;
  private readonly types: ReadonlySet<string>;
  private buffered: string[] = [];

  constructor(options: JsonlLoggerOptions) {
    super();
    this.sink = sinkFor(options, 'JsonlLogger');
    this.types = new Set(options.types ?? JSONL_DEFAULT_TYPES);
  }

  private record(event: TrainEvent): void {
    if (this.types.has(event.type)) this.buffered.push(JSON.stringify(event));
  }

  private async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const text = this.buffered.join('\n') + '\n';
    this.buffered = [];
    await this.sink(text);
  }

  override onTrainBegin(event: TrainBeginEvent): Promise<void> {
    this.record(event);
    return this.flush();
  }
  override onEpochBegin(event: TrainEvent): void {
    this.record(event);
  }
  override onBatchBegin(event: TrainEvent): void {
    this.record(event);
  }
  override onBatchEnd(event: TrainEvent): void {
    this.record(event);
  }
  override onEpochEnd(event: EpochEndEvent): Promise<void> {
    this.record(event);
    return this.flush();
  }
  override onTrainEnd(event: TrainEndEvent): Promise<void> {
    this.record(event);
    return this.flush();
  }
}

export function jsonlLogger(options: JsonlLoggerOptions): JsonlLogger {
  return new JsonlLogger(options);
}
