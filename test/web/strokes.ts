// A deterministic stroke generator for the browser tests: hand-drawn-looking symbols on the 280x280
// drawing pad, each example a different but reproducible variation (scale, slant, position, length
// of each stroke, wobble of each point) from a seeded generator. The same seed draws the same strokes.

/** Strokes of one symbol in pad pixels: each stroke is a polyline. */
export type Strokes = [number, number][][];

/** The symbols the tests teach, as strokes around the pad's centre (140, 140). */
export const SYMBOLS: Readonly<Record<string, Strokes>> = {
  '+': [
    [
      [60, 140],
      [140, 140],
      [220, 140],
    ],
    [
      [140, 60],
      [140, 140],
      [140, 220],
    ],
  ],
  '-': [
    [
      [50, 140],
      [140, 140],
      [230, 140],
    ],
  ],
  '×': [
    [
      [75, 75],
      [140, 140],
      [205, 205],
    ],
    [
      [205, 75],
      [140, 140],
      [75, 205],
    ],
  ],
};

/** mulberry32: a small seeded generator of floats in [0, 1). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Example `index` of `symbol` under `seed`: the symbol scaled by 0.75-1.05, rotated by up to 12
 * degrees, moved by up to 25 px, each stroke's ends moved by up to 12 px and every point by up to
 * 5 px; points are kept inside the pad.
 */
export function strokesOf(symbol: string, index: number, seed = 1): Strokes {
  const shape = SYMBOLS[symbol];
  if (!shape)
    throw new Error(`strokesOf: no symbol '${symbol}' (expected one of ${Object.keys(SYMBOLS).join(' ')})`);
  const random = generator(seed * 1_000_003 + index * 7919 + symbol.codePointAt(0)!);
  const between = (low: number, high: number) => low + (high - low) * random();
  const scale = between(0.75, 1.05);
  const angle = (between(-12, 12) * Math.PI) / 180;
  const [dx, dy] = [between(-25, 25), between(-25, 25)];
  const clamp = (v: number) => Math.min(266, Math.max(14, v));
  return shape.map((stroke) =>
    stroke.map(([x, y], i) => {
      const end = i === 0 || i === stroke.length - 1 ? 12 : 5;
      const px = (x - 140) * scale + between(-end, end);
      const py = (y - 140) * scale + between(-end, end);
      return [
        clamp(140 + dx + px * Math.cos(angle) - py * Math.sin(angle)),
        clamp(140 + dy + px * Math.sin(angle) + py * Math.cos(angle)),
      ];
    }),
  );
}
