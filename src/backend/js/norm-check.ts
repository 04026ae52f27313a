// Shared argument checks for the normalisation kernels over an [outer, size] view.
import type { FloatStorage, NormAttrs } from '../kernels.js';

export function checkNorm(
  kernel: string,
  attrs: NormAttrs,
  rows: FloatStorage[],
  perSize: FloatStorage[],
  perOuter: FloatStorage[] = [],
): void {
  const { outer, size } = attrs;
  const check = (x: FloatStorage, expected: number, what: string): void => {
    if (x.length !== expected)
      throw new Error(
        `${kernel}: ${what} has ${x.length} elements, expected ${expected} (outer ${outer}, size ${size})`,
      );
  };
  for (const x of rows) check(x, outer * size, 'a row operand');
  for (const x of perSize) check(x, size, 'a per-feature operand');
  for (const x of perOuter) check(x, outer, 'a per-row operand');
}
