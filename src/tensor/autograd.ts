// Reverse-mode autograd over the recorded graph: topological order from the output, then each op's
// vector-Jacobian product (defined beside its forward in src/tensor/ops/) in reverse.
import { Tensor, noGrad } from './tensor.js';
import { add } from './ops/elementwise.js';
import { onesLike, zerosLike } from './ops/creation.js';

/**
 * dL/dw for every tensor in `wrt`, where L is `output` (a scalar unless `outputGrad` is given).
 * Tensors in `wrt` that do not influence the output get zeros.
 */
export function gradients(output: Tensor, wrt: readonly Tensor[], outputGrad?: Tensor): Tensor[] {
  if (outputGrad === undefined && output.size !== 1) {
    throw new Error(
      `gradients() of a tensor of shape [${output.shape.join(', ')}] needs an outputGrad; give a scalar loss`,
    );
  }
  return noGrad(() => {
    const order = topologicalOrder(output);
    const grads = new Map<number, Tensor>();
    grads.set(output.id, outputGrad ?? onesLike(output));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i] as Tensor;
      const node = t.node;
      const dy = grads.get(t.id);
      if (!node || !dy) continue;
      const needed = node.inputs.map((input) => input.requiresGrad);
      const inputGrads = node.backward(dy, needed);
      node.inputs.forEach((input, k) => {
        const g = inputGrads[k];
        if (!needed[k] || !g) return;
        if (g.shape.length !== input.shape.length || g.shape.some((d, j) => d !== input.shape[j])) {
          throw new Error(
            `gradient of '${node.op}' input ${k} has shape [${g.shape.join(', ')}], ` +
              `expected [${input.shape.join(', ')}] (a bug in the op's backward)`,
          );
        }
        const previous = grads.get(input.id);
        grads.set(input.id, previous ? add(previous, g) : g);
      });
    }
    return wrt.map((w) => grads.get(w.id) ?? zerosLike(w));
  });
}

/** Tensors reachable from `output` through recorded ops, inputs before the tensors made from them. */
function topologicalOrder(output: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<number>();
  // Iterative DFS: deep graphs (long residual stacks) must not overflow the call stack.
  const stack: { tensor: Tensor; next: number }[] = [{ tensor: output, next: 0 }];
  visited.add(output.id);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as { tensor: Tensor; next: number };
    const inputs = frame.tensor.node?.inputs ?? [];
    if (frame.next < inputs.length) {
      const input = inputs[frame.next++] as Tensor;
      if (input.requiresGrad && !visited.has(input.id)) {
        visited.add(input.id);
        stack.push({ tensor: input, next: 0 });
      }
    } else {
      order.push(frame.tensor);
      stack.pop();
    }
  }
  return order;
}
