// GET /api/runs/:id/events: a run's metrics.jsonl as Server-Sent Events. Every complete line is
// one `data:` message whose `id:` is its line number (1-based), replayed from the start or from
// after Last-Event-ID, then the file is followed as it grows (polled: fs.watch misses appends on
// some file systems) until a trainEnd event or the run stops; `event: end` closes the stream.
// A torn last line waits for its newline. A comment line every HEARTBEAT_MS keeps proxies open.
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export interface FollowOptions {
  /** True while the run may still append (a live training process). */
  isLive: () => Promise<boolean>;
  pollMs?: number;
  heartbeatMs?: number;
}

const POLL_MS = 250;
const HEARTBEAT_MS = 15_000;
/** Bytes read per poll: a long run's history replays in bounded slices. */
const READ_CHUNK = 1 << 20;

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
  const buffer = Buffer.alloc(READ_CHUNK);
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
          ({ bytesRead: read } = await handle.read(buffer, 0, Math.min(READ_CHUNK, size - offset), offset));
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
      if (read === READ_CHUNK) continue; // more to replay right away
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
