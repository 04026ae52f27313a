// Shared setup for training tests: the js backend active, a tiny learnable dataset and model, and
// helpers to compare weights bit for bit.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { dense, dropout, flatten } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { sequential } from '../../src/train/model.js';
import type { Model } from '../../src/train/model.js';
import { openRun } from '../../src/runs/node/writer.js';
import type { CheckpointData, RunConfig, RunEvent, RunStore } from '../../src/runs/types.js';
import { Random } from '../../src/util/random.js';

setBackendInstance(createJsBackend());

/** fit() options writing a new run into `dir` (a locked run directory). */
export async function newRun(dir: string): Promise<{ run: RunStore }> {
  return { run: await openRun(dir) };
}

/** fit() options continuing the run in `dir` from its latest checkpoint. */
export async function resumeRun(dir: string): Promise<{ run: RunStore; resume: true }> {
  return { run: await openRun(dir, { resume: true }), resume: true };
}

/** Images of 6x6 pixels. */
export const INPUT_SHAPE = [6, 6, 1] as const;
export const PIXELS = 36;
export const CLASSES = 3;

/**
 * `count` u8 images (count, 6, 6) and labels (count): class k lights rows 2k and 2k+1, plus noise,
 * so a small MLP learns it in a few epochs.
 */
export function syntheticData(count: number, seed = 1): { images: Uint8Array; labels: Uint8Array } {
  const random = new Random(seed);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % CLASSES;
    labels[n] = label;
    for (let p = 0; p < PIXELS; p++) {
      const row = Math.floor(p / 6);
      const lit = row === 2 * label || row === 2 * label + 1;
      images[n * PIXELS + p] = Math.min(255, (lit ? 160 : 0) + random.nextInt(90));
    }
  }
  return { images, labels };
}

/** flatten -> dense(16, relu) -> dropout(0.25) -> dense(3) logits, compiled with Adam. */
export function smallModel(options: { dropout?: boolean; learningRate?: number } = {}): Model {
  const layers = [
    flatten({ inputShape: [...INPUT_SHAPE] }),
    dense({ units: 16, activation: 'relu' }),
    ...(options.dropout === false ? [] : [dropout({ rate: 0.25 })]),
    dense({ units: CLASSES }),
  ];
  const model = sequential(layers);
  model.compile({
    optimizer: adam({ learningRate: options.learningRate ?? 0.01 }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  return model;
}

/** Every weight's bytes, concatenated: equal arrays mean bit-identical weights. */
export function weightBytes(model: Model): Uint8Array {
  const parts = model.weights.map((w) => new Uint8Array(Float32Array.from(w.value.data).buffer));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function tempDir(prefix = 'mnist-lab-train-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Every file path under `root`, relative. */
export function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const relative = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(root, relative)).isDirectory()) out.push(...listFiles(root, relative));
    else out.push(relative);
  }
  return out;
}

/** A RunStore in memory: what a browser would back with IndexedDB. Checkpoints are kept, never pruned. */
export class MemoryRun implements RunStore {
  readonly location = 'memory';
  config: RunConfig | undefined;
  readonly events: RunEvent[] = [];
  readonly checkpoints: CheckpointData[] = [];
  /** The `keep` each saveCheckpoint was given. */
  readonly keeps: number[] = [];
  async writeConfig(config: RunConfig): Promise<void> {
    this.config = config;
  }
  async appendEvent(event: RunEvent): Promise<void> {
    this.events.push(event);
  }
  async saveCheckpoint(checkpoint: CheckpointData, keep: number): Promise<string> {
    this.checkpoints.push(structuredClone(checkpoint));
    this.keeps.push(keep);
    return `memory/${checkpoint.state.step}`;
  }
  async loadLatestCheckpoint(): Promise<CheckpointData | null> {
    return this.checkpoints.at(-1) ?? null;
  }
  async close(): Promise<void> {}
}
