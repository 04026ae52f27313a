// Pictures sent to POST /api/predict are decoded and scaled to 28x28 on worker threads, never on the
// server's event loop: a 12-megapixel phone photo takes seconds in jpeg-js, and on the event loop
// every other request (a health check, the runs list, event streams) would wait for it.
// - A small pool: `workers` threads, started on first use (each loads the library once, then
//   waits for pictures); one picture per thread at a time.
// - A bounded queue: a request takes a ticket before its body is read, reserving the bytes its
//   content-length declares, so at most `workers + queue` pictures and `maxBytes` of picture
//   bodies are held at once; past either the answer is 503 + Retry-After.
// - A time limit per picture, counted from the moment a ready worker gets it: a decode still
//   running after `timeoutMs` is stopped (its thread terminated and replaced) and answered 503.
import { Worker } from 'node:worker_threads';
import { busy, formatBytes, HttpError } from './http.js';

export interface DecodePoolOptions {
  /** Threads decoding at once. */
  workers: number;
  /** Pictures that may wait for a thread, beyond the `workers` being decoded. */
  queue: number;
  /** Bytes of picture bodies held at once (being read, waiting or decoding). */
  maxBytes: number;
  /** The longest one decode may run, in milliseconds. */
  timeoutMs: number;
}

/** parent -> worker: one picture; its bytes' buffer is transferred. */
export interface DecodeJobMessage {
  id: number;
  bytes: Uint8Array;
}

/** worker -> parent: it has loaded and waits for pictures, or one picture's outcome. */
export type DecodeWorkerMessage =
  { ready: true } | { id: number; image: Uint8Array } | { id: number; status: number; message: string };

export interface DecodeTicket {
  /** The picture as (28, 28) u8; HttpError 400 for a picture that cannot be read, 503 when it took too long. */
  decode(bytes: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** Gives the place back without decoding (e.g. the body was refused). Idempotent. */
  release(): void;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  signal: AbortSignal | undefined;
  resolve: (image: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const RETRY_AFTER_SECONDS = 5;

export class DecodePool {
  private readonly threads = new Set<Thread>();
  private readonly waiting: Job[] = [];
  private admitted = 0;
  private admittedBytes = 0;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly options: DecodePoolOptions,
    private readonly spawn: () => Worker = spawnDecodeWorker,
  ) {}

  /**
   * A place in the pool for one picture of up to `bytes` bytes; 503 + Retry-After when
   * `workers + queue` pictures or `maxBytes` bytes are taken.
   */
  admit(bytes: number): DecodeTicket {
    const capacity = this.options.workers + this.options.queue;
    if (this.closed) throw busy(503, 'the server is shutting down', RETRY_AFTER_SECONDS);
    if (this.admitted >= capacity) {
      throw busy(
        503,
        `the server is already decoding or holding ${capacity} pictures, its limit; try again in a few seconds`,
        RETRY_AFTER_SECONDS,
      );
    }
    if (this.admittedBytes + bytes > this.options.maxBytes) {
      throw busy(
        503,
        `the server is already holding ${formatBytes(this.admittedBytes)} of pictures and this one would pass ` +
          `its ${formatBytes(this.options.maxBytes)} limit; try again in a few seconds`,
        RETRY_AFTER_SECONDS,
      );
    }
    this.admitted++;
    this.admittedBytes += bytes;
    let held = true;
    const release = () => {
      if (held) {
        this.admitted--;
        this.admittedBytes -= bytes;
      }
      held = false;
    };
    return {
      release,
      decode: (bytes, signal) => {
        // NOTE: a copy in a buffer of its own, transferred to the worker (a Buffer may share its pool).
        const own = new Uint8Array(bytes);
        return new Promise<Uint8Array>((resolve, reject) => {
          this.waiting.push({ id: this.nextId++, bytes: own, signal, resolve, reject });
          this.pump();
        }).finally(release);
      },
    };
  }

  /** Stops every thread; pictures still waiting get 503. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0))
      job.reject(busy(503, 'the server is shutting down', RETRY_AFTER_SECONDS));
    const threads = [...this.threads];
    this.threads.clear();
    for (const thread of threads) {
      clearTimeout(thread.timer);
      thread.job?.reject(busy(503, 'the server is shutting down', RETRY_AFTER_SECONDS));
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Hands waiting pictures to ready idle threads, starting threads up to `workers`. */
  private pump(): void {
    while (this.waiting.length > 0) {
      const first = this.waiting[0] as Job;
      if (first.signal?.aborted) {
        this.waiting.shift(); // its client left while it waited
        first.reject(new HttpError(499, 'the client closed the request'));
        continue;
      }
      const idle = [...this.threads].find((thread) => thread.ready && thread.job === undefined);
      if (idle) {
        this.start(idle, this.waiting.shift() as Job);
        continue;
      }
      const starting = [...this.threads].filter((thread) => !thread.ready).length;
      if (this.threads.size < this.options.workers && starting < this.waiting.length) this.startThread();
      return;
    }
  }

  private startThread(): void {
    const worker = this.spawn();
    worker.unref(); // the server's socket keeps the process alive, not an idle decoder
    const thread: Thread = { worker, ready: false, job: undefined, timer: undefined };
    this.threads.add(thread);
    worker.on('message', (message: DecodeWorkerMessage) => {
      if ('ready' in message) {
        thread.ready = true;
      } else {
        const job = thread.job;
        if (!job || job.id !== message.id) return;
        clearTimeout(thread.timer);
        thread.job = undefined;
        if ('image' in message) job.resolve(message.image);
        else job.reject(new HttpError(message.status, message.message));
      }
      this.pump();
    });
    const fail = (why: string) => {
      if (!this.threads.delete(thread)) return;
      clearTimeout(thread.timer);
      thread.job?.reject(new Error(`the picture decoder thread stopped (${why})`));
      if (!thread.ready) {
        // It never loaded: starting another would fail the same way, so the waiting pictures fail now.
        for (const job of this.waiting.splice(0))
          job.reject(new Error(`the picture decoder could not start (${why})`));
        return;
      }
      this.pump();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
  }

  private start(thread: Thread, job: Job): void {
    thread.job = job;
    thread.timer = setTimeout(() => {
      this.threads.delete(thread);
      thread.job = undefined;
      void thread.worker.terminate();
      job.reject(
        busy(
          503,
          `decoding the picture took longer than ${this.options.timeoutMs / 1000} s, the server's limit ` +
            `(it may be busy); try again, or send a smaller picture`,
          RETRY_AFTER_SECONDS,
        ),
      );
      this.pump();
    }, this.options.timeoutMs);
    const message: DecodeJobMessage = { id: job.id, bytes: job.bytes };
    thread.worker.postMessage(message, [job.bytes.buffer as ArrayBuffer]);
  }
}

/**
 * Starts decode-worker.js next to this file or, from the TypeScript sources (tests under tsx),
 * decode-worker.ts with tsx's loader registered inside the worker (Node 20 workers do not inherit
 * the parent's --import hooks).
 */
function spawnDecodeWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./decode-worker.js', import.meta.url));
  const entry = new URL('./decode-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry)}))`,
    { eval: true },
  );
}
