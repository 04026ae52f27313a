// Tensor: a shape, a dtype and backend-owned storage, plus the autograd link to the op that made it.
// Memory: a tensor made inside `tidy` gives its storage back to the backend's pool when the tidy
// ends, unless it is returned or kept; parameters and tensors made outside any tidy live until
// garbage collection. Users of fit/evaluate/predict never dispose anything by hand.
import type { DType, Shape, Storage } from '../backend/kernels.js';
import { dtypeOf } from '../backend/kernels.js';
import { noteHostRead, release } from './dispatch.js';

/** How a tensor was made: its inputs and the vector-Jacobian product of the op. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /**
   * Given dL/d(output), returns dL/d(input) for each input (null where the input needs no
   * gradient). `needed[i]` says whether input i needs one, so costly products can be skipped.
   */
  backward(dy: Tensor, needed: readonly boolean[]): readonly (Tensor | null)[];
}

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /** True when gradients flow to this tensor (parameters, and results of ops on them). */
  requiresGrad = false;
  /** The op that made this tensor, when it was recorded for autograd. */
  node: GradNode | null = null;
  /** Optional name, used in error messages and checkpoints. */
  name: string | undefined;
  private storage: Storage | null;
  /** False for views (reshape) that share another tensor's storage: tidy never frees through them. */
  readonly ownsStorage: boolean;

  constructor(storage: Storage, shape: Shape, ownsStorage = true) {
    const size = shapeSize(shape);
    if (storage.length !== size) {
      throw new Error(
        `tensor storage has ${storage.length} elements, shape [${shape.join(', ')}] needs ${size}`,
      );
    }
    this.storage = storage;
    this.shape = shape;
    this.dtype = dtypeOf(storage);
    this.size = size;
    this.ownsStorage = ownsStorage;
    track(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** The backing storage (zero-copy; do not write to it unless you own the tensor). */
  get data(): Storage {
    if (this.storage === null) {
      throw new Error(
        `tensor ${this.name ?? '#' + this.id} [${this.shape.join(', ')}] was freed when its tidy() ended; ` +
          'return it from the tidy callback or keep() it to use it afterwards',
      );
    }
    return this.storage;
  }

  /** A copy of the values as a plain array. */
  toArray(): number[] {
    noteHostRead(this.data);
    return Array.from(this.data);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new Error(`item() needs a one-element tensor, found shape [${this.shape.join(', ')}]`);
    noteHostRead(this.data);
    return this.data[0] as number;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }

  /** @internal Releases the storage (called by tidy). */
  releaseStorage(): Storage | null {
    const storage = this.storage;
    this.storage = null;
    return storage;
  }
}

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

// ---- scopes: deterministic freeing of intermediate storage ----

interface Scope {
  tensors: Tensor[];
}

const scopes: Scope[] = [];
const kept = new WeakSet<Tensor>();

function track(tensor: Tensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.tensors.push(tensor);
}

/** Marks a tensor to survive the enclosing tidy() (like tf.keep). */
export function keep<T extends Tensor>(tensor: T): T {
  kept.add(tensor);
  return tensor;
}

/**
 * Runs `fn` and frees the storage of every tensor made inside it, except the tensors it returns
 * (a tensor, an array or an object of tensors) and those passed to keep(). Nested tidies free into
 * their parent: a result survives its own tidy and belongs to the enclosing one.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const survivors = new Set<Storage>();
  const parent = scopes[scopes.length - 1];
  const keepTensor = (t: Tensor): void => {
    if (!t.disposed) survivors.add(t.data);
    if (parent) parent.tensors.push(t);
  };
  collectTensors(result, keepTensor);
  for (const t of scope.tensors) {
    if (kept.has(t) && !t.disposed) {
      survivors.add(t.data);
      if (parent) parent.tensors.push(t);
    }
  }
  // Free what this scope allocated and nothing survivors use; then mark every tensor of the scope
  // (views included) whose storage went back to the pool as freed.
  const released = new Set<Storage>();
  for (const t of scope.tensors) {
    if (!t.ownsStorage || t.disposed) continue;
    const storage = t.data;
    if (survivors.has(storage) || released.has(storage)) continue;
    released.add(storage);
    release(storage);
  }
  for (const t of scope.tensors) {
    if (!t.disposed && released.has(t.data)) t.releaseStorage();
  }
  return result;
}

function collectTensors(value: unknown, visit: (t: Tensor) => void): void {
  if (value instanceof Tensor) visit(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, visit);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, visit);
  // Typed arrays and buffers hold numbers only; walking their elements would cost O(length).
  else if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) collectTensors(v, visit);
  }
}

/** Frees a tensor's storage now. Only for tensors you made and nothing else shares. */
export function dispose(tensor: Tensor): void {
  const storage = tensor.releaseStorage();
  if (storage) release(storage);
}

/** Number of open tidy scopes (for tests and diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}

// ---- gradient recording ----

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording ops for autograd (inference, optimizer updates, backward itself). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Makes a tensor from backend storage, recording `node` when gradients flow through it. */
export function fromKernel(storage: Storage, shape: Shape, node?: GradNode, ownsStorage = true): Tensor {
  const out = new Tensor(storage, shape, ownsStorage);
  if (node && gradEnabled && node.inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = node;
  }
  return out;
}
