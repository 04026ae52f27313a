// ProgressBar: verbose output of fit(). On a TTY, a live bar redrawn in place (at most ~10 times a
// second) and a summary line per epoch; elsewhere (pipes, CI logs), only the line per epoch.
import type { BatchEndEvent, EpochBeginEvent, EpochEndEvent, TextStream, TrainBeginEvent } from '../types.js';
import { Callback } from './callback.js';

export interface ProgressBarOptions {
  /** Where to write; default process.stdout when it exists (nothing in a browser). */
  stream?: TextStream;
  /** Force (true) or prevent (false) the live bar; default stream.isTTY. */
  live?: boolean;
}

const REDRAW_MS = 100;
const BAR_WIDTH = 24;

function defaultStream(): TextStream | undefined {
  const process = (globalThis as { process?: { stdout?: TextStream } }).process;
  return process?.stdout;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, '0')}s`;
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

export class ProgressBar extends Callback {
  private readonly stream: TextStream | undefined;
  private readonly live: boolean;
  private epochs = 0;
  private steps = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(options: ProgressBarOptions = {}) {
    super();
    this.stream = options.stream ?? defaultStream();
    this.live = options.live ?? this.stream?.isTTY === true;
  }

  override onTrainBegin(event: TrainBeginEvent): void {
    this.epochs = event.epochs;
    this.steps = event.stepsPerEpoch;
  }

  override onEpochBegin(_event: EpochBeginEvent): void {
    this.lastDraw = 0;
    this.drawn = false;
  }

  override onBatchEnd(event: BatchEndEvent): void {
    if (!this.live || !this.stream) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && event.batch + 1 < this.steps) return;
    this.lastDraw = now;
    const done = event.batch + 1;
    const filled = Math.round((BAR_WIDTH * done) / this.steps);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done < this.steps ? '>' : '=') : '');
    const eta = ((this.steps - done) * event.size) / Math.max(event.imagesPerSecond, 1e-9);
    const line =
      `Epoch ${event.epoch + 1}/${this.epochs} [${bar.padEnd(BAR_WIDTH, '.')}] ${done}/${this.steps}` +
      ` - loss: ${event.loss.toFixed(4)} - accuracy: ${event.accuracy.toFixed(4)}` +
      ` - ${Math.round(event.imagesPerSecond)} img/s - ETA ${formatSeconds(eta)}`;
    const width = this.stream.columns ?? 120;
    // \r returns to the start of the line; \x1b[K clears what a longer previous line left.
    this.stream.write(`\r${line.slice(0, width - 1)}\x1b[K`);
    this.drawn = true;
  }

  override onEpochEnd(event: EpochEndEvent): void {
    if (!this.stream) return;
    const line = formatEpochLine(event, this.epochs);
    this.stream.write(this.drawn ? `\r${line}\x1b[K\n` : `${line}\n`);
  }
}

export function progressBar(options: ProgressBarOptions = {}): ProgressBar {
  return new ProgressBar(options);
}
