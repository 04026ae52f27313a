// A tiny seeded generator for conformance inputs (mulberry32): same seed, same numbers, on every
// backend and every run.
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * `size` values uniform in [lo, hi), rounded to float32 so float32 and float64 runs (and the
   * float64 reference) see exactly the same inputs.
   */
  uniform(size: number, lo = -1, hi = 1): Float64Array {
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.fround(lo + (hi - lo) * this.next());
    return out;
  }

  /** `size` integers uniform in [0, n). */
  integers(size: number, n: number): number[] {
    return Array.from({ length: size }, () => Math.floor(this.next() * n));
  }
}
