// A small seedable pseudo-random generator shared by data splits, shuffling, augmentation, weight
// initialisation and dropout. Pure TypeScript (runs in a browser too).
//
// Algorithm: xoshiro128** (Blackman & Vigna), 128 bits of state, period 2^128 - 1, 32-bit outputs.
// Seeds are expanded into the state with splitmix32 so that nearby seeds (0, 1, 2...) give
// unrelated streams. The full state, including the cached second normal deviate, can be saved with
// state() and restored with Random.fromState(), so a checkpoint resumes the exact same stream.

/** Everything needed to resume a generator exactly; plain JSON. */
export interface RandomState {
  algorithm: 'xoshiro128**';
  /** The four 32-bit state words, as unsigned integers. */
  words: [number, number, number, number];
  /** The second deviate of the last Box-Muller pair, not yet returned by normal(). */
  spareNormal: number | null;
}

const TWO_POW_32 = 4294967296;

/** splitmix32: a bijective 32-bit mixer, used only to expand seeds into state. */
function splitmix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /**
   * A generator seeded from one or more numbers. Extra numbers name independent streams of the same
   * seed: `new Random(seed, epoch)` differs from `new Random(seed, epoch + 1)` and from
   * `new Random(seed)`. Seeds may be any finite number (integers up to 2^53 keep all their bits).
   */
  constructor(seed: number, ...streams: number[]) {
    let h = 0x6a09e667;
    for (const part of [seed, ...streams]) {
      if (!Number.isFinite(part)) throw new RangeError(`Random: seed must be a finite number, got ${part}`);
      const integer = Math.trunc(part);
      const low = integer >>> 0;
      const high = Math.floor(integer / TWO_POW_32) >>> 0;
      h = splitmix32(h ^ low);
      h = splitmix32(h ^ high);
    }
    this.s0 = h = splitmix32(h);
    this.s1 = h = splitmix32(h);
    this.s2 = h = splitmix32(h);
    this.s3 = splitmix32(h);
    // NOTE: the all-zero state is the one state xoshiro cannot leave.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Restores a generator saved with state(). */
  static fromState(state: RandomState): Random {
    if (state.algorithm !== 'xoshiro128**' || state.words.length !== 4) {
      throw new Error(
        `Random.fromState: expected an xoshiro128** state of 4 words, found ${JSON.stringify(state)}`,
      );
    }
    if (state.words.every((word) => word >>> 0 === 0)) {
      throw new Error('Random.fromState: the all-zero state is invalid for xoshiro128**');
    }
    const random = new Random(0);
    [random.s0, random.s1, random.s2, random.s3] = state.words.map((word) => word >>> 0) as [
      number,
      number,
      number,
      number,
    ];
    random.spareNormal = state.spareNormal;
    return random;
  }

  /** A copy of the current state; the generator keeps running independently of it. */
  state(): RandomState {
    return {
      algorithm: 'xoshiro128**',
      words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spareNormal: this.spareNormal,
    };
  }

  /**
   * Copies the four state words into `out`, so a kernel can draw from this stream (Kernels.Dropout);
   * loadWords() then continues the generator from where the kernel stopped.
   */
  saveWords(out: Uint32Array): void {
    out[0] = this.s0;
    out[1] = this.s1;
    out[2] = this.s2;
    out[3] = this.s3;
  }

  /** Sets the four state words (as saveWords wrote them, then advanced); spareNormal is kept. */
  loadWords(words: Uint32Array): void {
    if (words.length !== 4 || (words[0]! | words[1]! | words[2]! | words[3]!) === 0) {
      throw new Error('Random.loadWords: expected 4 xoshiro128** state words, not all zero');
    }
    [this.s0, this.s1, this.s2, this.s3] = [words[0]!, words[1]!, words[2]!, words[3]!];
  }

  /** A new generator that continues from this one's current state. */
  clone(): Random {
    return Random.fromState(this.state());
  }

  /** The next 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float uniformly distributed in [0, 1), with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A float uniformly distributed in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** An integer uniformly distributed in [0, n), without modulo bias; 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Random.nextInt: expected an integer n in [1, 2^32], got ${n}`);
    }
    // NOTE: reject the top partial block of 2^32 so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let value = this.nextUint32();
    while (value >= limit) value = this.nextUint32();
    return value % n;
  }

  /** A standard normal deviate (mean 0, standard deviation 1), Box-Muller in polar-free form. */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    // NOTE: 1 - u lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.nextFloat()));
    const angle = 2 * Math.PI * this.nextFloat();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [index: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = array[i];
      array[i] = array[j];
      array[j] = swap;
    }
    return array;
  }

  /** The integers 0..n-1 in a random order. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}
