// Gather (embedding lookup): out (n, width) with row i = table[indices[i]], table (rows, width),
// indices (n) int32, all row-major. An index outside [0, rows) is an error, not a clamp.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';

export function gather(
  alloc: Allocator,
  table: FloatStorage,
  indices: Int32Array,
  attrs: { rows: number; width: number },
): FloatStorage {
  checkGather('Gather', table, 'table', attrs, indices);
  const { width } = attrs;
  const out = allocLike(alloc, table, indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const from = (indices[i] as number) * width;
    out.set(table.subarray(from, from + width), i * width);
  }
  return out;
}

/** Throws unless `data` holds rows x width values and every index names a row. */
export function checkGather(
  kernel: string,
  data: FloatStorage,
  what: string,
  attrs: { rows: number; width: number },
  indices: Int32Array,
  expectedLength = attrs.rows * attrs.width,
): void {
  if (data.length !== expectedLength) {
    throw new Error(
      `${kernel}: ${what} has ${data.length} elements, expected ${expectedLength} (rows ${attrs.rows}, width ${attrs.width}, ${indices.length} indices)`,
    );
  }
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] as number;
    if (!(index >= 0 && index < attrs.rows)) {
      throw new Error(`${kernel}: index ${index} at position ${i} is outside [0, ${attrs.rows})`);
    }
  }
}
