// Live training over the API: POST /api/train starts a child `mnist-lab train`, a second start is
// refused with 409 while it runs, and GET /api/runs/:id/events streams its metrics.jsonl as
// Server-Sent Events (batchEnd, epochEnd, trainEnd, then `event: end`), replaying after
// Last-Event-ID on reconnect. A hand-written run shows a torn last line held back until complete.
// Streams are capped per server (503) and per client address (429), and an open stream holds no
// large buffer (40 streams: a few hundred KiB, not 40 MiB).
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServer, type RunSummary, type RunningServer } from '../../src/server/index.js';
import { call, errorOf } from './helpers.js';

interface ServerEvent {
  id?: number;
  event: string;
  data: string;
}

/** Reads an SSE stream to its end (or `timeoutMs`), calling `onEvent` for each message. */
async function readEvents(
  url: string,
  options: { lastEventId?: number; timeoutMs?: number; onEvent?: (event: ServerEvent) => void } = {},
): Promise<ServerEvent[]> {
  const response = await fetch(url, {
    headers: options.lastEventId ? { 'last-event-id': String(options.lastEventId) } : {},
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: ServerEvent[] = [];
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = text.indexOf('\n\n')) !== -1) {
      const block = text.slice(0, cut);
      text = text.slice(cut + 2);
      const event: ServerEvent = { event: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = Number(line.slice(4));
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          event.data += line.slice(6);
          hasData = true;
        }
      }
      if (!hasData) continue; // retry: and comments
      events.push(event);
      options.onEvent?.(event);
    }
  }
  return events;
}

function types(events: ServerEvent[]): string[] {
  return events
    .filter((e) => e.event === 'message')
    .map((e) => (JSON.parse(e.data) as { type: string }).type);
}

let root = '';
let server: RunningServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'mnist-lab-serve-events-'));
  server = await startServer({ port: 0, runsDir: join(root, 'runs'), quiet: true });
});

after(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('serve: training and its event stream', () => {
  it('POST /api/train starts a run whose events stream live to the end; a second start gets 409', async () => {
    const started = await call(server.url, '/api/train', {
      type: 'application/json',
      body: JSON.stringify({ model: 'mlp', epochs: 2, limit: 3000, seed: 1 }),
    });
    assert.equal(started.status, 202, started.body.toString('utf8'));
    const { id } = started.json() as { id: string };
    assert.match(id, /^mlp-mnist-/);

    const second = await call(server.url, '/api/train', {
      type: 'application/json',
      body: '{"model":"mlp"}',
    });
    assert.equal(second.status, 409);
    assert.match(errorOf(second), /already running/);
    const listed = (await call(server.url, '/api/runs')).json() as { runs: RunSummary[] };
    assert.equal(listed.runs.find((r) => r.id === id)?.status, 'running');
    // The training child holds the run's lock (pid, host, start time), as `train` does.
    const lockPath = join(root, 'runs', id, 'run.lock');
    let lockText = '';
    for (const until = Date.now() + 20_000; Date.now() < until && lockText === '';) {
      try {
        lockText = readFileSync(lockPath, 'utf8');
      } catch {
        // not taken yet
      }
      if (lockText === '') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lock = JSON.parse(lockText) as { pid: number; host: string; since: string; command: string };
    assert.notEqual(lock.pid, process.pid, 'the child, not the server, holds the lock');
    assert.match(lock.command, /train/);
    assert.ok(lock.host.length > 0 && !Number.isNaN(Date.parse(lock.since)), lockText);

    const events = await readEvents(`${server.url}/api/runs/${id}/events`);
    const seen = types(events);
    assert.equal(seen[0], 'trainBegin');
    assert.ok(
      seen.filter((t) => t === 'batchEnd').length >= 2 * Math.ceil(3000 / 32) * 0.9,
      'batchEnd events',
    );
    assert.equal(seen.filter((t) => t === 'epochEnd').length, 2);
    assert.equal(seen.at(-1), 'trainEnd');
    assert.equal(events.at(-1)?.event, 'end');
    const ids = events.filter((e) => e.event === 'message').map((e) => e.id as number);
    assert.deepEqual(
      ids,
      ids.map((_, i) => i + 1),
      'ids are the line numbers',
    );

    // Reconnecting after the third-last event replays the last two, then ends.
    const last = ids.at(-1) as number;
    const replay = await readEvents(`${server.url}/api/runs/${id}/events`, { lastEventId: last - 2 });
    assert.deepEqual(
      replay.map((e) => e.id ?? e.event),
      [last - 1, last, 'end'],
    );

    // Training has ended: never 'running' again, and never a training accuracy as the best one
    // (the child evaluates the test set and writes its report meanwhile: 'evaluating').
    const summary = async () =>
      ((await call(server.url, '/api/runs')).json() as { runs: RunSummary[] }).runs.find((r) => r.id === id);
    const ended = await summary();
    assert.ok(ended?.status === 'evaluating' || ended?.status === 'finished', ended?.status);
    assert.equal(ended?.accuracyKind, 'test');
    // While evaluating, the best accuracy is null until evaluation.json is written; the child may
    // write it just before it exits, so a number here must be that file's test accuracy.
    const evaluatingAccuracy = ended?.status === 'evaluating' ? ended.bestAccuracy : null;
    // The child writes its report and exits: the run becomes 'finished' and a new start is allowed.
    const deadline = Date.now() + 60_000;
    let run: RunSummary | undefined;
    while (Date.now() < deadline) {
      run = await summary();
      if (run?.status !== 'evaluating') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(run?.status, 'finished');
    assert.equal(run?.epochs, 2);
    assert.equal(run?.hasModel, true);
    // The best accuracy is the test accuracy the report's evaluation saved as data.
    const evaluation = JSON.parse(readFileSync(join(root, 'runs', id, 'evaluation.json'), 'utf8')) as {
      accuracy: number;
      split: string;
    };
    assert.equal(evaluation.split, 'test');
    assert.equal(run?.bestAccuracy, evaluation.accuracy);
    if (evaluatingAccuracy !== null) assert.equal(evaluatingAccuracy, evaluation.accuracy);
  });

  it('holds a torn last line back until its newline, follows the growing file and ends at trainEnd', async () => {
    const runDir = join(root, 'runs', 'handmade');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ createdAt: new Date().toISOString() }));
    const metrics = join(runDir, 'metrics.jsonl');
    writeFileSync(metrics, '{"type":"epochBegin","epoch":0,"lr":0.1}\n{"type":"batchEnd","epo');
    const received: ServerEvent[] = [];
    const stream = readEvents(`${server.url}/api/runs/handmade/events`, {
      timeoutMs: 20_000,
      onEvent: (event) => received.push(event),
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.deepEqual(types(received), ['epochBegin'], 'the torn line is not sent');
    appendFileSync(metrics, 'ch":0,"batch":0,"step":0}\n');
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.deepEqual(types(received), ['epochBegin', 'batchEnd']);
    appendFileSync(metrics, '{"type":"trainEnd","epoch":1,"step":1,"stopped":false,"seconds":1}\n');
    const events = await stream;
    assert.deepEqual(types(events), ['epochBegin', 'batchEnd', 'trainEnd']);
    assert.equal(events.at(-1)?.event, 'end');
  });

  it('a finished run without a live writer replays and ends; an unknown run is a 404', async () => {
    const runDir = join(root, 'runs', 'old');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'metrics.jsonl'), '{"type":"epochBegin","epoch":0,"lr":0.1}\n');
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(join(runDir, 'metrics.jsonl'), past, past); // a crashed run: no trainEnd, not written to
    const events = await readEvents(`${server.url}/api/runs/old/events`, { timeoutMs: 10_000 });
    assert.deepEqual(types(events), ['epochBegin']);
    assert.equal(events.at(-1)?.event, 'end');
    assert.equal((await call(server.url, '/api/runs/nope/events')).status, 404);
  });
});

interface OpenStream {
  status: number;
  retryAfter: string | undefined;
  /** Resolves once the first event (a `data:` line) arrived; immediately for a refused stream. */
  firstEvent: Promise<void>;
  close(): void;
}

/** Opens an event stream from `localAddress` (any of 127.0.0.0/8) and keeps it open until close(). */
function openStream(port: number, path: string, localAddress = '127.0.0.1'): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const outgoing: ClientRequest = httpRequest(
      { host: '127.0.0.1', port, path, localAddress, agent: false },
      (incoming) => {
        let text = '';
        const firstEvent = new Promise<void>((arrived) => {
          incoming.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('data: ')) arrived();
          });
          incoming.on('end', () => arrived());
        });
        const retryAfter = incoming.headers['retry-after'];
        resolve({
          status: incoming.statusCode ?? 0,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          firstEvent: incoming.statusCode === 200 ? firstEvent : Promise.resolve(),
          close: () => outgoing.destroy(),
        });
      },
    );
    outgoing.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    outgoing.end();
  });
}

/** A run whose writer looks alive (metrics.jsonl just written, no trainEnd): its streams stay open. */
function liveRun(name: string): string {
  const runDir = join(root, 'runs', name);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({ createdAt: new Date().toISOString() }));
  writeFileSync(join(runDir, 'metrics.jsonl'), '{"type":"epochBegin","epoch":0,"lr":0.1}\n');
  return `/api/runs/${name}/events`;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('serve: event stream limits', () => {
  it('caps streams per client address (429) and per server (503), and frees a slot when one closes', async () => {
    const capped = await startServer({
      port: 0,
      runsDir: join(root, 'runs'),
      quiet: true,
      limits: { streams: 3, streamsPerClient: 2 },
    });
    const streams: OpenStream[] = [];
    try {
      const path = liveRun('capped');
      const open = async (address: string) => {
        const stream = await openStream(capped.port, path, address);
        streams.push(stream);
        return stream;
      };
      assert.equal((await open('127.0.0.1')).status, 200);
      assert.equal((await open('127.0.0.1')).status, 200);
      const third = await open('127.0.0.1');
      assert.deepEqual([third.status, third.retryAfter], [429, '10'], 'a third from the same address');
      assert.equal((await open('127.0.0.2')).status, 200, 'another client still gets one');
      const full = await open('127.0.0.3');
      assert.deepEqual([full.status, full.retryAfter], [503, '10'], 'the server holds its 3');
      streams[0]?.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await open('127.0.0.1')).status, 200, 'a closed stream gives its slot back');
    } finally {
      for (const stream of streams) stream.close();
      await capped.close();
    }
  });

  it('40 open streams hold a few hundred KiB of buffers, not a MiB each', async () => {
    const roomy = await startServer({
      port: 0,
      runsDir: join(root, 'runs'),
      quiet: true,
      limits: { streams: 64, streamsPerClient: 64 },
    });
    const streams: OpenStream[] = [];
    try {
      const path = liveRun('watched');
      collectGarbage();
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 40; i++) streams.push(await openStream(roomy.port, path));
      await Promise.all(streams.map((stream) => stream.firstEvent));
      assert.deepEqual(new Set(streams.map((stream) => stream.status)), new Set([200]));
      collectGarbage();
      const grown = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
      console.log(`serve: 40 open event streams: array buffers +${grown.toFixed(2)} MiB`);
      assert.ok(grown < 4, `40 streams hold ${grown.toFixed(1)} MiB of buffers`);
    } finally {
      for (const stream of streams) stream.close();
      await roomy.close();
    }
  });
});
