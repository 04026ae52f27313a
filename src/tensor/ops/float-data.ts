// The one check every float op makes on its operands, below the op files so each can import it.
import type { FloatStorage } from '../../backend/kernels.js';
import type { Tensor } from '../tensor.js';

/** The float storage of `t`; ops take float tensors only. */
export function floatData(t: Tensor, op: string): FloatStorage {
  if (t.dtype === 'int32') {
    throw new Error(`${op}: expected a float tensor, found int32 [${t.shape.join(', ')}] (cast it first)`);
  }
  return t.data as FloatStorage;
}
