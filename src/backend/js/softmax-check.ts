// Shared argument checks for the softmax kernels (rows of `size` over an [outer, size] view).
import type { FloatStorage } from '../kernels.js';

export function checkRows(
  kernel: string,
  attrs: { outer: number; size: number },
  ...xs: FloatStorage[]
): void {
  const expected = attrs.outer * attrs.size;
  for (const x of xs) {
    if (x.length !== expected) {
      throw new Error(
        `${kernel}: expected ${attrs.outer} rows of ${attrs.size} (${expected} elements), found ${x.length}`,
      );
    }
  }
}
