// Dropout on wasm (wasm/src/dropout.c): the js kernel's mask from the caller's xoshiro128** words,
// bit for bit; the four words are advanced in place.
import { checkDropout } from '../js/dropout.js';
import { withFrame, type WasmContext } from './context.js';

export function dropout(
  ctx: WasmContext,
  x: Float32Array,
  state: Uint32Array,
  attrs: { rate: number },
): { y: Float32Array; mask: Float32Array } {
  checkDropout(x, state, attrs);
  const keep = 1 - attrs.rate;
  const mask = ctx.alloc('float32', x.length);
  const y = ctx.alloc('float32', x.length);
  withFrame(ctx, (f) => {
    ctx.exports.dropout(f.input(x), f.output(y), f.output(mask), x.length, f.inout(state), keep, 1 / keep);
  });
  return { y, mask };
}
