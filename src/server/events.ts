// GET /api/runs/:id/events: a run's metrics.jsonl as Server-Sent Events. Every complete line is
// one `data:` message whose `id:` is its line number (1-based), replayed from the start or from
// after Last-Event-ID, then the file is followed as it grows (polled: fs.watch misses appends on
// some file systems) until a trainEnd event or the run stops; `event: end` closes the stream.
// A torn last line waits for its newline. A comment line every HEARTBEAT_MS keeps proxies open.
// Streams are long-lived, so they are capped (StreamSlots: per server and per client address) and
// each holds only what it reads: a buffer sized to the bytes that are new, at most READ_CHUNK.
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { busy } from './http.js';

export interface FollowOptions {
  /** True while the run may still append (a live training process). */
  isLive: () => Promise<boolean>;
  pollMs?: number;
  heartbeatMs?: number;
}

const POLL_MS = 250;
const HEARTBEAT_MS = 15_000;
/** The most bytes read at once: a long run's history replays in slices of this size. */
const READ_CHUNK = 256 << 10;
const RETRY_AFTER_SECONDS = 10;

export interface StreamSlotLimits {
  /** Event streams open at once on the server. */
  perServer: number;
  /** Event streams open at once from one client address. */
  perClient: number;
}

/** Counts open event streams; refuses one past the server's cap (503) or its client's cap (429). */
export class StreamSlots {
  private open = 0;
  private readonly byClient = new Map<string, number>();

  constructor(private readonly limits: StreamSlotLimits) {}

  /** Takes a slot for a stream from `client` (an address); call the returned function when it ends. */
  acquire(client: string): () => void {
    const mine = this.byClient.get(client) ?? 0;
    if (this.open >= this.limits.perServer) {
      throw busy(
        503,
        `the server already follows ${this.open} event streams, its limit; close another page or try again later`,
        RETRY_AFTER_SECONDS,
      );
    }
    if (mine >= this.limits.perClient) {
      throw busy(
        429,
        `this client already has ${mine} event streams open, the limit per address; close another page or tab`,
        RETRY_AFTER_SECONDS,
      );
    }
    this.open++;
    this.byClient.set(client, mine + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.open--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left === 0) this.byClient.delete(client);
      else this.byClient.set(client, left);
    };
  }
}

export function lastEventId(request: IncomingMessage): number {
  const raw = request.headers['last-event-id'];
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** Streams `<runDir>/metrics.jsonl` to `response` until the run ends or the client leaves. */
export async function streamRunEvents(
  runDir: string,
  request: IncomingMessage,
  response: ServerResponse,
  options: FollowOptions,
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  response.write('retry: 2000\n\n');
  const skipThrough = lastEventId(request);
  const path = join(runDir, 'metrics.jsonl');
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  response.on('close', onClose);
  const heartbeat = setInterval(() => {
    if (!closed) response.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  const send = async (text: string): Promise<void> => {
    if (closed) return;
    if (!response.write(text)) {
      await new Promise<void>((resolve) => {
        response.once('drain', resolve);
        response.once('close', resolve);
      });
    }
  };

  let handle: FileHandle | undefined;
  let offset = 0;
  let lineNumber = 0;
  let pending = ''; // a partial last line, waiting for its newline
  let lastWasTrainEnd = false; // NOTE: a resumed run has a trainEnd mid-file; only a final one ends
  const decoder = new StringDecoder('utf8');
  try {
    while (!closed) {
      handle ??= await open(path, 'r').catch(() => undefined);
      let read = 0;
      let size = 0;
      if (handle) {
        size = (await stat(path)).size;
        // The file was replaced: end without the 'end' event, so EventSource reconnects and replays
        // (an 'end' would tell the page the run is over and close its stream for good).
        if (size < offset) return;
        if (size > offset) {
          // NOTE: a buffer per read, sized to the new bytes (a few hundred while following a run):
          // an idle stream holds nothing between polls.
          const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - offset));
          ({ bytesRead: read } = await handle.read(buffer, 0, buffer.length, offset));
          offset += read;
          const lines = (pending + decoder.write(buffer.subarray(0, read))).split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            lineNumber++;
            if (!line.trim()) continue;
            lastWasTrainEnd = isTrainEnd(line);
            if (lineNumber > skipThrough) await send(`id: ${lineNumber}\ndata: ${line}\n\n`);
          }
        }
      }
      if (lastWasTrainEnd && offset >= size && pending === '') break;
      if (read > 0 && offset < size) continue; // more to replay right away
      if (!(await options.isLive())) {
        // One last look: the process may have appended its final lines just before exiting.
        const now = await stat(path).then(
          (info) => info.size,
          () => 0,
        );
        if (now <= offset) break;
        continue;
      }
      await sleep(options.pollMs ?? POLL_MS);
    }
    await send('event: end\ndata: {}\n\n');
  } finally {
    clearInterval(heartbeat);
    response.off('close', onClose);
    await handle?.close();
    if (!closed) response.end();
  }
}

function isTrainEnd(line: string): boolean {
  if (!line.includes('"trainEnd"')) return false;
  try {
    return (JSON.parse(line) as { type?: unknown }).type === 'trainEnd';
  } catch {
    return false;
  }
}
