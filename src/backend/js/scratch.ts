// Reusable float64 scratch buffers for kernels (packed matmul panels, im2col chunks, float64
// accumulators). JS runs one kernel at a time, so one buffer per slot is enough; each grows to
// the largest size asked for and is never handed out of the kernel that took it.
// NOTE: contents are stale between uses; every user writes before it reads.
const slots = new Map<string, Float64Array>();

/** A float64 buffer of at least `size` elements for `slot` (one name per concurrent use). */
export function scratch(slot: string, size: number): Float64Array {
  let buffer = slots.get(slot);
  if (!buffer || buffer.length < size) {
    buffer = new Float64Array(Math.max(size, 64));
    slots.set(slot, buffer);
  }
  return buffer;
}
