// `mnist-lab serve`: the web app's HTTP server and JSON API on node:http. This file wires the
// pieces: the access checks (Host, Origin, token), the runs catalog, the training supervisor, the
// model cache, the picture decoder threads, the event stream slots and the static web root, behind
// a small router. Every handler's errors are caught per request (router.ts).
//
//   GET  /api/health                  {ok, version, backend}
//   GET  /api/runs                    {runs: RunSummary[]} newest first
//   GET  /api/runs/:id                {run, config, history, classNames, normalize}
//   GET  /api/runs/:id/model          the latest checkpoint's model.safetensors (ETag per checkpoint)
//   GET  /api/runs/:id/onnx           the latest model exported to ONNX (the page's exporter needs Node)
//   GET  /api/runs/:id/report         report.html (and /report/<file> beside it)
//   GET  /api/runs/:id/events         Server-Sent Events: metrics.jsonl, replayed then followed
//   POST /api/runs                    201 {id, run}: a model taught in the page saved as a run (saved-runs.ts)
//   POST /api/train                   202 {id}: one child `mnist-lab train` at a time
//   POST /api/predict?run=<id>        a PNG/JPEG body or {pixels: number[784]} -> class probabilities
//   GET  /*                           the built web app (dist/web), cross-origin isolated (static.ts)
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { VERSION, getBackend, selectBackend } from '../index.js';
import { exportOnnx } from '../io/onnx.js';
import { METRICS_FILE, REPORT_FILE, REPORT_PNG_DIR } from '../runs/layout.js';
import {
  accessGuard,
  isLoopbackHost,
  isWildcardHost,
  networkAddresses,
  newToken,
  urlHostName,
} from './access.js';
import { DecodePool } from './decode-pool.js';
import { StreamSlots, streamRunEvents } from './events.js';
import {
  HttpError,
  contentType,
  declaredLength,
  parseJsonBody,
  readBody,
  refuseDeclaredOverLimit,
  sendJson,
} from './http.js';
import { DEFAULT_WEB_ROOT } from './paths.js';
import {
  ModelCache,
  PREDICT_BODY_LIMIT,
  modelForPrediction,
  pixelsFromJson,
  predictImage,
} from './predict.js';
import { Router, type Guard } from './router.js';
import { RunCatalog } from './runs.js';
import { parseSaveRunRequest, saveRun } from './saved-runs.js';
import { resolveInside, sendFile, serveStatic } from './static.js';
import { TrainingSupervisor, parseTrainRequest } from './training.js';

export type { RunDetail, RunStatus, RunSummary, EpochRecord } from './runs.js';
export type { PredictResult } from './predict.js';
export type { TrainRequest } from './training.js';
export { isLoopbackHost } from './access.js';

export interface ServeOptions {
  /** 0 = any free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  runsDir: string;
  /** The built web app; default dist/web at the package root. */
  webRoot?: string;
  /** No log lines on stderr. */
  quiet?: boolean;
  /** Compute backend for predictions and server-started training; default native when available. */
  backend?: 'js' | 'native' | 'wasm';
  /** Native backend threads; default all cores. */
  threads?: number;
  /**
   * The API's access token. Default: a new random one when `host` is not a loopback address
   * (anyone on the network could reach the server), none on loopback; false: never one.
   */
  token?: string | false;
  /** More Host names the server answers to, besides loopback names and `host`. */
  allowHosts?: readonly string[];
  /** Caps on the server's resources; each defaults to SERVE_LIMITS. */
  limits?: Partial<ServeLimits>;
}

export interface ServeLimits {
  /** The largest picture body /api/predict reads (a phone photo is 2-6 MB). */
  imageBodyBytes: number;
  /** The largest body POST /api/runs reads (a model in base64: the `fast` recipe's is ~1.1 MB). */
  saveBodyBytes: number;
  /** Threads decoding pictures at once. */
  decodeWorkers: number;
  /** Pictures waiting for a decoder thread; past that, 503 + Retry-After. */
  decodeQueue: number;
  /** Bytes of picture bodies held at once (read, waiting or decoding); past that, 503 + Retry-After. */
  decodeBytes: number;
  /** The longest one picture may take to decode, in milliseconds; then 503. */
  decodeTimeoutMs: number;
  /** Event streams open at once on the server (503 past it). */
  streams: number;
  /** Event streams open at once from one client address (429 past it). */
  streamsPerClient: number;
}

export const SERVE_LIMITS: Readonly<ServeLimits> = {
  imageBodyBytes: 16 << 20,
  saveBodyBytes: 16 << 20,
  // NOTE: one thread per core but one, at least one and at most two: decoding a photo takes a
  // core for seconds, and the event loop needs a core of its own to stay quick.
  decodeWorkers: Math.max(1, Math.min(2, availableParallelism() - 1)),
  // NOTE: small pictures (a drawn digit is ~1 KB) queue by the dozen; big ones are bounded by bytes.
  decodeQueue: 32,
  decodeBytes: 64 << 20,
  // NOTE: a 12-megapixel JPEG takes ~2-3 s here and several times that on a loaded or small
  // machine; the limit is for a decode that would hold its thread for good.
  decodeTimeoutMs: 60_000,
  streams: 64,
  // NOTE: a browser opens at most 6 connections per host over HTTP/1.1; the page uses one or two.
  streamsPerClient: 8,
};

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /** The API's access token, when the server needs one. */
  token: string | undefined;
  /** Addresses to open in a browser, the token included: `url`, and this machine's network addresses for a wildcard bind. */
  openUrls: string[];
  close(): Promise<void>;
}

const TRAIN_BODY_LIMIT = 16 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/jpg'];

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.quiet
    ? () => undefined
    : (line: string) => process.stderr.write(`mnist-lab serve: ${line}\n`);
  const backend = selectBackend({
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    log,
  });
  const runsDir = resolve(options.runsDir);
  const webRoot = resolve(options.webRoot ?? DEFAULT_WEB_ROOT);
  const supervisor = new TrainingSupervisor({
    runsDir,
    backend: backend.name,
    ...(options.threads ? { threads: options.threads } : {}),
    log,
  });
  const catalog = new RunCatalog(runsDir, (id) => supervisor.get(id));
  const models = new ModelCache();
  const limits = { ...SERVE_LIMITS, ...options.limits };
  const decoder = new DecodePool({
    workers: limits.decodeWorkers,
    queue: limits.decodeQueue,
    maxBytes: limits.decodeBytes,
    timeoutMs: limits.decodeTimeoutMs,
  });
  const streams = new StreamSlots({ perServer: limits.streams, perClient: limits.streamsPerClient });
  const host = options.host ?? '127.0.0.1';
  const token =
    options.token === false ? undefined : (options.token ?? (isLoopbackHost(host) ? undefined : newToken()));
  // Set once the port is known: no request arrives before listen() has resolved.
  let guard: Guard = () => {
    throw new HttpError(503, 'the server is starting');
  };
  const router = new Router({ log, guard: (context) => guard(context) });

  router
    .add('GET', '/api/health', ({ response }) =>
      sendJson(response, 200, { ok: true, version: VERSION, backend: getBackend().name }),
    )
    .add('GET', '/api/runs', async ({ response }) => sendJson(response, 200, { runs: await catalog.list() }))
    .add('GET', '/api/runs/:id', async ({ response, params }) =>
      sendJson(response, 200, await catalog.detail(params['id'] as string)),
    )
    .add('GET', '/api/runs/:id/model', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const file = await catalog.modelPath(id);
      response.setHeader('content-disposition', `attachment; filename="${id}.safetensors"`);
      // The ETag changes with the checkpoint: the page asks again with If-None-Match (a 304 when unchanged).
      await sendFile(response, file, fileRequest(request));
    })
    .add('GET', '/api/runs/:id/onnx', async ({ response, params }) => {
      const id = params['id'] as string;
      const { run } = await modelForPrediction(catalog, models, id, log);
      let bytes: Uint8Array;
      try {
        bytes = exportOnnx(run.model);
      } catch (error) {
        throw new HttpError(
          422,
          `run '${id}': its model cannot be exported to ONNX (${(error as Error).message})`,
        );
      }
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.length,
        'content-disposition': `attachment; filename="${id}.onnx"`,
        'cache-control': 'no-store',
      });
      response.end(bytes);
    })
    .add('GET', '/api/runs/:id/report', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const file = await resolveInside(await catalog.runDir(id), REPORT_FILE);
      if (!file)
        throw new HttpError(404, `run '${id}' has no ${REPORT_FILE} yet (it is written when training ends)`);
      await sendFile(response, file, fileRequest(request));
    })
    .add('GET', '/api/runs/:id/report/:file', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const name = params['file'] as string;
      const file = await resolveInside(join(await catalog.runDir(id), REPORT_PNG_DIR), name);
      if (!file) throw new HttpError(404, `run '${id}' has no report file '${name.slice(0, 100)}'`);
      await sendFile(response, file, fileRequest(request));
    })
    .add('GET', '/api/runs/:id/events', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const runDir = await catalog.runDir(id);
      await catalog.checkServable(id, METRICS_FILE);
      const release = streams.acquire(request.socket.remoteAddress ?? 'unknown');
      try {
        await streamRunEvents(runDir, request, response, { isLive: () => catalog.isLive(id) });
      } finally {
        release();
      }
    })
    .add('POST', '/api/runs', async ({ request, response }) => {
      if (contentType(request) !== 'application/json') {
        throw new HttpError(
          415,
          `POST /api/runs expects application/json, found '${contentType(request) || 'none'}'`,
        );
      }
      const fix = 'the model is too large to save from the page; save it with the CLI instead';
      const body = parseSaveRunRequest(
        parseJsonBody(await readBody(request, limits.saveBodyBytes, fix), 'save run'),
      );
      const id = await saveRun(runsDir, body);
      log(`saved run ${id} (taught in the page: ${body.classNames.length} classes, ${body.method})`);
      sendJson(response, 201, { id, run: await catalog.summary(id) });
    })
    .add('POST', '/api/train', async ({ request, response }) => {
      if (contentType(request) !== 'application/json') {
        throw new HttpError(
          415,
          `POST /api/train expects application/json, found '${contentType(request) || 'none'}'`,
        );
      }
      const body = parseTrainRequest(parseJsonBody(await readBody(request, TRAIN_BODY_LIMIT), 'train'));
      sendJson(response, 202, { id: supervisor.start(body) });
    })
    .add('POST', '/api/predict', async ({ request, response, url }) => {
      const type = contentType(request);
      const isImage = IMAGE_TYPES.includes(type);
      if (!isImage && type !== 'application/json') {
        throw new HttpError(
          415,
          `POST /api/predict expects image/png, image/jpeg or application/json, found '${type || 'none'}'`,
        );
      }
      // The run and its model first: a request for a run that is not there costs no decoding.
      const { id, run } = await modelForPrediction(catalog, models, url.searchParams.get('run'), log);
      let image: Uint8Array;
      if (isImage) {
        const fix = 'scale the picture down (a digit needs 28x28 pixels) or send it as JPEG';
        refuseDeclaredOverLimit(request, limits.imageBodyBytes, fix);
        // A place among the decoder threads before the body is read, for the bytes it declares
        // (a chunked upload may take the whole limit): the pictures held at once are bounded.
        const ticket = decoder.admit(declaredLength(request) ?? limits.imageBodyBytes);
        let body: Buffer;
        try {
          body = await readBody(request, limits.imageBodyBytes, fix);
        } catch (error) {
          ticket.release();
          throw error;
        }
        const gone = new AbortController();
        response.once('close', () => gone.abort());
        image = await ticket.decode(body, gone.signal);
      } else {
        image = pixelsFromJson(await readBody(request, PREDICT_BODY_LIMIT));
      }
      sendJson(response, 200, predictImage(id, run, image));
    });

  const server = createServer((request, response) => {
    const fallback = async ({ url }: { url: URL }) => {
      if (url.pathname.startsWith('/api/')) throw new HttpError(404, `no such API path: ${url.pathname}`);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}`);
      }
      await serveStatic(webRoot, url.pathname, response, fileRequest(request));
    };
    void router.dispatch(request, response, fallback);
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await listen(server, options.port ?? 8080, host);
  const port = (server.address() as AddressInfo).port;
  guard = accessGuard({
    bindHost: host,
    port,
    ...(token ? { token } : {}),
    allowHosts: options.allowHosts ?? [],
  });
  const url = `http://${urlHostName(host)}:${port}`;
  const withToken = (base: string) => (token ? `${base}/?token=${token}` : base);
  const networkUrls = isWildcardHost(host)
    ? networkAddresses().map((address) => withToken(`http://${address}:${port}`))
    : [];
  return {
    url,
    port,
    token,
    openUrls: [withToken(url), ...networkUrls],
    async close() {
      await supervisor.stop();
      await decoder.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections(); // SSE streams would hold close() open
      });
    },
  };
}

/** What sendFile needs from a request: HEAD or not, and its If-None-Match. */
function fileRequest(request: IncomingMessage): { head: boolean; ifNoneMatch: string | undefined } {
  return { head: request.method === 'HEAD', ifNoneMatch: request.headers['if-none-match'] };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `port ${port} on ${host} is already in use: choose another with --port (0 picks a free one)`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new Error(`port ${port} on ${host} needs privileges: choose a port above 1023 with --port`));
      } else reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
