// Reverse-mode autograd over the recorded graph: topological order from the output, then each op's
// vector-Jacobian product (defined beside its forward in src/tensor/ops/) in reverse.
import { Tensor, dispose, noGrad, tidy } from './tensor.js';
import { add } from './ops/elementwise.js';
import { onesLike, zerosLike } from './ops/creation.js';

/**
 * dL/dw for every tensor in `wrt`, where L is `output` (a scalar unless `outputGrad` is given).
 * Tensors in `wrt` that do not influence the output get zeros.
 *
 * NOTE: memory. Each op's backward runs in its own tidy(), and a gradient made here is freed as soon
 * as nothing needs it (its node's backward has run, or it was summed into another), unless a
 * gradient still held shares its storage. Without this a step would hold every gradient of every
 * activation until its end: for the vit at batch 128, as much again as the forward activations.
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
    const wanted = new Set(wrt.map((w) => w.id));
    // Gradients held in `grads` per storage: a storage is freed only when none holds it.
    const holders = new Map<unknown, number>();
    const hold = (g: Tensor, by: number): void => {
      grads.set(by, g);
      holders.set(g.data, (holders.get(g.data) ?? 0) + 1);
    };
    const drop = (by: number): Tensor | undefined => {
      const g = grads.get(by);
      if (!g) return undefined;
      grads.delete(by);
      holders.set(g.data, (holders.get(g.data) ?? 1) - 1);
      return g;
    };
    // Only tensors made here (ids after the output's; not the caller's outputGrad) that own storage.
    const release = (g: Tensor | undefined): void => {
      if (!g || g.disposed || g.id <= output.id || g === outputGrad || !g.ownsStorage) return;
      if ((holders.get(g.data) ?? 0) === 0) dispose(g);
    };
    hold(outputGrad ?? onesLike(output), output.id);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i] as Tensor;
      const node = t.node;
      const dy = grads.get(t.id);
      if (!node || !dy) continue;
      const needed = node.inputs.map((input) => input.requiresGrad);
      const inputGrads = tidy(() => node.backward(dy, needed));
      node.inputs.forEach((input, k) => {
        const g = inputGrads[k];
        if (!needed[k] || !g) return;
        if (g.shape.length !== input.shape.length || g.shape.some((d, j) => d !== input.shape[j])) {
          throw new Error(
            `gradient of '${node.op}' input ${k} has shape [${g.shape.join(', ')}], ` +
              `expected [${input.shape.join(', ')}] (a bug in the op's backward)`,
          );
        }
        const previous = drop(input.id);
        hold(previous ? add(previous, g) : g, input.id);
        if (previous) {
          release(previous);
          release(g);
        }
      });
      if (!wanted.has(t.id)) release(drop(t.id));
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
