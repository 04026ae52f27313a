// ProgressBar: verbose output of fit(). On a terminal, a live bar redrawn in place (at most ~10
// times a second); elsewhere (pipes, CI logs), a plain line about every 10% of an epoch with its ETA
// (no control characters; lines at most every few seconds, so short epochs stay quiet); in both, a
// summary line per epoch. Keras's verbose=2 (epoch lines only) is display 'epochs'.
import type { BatchEndEvent, EpochBeginEvent, EpochEndEvent, TextStream, TrainBeginEvent } from '../types.js';
import { Callback } from './callback.js';

export interface ProgressBarOptions {
  /** Where to write; default process.stdout when it exists (nothing in a browser). */
  stream?: TextStream;
  /** 'bar' live bar, 'lines' a line per ~10% of an epoch, 'epochs' epoch lines only; default 'bar' on a TTY, else 'lines'. */
  display?: 'bar' | 'lines' | 'epochs';
  /** Display 'lines': the least time between two progress lines, in ms; default 3000. */
  minLineIntervalMs?: number;
}

const REDRAW_MS = 100;
const BAR_WIDTH = 24;
/** Display 'lines': progress is reported at these fractions of an epoch. */
const LINE_FRACTION = 0.1;
const MIN_LINE_INTERVAL_MS = 3000;

/** process.stdout on Node; undefined in a browser. */
export function defaultOutput(): TextStream | undefined {
  const process = (globalThis as { process?: { stdout?: TextStream } }).process;
  return process?.stdout;
}

/** 12.3s, 4m05s, 1h02m. */
export function formatSeconds(seconds: number): string {
  // Round to the unit shown first, so 59.96 s reads "1m00s" and 179.6 s "3m00s" (never "2m60s").
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`;
  const wholeSeconds = Math.round(seconds);
  if (wholeSeconds < 3600) {
    return `${Math.floor(wholeSeconds / 60)}m${String(wholeSeconds % 60).padStart(2, '0')}s`;
  }
  const wholeMinutes = Math.round(seconds / 60);
  return `${Math.floor(wholeMinutes / 60)}h${String(wholeMinutes % 60).padStart(2, '0')}m`;
}

/** One line per epoch, Keras style: "Epoch 1/5 - 12.3s - loss: 0.2512 - accuracy: 0.9281 - ...". */
export function formatEpochLine(event: EpochEndEvent, epochs: number): string {
  const parts = [
    `Epoch ${event.epoch + 1}/${epochs}`,
    formatSeconds(event.seconds),
    `loss: ${event.loss.toFixed(4)}`,
    `accuracy: ${event.accuracy.toFixed(4)}`,
  ];
  if (event.valLoss !== undefined) parts.push(`val_loss: ${event.valLoss.toFixed(4)}`);
  if (event.valAccuracy !== undefined) parts.push(`val_accuracy: ${event.valAccuracy.toFixed(4)}`);
  parts.push(`lr: ${event.lr.toPrecision(3)}`);
  return parts.join(' - ');
}

/** evaluate()'s line, Keras style: "313/313 - 0.4s - loss: 0.0830 - accuracy: 0.9768". */
export function formatEvaluationLine(
  result: { loss: number; accuracy: number },
  run: { steps: number; seconds: number },
): string {
  return (
    `${run.steps}/${run.steps} - ${formatSeconds(run.seconds)} - loss: ${result.loss.toFixed(4)}` +
    ` - accuracy: ${result.accuracy.toFixed(4)}`
  );
}

export class ProgressBar extends Callback {
  private readonly stream: TextStream | undefined;
  private readonly display: 'bar' | 'lines' | 'epochs';
  private readonly minLineIntervalMs: number;
  private epochs = 0;
  private steps = 0;
  private batchSize = 0;
  private lastDraw = 0;
  private drawn = false;
  /** Display 'lines': the next tenth of the epoch to report (1..9). */
  private nextTenth = 1;

  constructor(options: ProgressBarOptions = {}) {
    super();
    this.stream = options.stream ?? defaultOutput();
    this.display = options.display ?? (this.stream?.isTTY === true ? 'bar' : 'lines');
    this.minLineIntervalMs = options.minLineIntervalMs ?? MIN_LINE_INTERVAL_MS;
  }

  override onTrainBegin(event: TrainBeginEvent): void {
    this.epochs = event.epochs;
    this.steps = event.stepsPerEpoch;
    this.batchSize = event.batchSize;
  }

  override onEpochBegin(_event: EpochBeginEvent): void {
    this.lastDraw = performance.now();
    this.drawn = false;
    this.nextTenth = 1;
  }

  override onBatchEnd(event: BatchEndEvent): void {
    if (!this.stream) return;
    if (this.display === 'bar') this.drawBar(this.stream, event);
    else if (this.display === 'lines') this.writeLine(this.stream, event);
  }

  override onEpochEnd(event: EpochEndEvent): void {
    if (!this.stream) return;
    const line = formatEpochLine(event, this.epochs);
    this.stream.write(this.drawn ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  /** Seconds left in this epoch and in the whole run, at the epoch's rate so far. */
  private eta(event: BatchEndEvent): { epoch: number; run: number } {
    const rate = Math.max(event.imagesPerSecond, 1e-9);
    const epochLeft = ((this.steps - event.batch - 1) * this.batchSize) / rate;
    const laterEpochs = Math.max(0, this.epochs - event.epoch - 1);
    return { epoch: epochLeft, run: epochLeft + (laterEpochs * this.steps * this.batchSize) / rate };
  }

  private drawBar(stream: TextStream, event: BatchEndEvent): void {
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && event.batch + 1 < this.steps) return;
    this.lastDraw = now;
    const done = event.batch + 1;
    const filled = Math.round((BAR_WIDTH * done) / this.steps);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done < this.steps ? '>' : '=') : '');
    const line =
      `Epoch ${event.epoch + 1}/${this.epochs} [${bar.padEnd(BAR_WIDTH, '.')}] ${done}/${this.steps}` +
      ` - loss: ${event.loss.toFixed(4)} - accuracy: ${event.accuracy.toFixed(4)}` +
      ` - ${Math.round(event.imagesPerSecond)} img/s - ETA ${formatSeconds(this.eta(event).epoch)}`;
    const width = stream.columns ?? 120;
    // \r returns to the start of the line; \x1b[K clears what a longer previous line left.
    stream.write(`\r${line.slice(0, width - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** A plain line when the epoch passes its next tenth, if the last line is old enough. */
  private writeLine(stream: TextStream, event: BatchEndEvent): void {
    const done = event.batch + 1;
    if (done >= this.steps || done < this.nextTenth * LINE_FRACTION * this.steps) return;
    this.nextTenth = Math.floor(done / (LINE_FRACTION * this.steps)) + 1;
    const now = performance.now();
    if (now - this.lastDraw < this.minLineIntervalMs) return;
    this.lastDraw = now;
    const eta = this.eta(event);
    const percent = Math.floor((100 * done) / this.steps);
    stream.write(
      `Epoch ${event.epoch + 1}/${this.epochs} - ${percent}% (${done}/${this.steps})` +
        ` - loss: ${event.loss.toFixed(4)} - accuracy: ${event.accuracy.toFixed(4)}` +
        ` - ${Math.round(event.imagesPerSecond)} img/s - ETA ${formatSeconds(eta.epoch)}` +
        (this.epochs - event.epoch > 1 ? ` (all epochs: ${formatSeconds(eta.run)})` : '') +
        '\n',
    );
  }
}

export function progressBar(options: ProgressBarOptions = {}): ProgressBar {
  return new ProgressBar(options);
}
