// The run directory of a data-parallel job: process 0 alone writes it; the others write nothing
// and, when resuming, receive the checkpoint process 0 read (so only process 0's host needs the
// run directory), and a fine-tune's base likewise. Node-only by use, browser-safe by content.
import type { ModelFiles } from '../runs/node/directory.js';
import type { CheckpointData, RunConfig, RunEvent, RunStore, TrainState } from '../runs/types.js';
import type { Collectives } from './data-parallel.js';

/** header, parts -> [u32 header length][header JSON, with the parts' lengths][part 0][part 1]... */
function encodeParts(header: object, parts: readonly Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ ...header, lengths: parts.map((p) => p.length) }));
  const out = new Uint8Array(4 + json.length + parts.reduce((n, p) => n + p.length, 0));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let offset = 4 + json.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function decodeParts<H>(bytes: Uint8Array): { header: H; parts: Uint8Array[] } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as H & {
    lengths: number[];
  };
  const { lengths, ...rest } = header;
  let offset = 4 + length;
  const parts = lengths.map((n) => bytes.slice(offset, (offset += n)));
  return { header: rest as H, parts };
}

function encodeCheckpoint(checkpoint: CheckpointData | null): Uint8Array {
  if (!checkpoint) return new Uint8Array(0);
  return encodeParts({ state: checkpoint.state }, [checkpoint.model, checkpoint.optimizer]);
}

function decodeCheckpoint(bytes: Uint8Array): CheckpointData | null {
  if (bytes.length === 0) return null;
  const { header, parts } = decodeParts<{ state: TrainState }>(bytes);
  return { state: header.state, model: parts[0] as Uint8Array, optimizer: parts[1] as Uint8Array };
}

/**
 * The model files process 0 reads (`read`: a fine-tune's base), on every process: only process 0's
 * host needs them. A failure to read fails process 0, and the launcher then stops the others.
 */
export async function modelFilesFromRankZero(
  collectives: Collectives,
  read: () => Promise<ModelFiles>,
): Promise<ModelFiles> {
  if (collectives.rank === 0) {
    const files = await read();
    const { model, checkpoint, ...rest } = files;
    const header = { ...rest, ...(checkpoint ? { state: checkpoint.state } : {}) };
    collectives.broadcast(encodeParts(header, [model, checkpoint?.optimizer ?? new Uint8Array(0)]), 0);
    return files;
  }
  const { header, parts } = decodeParts<Omit<ModelFiles, 'model' | 'checkpoint'> & { state?: TrainState }>(
    collectives.broadcast(null, 0),
  );
  const { state, ...rest } = header;
  const model = parts[0] as Uint8Array;
  return {
    ...rest,
    model,
    checkpoint: state ? { state, model, optimizer: parts[1] as Uint8Array } : undefined,
  };
}

/** Process 0's store: `store` itself, whose checkpoint it also sends to the others when resuming. */
export function leaderRunStore(store: RunStore, collectives: Collectives): RunStore {
  return {
    location: store.location,
    writeConfig: (config: RunConfig) => store.writeConfig(config),
    appendEvent: (event: RunEvent) => store.appendEvent(event),
    saveCheckpoint: (checkpoint: CheckpointData, keep: number) => store.saveCheckpoint(checkpoint, keep),
    loadLatestCheckpoint: async () => {
      const checkpoint = await store.loadLatestCheckpoint();
      collectives.broadcast(encodeCheckpoint(checkpoint), 0);
      return checkpoint;
    },
    close: () => store.close(),
  };
}

/** Every other process's store: writes nothing, and resumes from the checkpoint process 0 sends. */
export function followerRunStore(location: string, collectives: Collectives): RunStore {
  return {
    location,
    writeConfig: async () => undefined,
    appendEvent: async () => undefined,
    saveCheckpoint: async () => location,
    loadLatestCheckpoint: async () => decodeCheckpoint(collectives.broadcast(null, 0)),
    close: async () => undefined,
  };
}

/**
 * fit's run store on this process: `writer` when it runs alone; in a job, process 0's (`writer`,
 * sharing what it reads when resuming) or another's (no writer: it writes nothing).
 */
export function processRunStore(
  location: string,
  writer: RunStore | undefined,
  collectives: Collectives | undefined,
): RunStore {
  if (!collectives) {
    if (!writer) throw new Error(`${location}: a run alone needs its writer`);
    return writer;
  }
  return writer ? leaderRunStore(writer, collectives) : followerRunStore(location, collectives);
}
