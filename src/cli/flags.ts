// Flag value parsers shared by the commands: each rejects a bad value with one line naming the
// flag, the expected range and what was found.
import { InvalidArgumentError } from 'commander';

/** A whole number in [min, max]. */
export function integerIn(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${flag} expects a whole number from ${min}${max < 1e15 ? ` to ${max}` : ''}, found '${value}'`,
      );
    }
    return n;
  };
}

/** A finite number in [min, max], or (min, max] when exclusiveMin. */
export function numberIn(flag: string, min: number, max: number, exclusiveMin = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (exclusiveMin && n === min)) {
      throw new InvalidArgumentError(
        `${flag} expects a number in ${exclusiveMin ? '(' : '['}${min}, ${max}], found '${value}'`,
      );
    }
    return n;
  };
}
