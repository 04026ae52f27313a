// The Teach page: the user picks a run, names classes (digits or new symbols), draws examples of
// each (some kept for testing), and fine-tunes the run's model on them in a Web Worker (worker.ts),
// watching the loss; then the taught model reads what they draw, and they save it to the server as
// a run or download it. This thread only draws, preprocesses drawings to 28x28 and shows results:
// no model computes here, so the page stays responsive while the worker trains.
import { NoDigitError, preprocessRgba, VERSION } from '../../../src/browser.js';
import { api, messageOf } from '../api.js';
import { DrawingPad, PAD_SIZE } from '../draw.js';
import { runLabels } from '../runs.js';
import type { RunSummary } from '../types.js';
import { LossChart } from './loss-chart.js';
import type { TeachAsk, TeachMethod, TeachReply, TrainedMessage } from './protocol.js';
import { DrawingStore, type Drawing } from './store.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found)
    throw new Error(`teach.html has no element with id '${id}' (the page and teach.js are out of step)`);
  return found as T;
}

function say(target: HTMLElement, message: string, isError = false): void {
  target.textContent = message;
  target.classList.toggle('error', isError);
}

const percent = (value: number | null): string => (value === null ? '–' : `${Math.round(value * 100)}%`);
const DIGITS = Array.from({ length: 10 }, (_, k) => String(k));

// ---- the worker ----

const worker = new Worker(new URL('teach-worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (reply: TeachReply) => void; reject: (error: Error) => void }>();
let onLoss: ((step: number, loss: number) => void) | undefined;

function ask<T extends TeachReply>(request: TeachAsk, transfer: Transferable[] = []): Promise<T> {
  const id = nextId++;
  worker.postMessage({ ...request, id }, transfer);
  return new Promise<T>((resolve, reject) =>
    pending.set(id, { resolve: resolve as (reply: TeachReply) => void, reject }),
  );
}

worker.onmessage = (event: MessageEvent<TeachReply>) => {
  const reply = event.data;
  if (reply.type === 'ready') {
    say(backendLine, `training in a Web Worker on ${reply.backend}`);
    return;
  }
  if (reply.type === 'loss') {
    onLoss?.(reply.step, reply.loss);
    return;
  }
  const waiting = pending.get(reply.id);
  if (!waiting) return;
  pending.delete(reply.id);
  if (reply.type === 'failed') waiting.reject(new Error(reply.message));
  else waiting.resolve(reply);
};
worker.onerror = (event) => say(backendLine, `the training worker failed: ${event.message}`, true);

// ---- state ----

const backendLine = element('teach-backend');
const baseSelect = element<HTMLSelectElement>('base-select');
const classList = element('class-list');
const classesStatus = element('classes-status');
const drawStatus = element('draw-status');
const drawingsView = element('drawings');
const answer = element('teach-answer');
const confidence = element('teach-confidence');
const heldOut = element<HTMLInputElement>('held-out');
const result = element('teach-result');
const keepStatus = element('keep-status');
const saveButton = element<HTMLButtonElement>('save-run');
const downloadButton = element<HTMLButtonElement>('download-safetensors');
const teachButton = element<HTMLButtonElement>('teach-start');

let store: DrawingStore | undefined;
let classes: string[] = [];
let drawings: Drawing[] = [];
let active = '';
/** The base run loaded in the worker, and what was taught from it (null: nothing yet). */
let loadedBase: string | null = null;
let taught: { classNames: string[]; method: TeachMethod; trained: TrainedMessage; base: string } | null =
  null;

// ---- classes ----

function renderClasses(): void {
  classList.replaceChildren(
    ...classes.map((name) => {
      const train = drawings.filter((d) => d.className === name && !d.heldOut).length;
      const test = drawings.filter((d) => d.className === name && d.heldOut).length;
      const chip = document.createElement('span');
      chip.className = 'class-chip';
      const choose = document.createElement('button');
      choose.type = 'button';
      choose.setAttribute('role', 'radio');
      choose.setAttribute('aria-checked', String(name === active));
      choose.dataset['class'] = name;
      choose.textContent = `${name} · ${train}${test ? ` + ${test} test` : ''}`;
      choose.addEventListener('click', () => {
        active = name;
        renderClasses();
      });
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `remove class ${name} and its drawings`);
      remove.addEventListener('click', () => void removeClass(name));
      chip.append(choose, remove);
      return chip;
    }),
  );
  element('add-class').textContent = active || '…';
  element<HTMLButtonElement>('add-drawing').disabled = !active;
  if (classes.length < 2) say(classesStatus, 'add at least two classes: the symbols you will teach it');
  else say(classesStatus, `${classes.length} classes; click one to draw examples of it`);
}

async function setClasses(next: string[]): Promise<void> {
  classes = next;
  if (!classes.includes(active)) active = classes[0] ?? '';
  await store?.setClasses(classes);
  renderClasses();
}

async function addClass(name: string): Promise<void> {
  const trimmed = name.trim();
  if (!trimmed) return;
  if (classes.includes(trimmed)) {
    active = trimmed;
    renderClasses();
    return;
  }
  if (classes.length >= 64) {
    say(classesStatus, 'at most 64 classes', true);
    return;
  }
  active = trimmed;
  await setClasses([...classes, trimmed]);
}

async function removeClass(name: string): Promise<void> {
  const gone = drawings.filter((d) => d.className === name).map((d) => d.id);
  await store?.remove(gone);
  drawings = drawings.filter((d) => d.className !== name);
  await setClasses(classes.filter((c) => c !== name));
  renderDrawings();
}

element<HTMLFormElement>('class-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = element<HTMLInputElement>('class-name');
  void addClass(input.value).then(() => (input.value = ''));
});
element('add-digits').addEventListener('click', () => {
  void setClasses([...classes, ...DIGITS.filter((d) => !classes.includes(d))]);
});

// ---- drawings ----

function thumbnail(drawing: Drawing): HTMLElement {
  const canvas = document.createElement('canvas');
  canvas.width = 28;
  canvas.height = 28;
  const context = canvas.getContext('2d');
  if (context) {
    const rgba = new ImageData(28, 28);
    drawing.image.forEach((v, i) => {
      rgba.data.set([v, v, v, 255], i * 4);
    });
    context.putImageData(rgba, 0, 0);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = drawing.heldOut ? 'drawing held-out' : 'drawing';
  button.title = `${drawing.className}${drawing.heldOut ? ' (test)' : ''}: click to ${drawing.heldOut ? 'train on it' : 'keep it for testing'}`;
  button.setAttribute('aria-label', button.title);
  button.append(canvas);
  button.addEventListener('click', () => {
    drawing.heldOut = !drawing.heldOut;
    void store?.put(drawing);
    renderDrawings();
  });
  return button;
}

function renderDrawings(): void {
  drawingsView.replaceChildren(
    ...classes.map((name) => {
      const row = document.createElement('div');
      row.className = 'drawing-row';
      const label = document.createElement('span');
      label.className = 'drawing-class';
      label.textContent = name;
      row.append(label, ...drawings.filter((d) => d.className === name).map(thumbnail));
      return row;
    }),
  );
  drawingsView.dataset['count'] = String(drawings.length);
  renderClasses();
}

const pad = new DrawingPad(element<HTMLCanvasElement>('pad'), { onChange: () => predictNow() });

/** The pad as the model sees it, or null when nothing is drawn. */
function padImage(): Uint8Array | null {
  if (!pad.hasInk) return null;
  try {
    return preprocessRgba(pad.rgba(), PAD_SIZE, PAD_SIZE).image;
  } catch (error) {
    if (error instanceof NoDigitError) return null;
    throw error;
  }
}

async function addDrawing(): Promise<void> {
  const image = padImage();
  if (!image || !active) {
    say(drawStatus, active ? 'draw something first' : 'add a class first', true);
    return;
  }
  const stored = await (store
    ? store.add({ className: active, image, heldOut: heldOut.checked })
    : Promise.resolve({ id: -drawings.length - 1, className: active, image, heldOut: heldOut.checked }));
  drawings.push(stored);
  pad.clear();
  showAnswer(null);
  renderDrawings();
  say(drawStatus, `added a ${stored.heldOut ? 'test ' : ''}drawing of '${active}'`);
}

element('add-drawing').addEventListener('click', () => void addDrawing());
element('clear-pad').addEventListener('click', () => {
  pad.clear();
  showAnswer(null);
});
element('clear-drawings').addEventListener('click', () => {
  void (async () => {
    await store?.clear();
    drawings = [];
    await setClasses([]);
    renderDrawings();
    say(drawStatus, 'all drawings and classes deleted from this browser');
  })();
});

// ---- prediction as the user draws ----

let predicting = false;
let again = false;

function showAnswer(name: string | null, probability?: number): void {
  answer.textContent = name ?? '–';
  answer.classList.toggle('long', (name?.length ?? 0) > 3);
  if (name === null) delete answer.dataset['label'];
  else answer.dataset['label'] = name;
  confidence.textContent = probability === undefined ? '' : `${Math.round(probability * 100)}% sure`;
}

/** Asks the worker about the pad; while one question is out, only the newest drawing waits. */
function predictNow(): void {
  if (!taught) return;
  if (predicting) {
    again = true;
    return;
  }
  const image = padImage();
  if (!image) {
    showAnswer(null);
    return;
  }
  predicting = true;
  void ask<Extract<TeachReply, { type: 'predicted' }>>({ type: 'predict', image }, [image.buffer])
    .then((reply) => {
      if (pad.hasInk) showAnswer(reply.name, Math.max(...reply.probabilities));
    })
    .catch((error: unknown) => say(drawStatus, `prediction failed: ${messageOf(error)}`, true))
    .finally(() => {
      predicting = false;
      if (again) {
        again = false;
        predictNow();
      }
    });
}

// ---- the base run ----

async function fillBaseSelect(): Promise<void> {
  let runs: RunSummary[];
  try {
    runs = (await api.runs()).filter((run) => run.hasModel);
  } catch (error) {
    say(classesStatus, `could not list the runs: ${messageOf(error)}`, true);
    return;
  }
  const labels = runLabels(runs);
  const previous = baseSelect.value;
  baseSelect.replaceChildren(
    ...runs.map((run) => {
      const option = document.createElement('option');
      option.value = run.id;
      option.textContent = labels.get(run.id) ?? run.id;
      return option;
    }),
  );
  if (runs.some((run) => run.id === previous)) baseSelect.value = previous;
  baseSelect.disabled = runs.length === 0;
  if (runs.length === 0) say(result, 'no trained run yet: train one on the main page first', true);
}

/** Loads the chosen run's model into the worker (once per run). */
async function loadBase(): Promise<string> {
  const runId = baseSelect.value;
  if (!runId) throw new Error('choose a run to start from (train one on the main page first)');
  if (loadedBase === runId) return runId;
  const [detail, { bytes }] = await Promise.all([api.run(runId), api.model(runId)]);
  await ask({ type: 'load', model: bytes, classNames: detail.classNames, normalize: detail.normalize }, [
    bytes.buffer,
  ]);
  loadedBase = runId;
  return runId;
}

baseSelect.addEventListener('change', () => {
  loadedBase = null;
});

// ---- teach ----

const chart = new LossChart(element<HTMLCanvasElement>('loss-chart'));

/** (N, 28, 28) u8 and (N) labels of the drawings `keep` selects. */
function stack(
  selected: readonly Drawing[],
  names: readonly string[],
): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(selected.length * 784);
  const labels = new Uint8Array(selected.length);
  selected.forEach((drawing, i) => {
    images.set(drawing.image, i * 784);
    labels[i] = names.indexOf(drawing.className);
  });
  return { images, labels };
}

async function teach(): Promise<void> {
  const names = classes.filter((name) => drawings.some((d) => d.className === name && !d.heldOut));
  if (names.length < 2) {
    say(result, 'draw examples of at least two classes (not kept for testing) first', true);
    return;
  }
  const method = element<HTMLSelectElement>('teach-method').value as TeachMethod;
  const epochs = Math.max(
    1,
    Math.min(200, Math.round(Number(element<HTMLInputElement>('teach-epochs').value) || 30)),
  );
  teachButton.disabled = true;
  result.dataset['state'] = 'training';
  try {
    say(result, 'loading the model…');
    const base = await loadBase();
    const train = stack(
      drawings.filter((d) => !d.heldOut && names.includes(d.className)),
      names,
    );
    const test = stack(
      drawings.filter((d) => d.heldOut && names.includes(d.className)),
      names,
    );
    chart.reset();
    onLoss = (step, loss) => chart.add(step, loss);
    say(result, `teaching ${names.length} classes from ${train.labels.length} drawings…`);
    const trained = await ask<TrainedMessage>(
      {
        type: 'train',
        method,
        classNames: names,
        images: train.images,
        labels: train.labels,
        testImages: test.images,
        testLabels: test.labels,
        epochs,
        seed: 1,
      },
      [train.images.buffer, train.labels.buffer, test.images.buffer, test.labels.buffer],
    );
    taught = { classNames: names, method, trained, base };
    const heldOutLine =
      trained.testCount > 0
        ? `your ${trained.testCount} test drawings: ${percent(trained.before)} right before, ${percent(trained.after)} after`
        : 'no test drawings kept: tick "keep for testing" on a few to measure it';
    say(
      result,
      `taught in ${trained.seconds.toFixed(2)} s (${trained.epochs} epochs, ${trained.trainableParams.toLocaleString('en-US')} weights trained) · ${heldOutLine} · now draw: it reads as you draw`,
    );
    result.dataset['state'] = 'done';
    result.dataset['seconds'] = String(trained.seconds);
    result.dataset['after'] = String(trained.after ?? '');
    saveButton.disabled = false;
    downloadButton.disabled = false;
    predictNow();
  } catch (error) {
    result.dataset['state'] = 'failed';
    say(result, `teaching failed: ${messageOf(error)}`, true);
  } finally {
    onLoss = undefined;
    teachButton.disabled = false;
  }
}

element<HTMLFormElement>('teach-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void teach();
});

// ---- keep it ----

async function exported(): Promise<Uint8Array> {
  const reply = await ask<Extract<TeachReply, { type: 'exported' }>>({ type: 'export' });
  return reply.model;
}

function base64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

saveButton.addEventListener('click', () => {
  if (!taught) return;
  const { classNames, method, trained, base } = taught;
  saveButton.disabled = true;
  say(keepStatus, 'saving…');
  void (async () => {
    try {
      const model = await exported();
      const saved = await api.saveRun({
        model: base64(model),
        classNames,
        method,
        base,
        training: {
          epochs: trained.epochs,
          seconds: trained.seconds,
          examples: drawings.filter((d) => !d.heldOut && classNames.includes(d.className)).length,
        },
        ...(trained.after !== null && trained.before !== null
          ? {
              heldOut: {
                count: trained.testCount,
                accuracyBefore: trained.before,
                accuracyAfter: trained.after,
              },
            }
          : {}),
      });
      keepStatus.dataset['run'] = saved.id;
      say(keepStatus, `saved as run ${saved.id}: it is in the runs list and the main page's model choice · `);
      const onnx = document.createElement('a');
      onnx.id = 'download-onnx';
      onnx.href = `/api/runs/${encodeURIComponent(saved.id)}/onnx`;
      onnx.download = `${saved.id}.onnx`;
      onnx.textContent = 'download it as ONNX';
      keepStatus.append(onnx, ' (exported by the server: the exporter needs Node)');
      await fillBaseSelect();
    } catch (error) {
      say(keepStatus, `could not save: ${messageOf(error)}`, true);
    } finally {
      saveButton.disabled = false;
    }
  })();
});

downloadButton.addEventListener('click', () => {
  void (async () => {
    try {
      const model = await exported();
      const url = URL.createObjectURL(
        new Blob([model as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      );
      const link = document.createElement('a');
      link.href = url;
      link.download = `taught-${(taught?.classNames ?? []).length}-classes.safetensors`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      say(keepStatus, `could not export: ${messageOf(error)}`, true);
    }
  })();
});

// ---- start ----

async function start(): Promise<void> {
  element('version').textContent = `page v${VERSION}`;
  try {
    store = await DrawingStore.open();
    drawings = await store.drawings();
    classes = (await store.classes()) ?? [];
    for (const drawing of drawings) if (!classes.includes(drawing.className)) classes.push(drawing.className);
  } catch (error) {
    say(
      drawStatus,
      `drawings will not be kept (this browser's IndexedDB is unavailable: ${messageOf(error)})`,
      true,
    );
  }
  active = classes[0] ?? '';
  renderDrawings();
  await fillBaseSelect();
  document.body.dataset['ready'] = 'true';
}

void start();
