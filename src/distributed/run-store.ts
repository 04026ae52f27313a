// The run directory of a data-parallel job: process 0 alone writes it; the others write nothing
// and, when resuming, receive the checkpoint process 0 read (so only process 0's host needs the
// run directory). Node-only by use, browser-safe by content.
import type { CheckpointData, RunConfig, RunEvent, RunStore, TrainState } from '../runs/types.js';
import type { Collectives } from './data-parallel.js';

/** checkpoint -> [u32 header length][header JSON: state, model and optimizer lengths][model][optimizer]. */
function encodeCheckpoint(checkpoint: CheckpointData | null): Uint8Array {
  if (!checkpoint) return new Uint8Array(0);
  const header = new TextEncoder().encode(
    JSON.stringify({
      state: checkpoint.state,
      model: checkpoint.model.length,
      optimizer: checkpoint.optimizer.length,
    }),
  );
  const out = new Uint8Array(4 + header.length + checkpoint.model.length + checkpoint.optimizer.length);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  out.set(checkpoint.model, 4 + header.length);
  out.set(checkpoint.optimizer, 4 + header.length + checkpoint.model.length);
  return out;
}

function decodeCheckpoint(bytes: Uint8Array): CheckpointData | null {
  if (bytes.length === 0) return null;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as {
    state: TrainState;
    model: number;
    optimizer: number;
  };
  const modelStart = 4 + headerLength;
  return {
    state: header.state,
    model: bytes.slice(modelStart, modelStart + header.model),
    optimizer: bytes.slice(modelStart + header.model, modelStart + header.model + header.optimizer),
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
