// The picture decoder's thread (started by decode-pool.ts): PNG or JPEG bytes in, the (28, 28) u8
// image `mnist-lab predict` would see out, through the same pixelsFromPicture the server used on
// its event loop before. A picture that cannot be read is answered with its 4xx status and message.
import { parentPort } from 'node:worker_threads';
import type { DecodeJobMessage, DecodeWorkerMessage } from './decode-pool.js';
import { HttpError } from './http.js';
import { pixelsFromPicture } from './predict.js';

const port = parentPort;
if (!port) throw new Error('decode-worker.ts runs as a worker thread started by decode-pool.ts');

port.on('message', ({ id, bytes }: DecodeJobMessage) => {
  let reply: DecodeWorkerMessage;
  try {
    reply = { id, image: pixelsFromPicture(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)) };
  } catch (error) {
    const status = error instanceof HttpError ? error.status : 500;
    reply = { id, status, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies DecodeWorkerMessage);
