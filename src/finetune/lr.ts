// Discriminative learning rates: a multiplier per layer or layer group, given to the optimizer as
// per-parameter multipliers (SlotOptimizer.lrMultipliers). Pure and browser-safe.
//   '--lr-mult conv*=0.1,dense*=1'   glob or index-range selectors (select.ts) = multiplier
// Layers matched by no group keep multiplier 1; a layer matched twice takes the last group's.
import { SlotOptimizer } from '../optim/slot-optimizer.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Model } from '../train/model.js';
import { selectLayers } from './select.js';

export interface LrGroup {
  /** A layer selector (select.ts): name, glob or index range. */
  layers: string;
  multiplier: number;
}

/** 'conv*=0.1,4-6=0.5' -> groups. Throws a one-line error naming the bad part. */
export function parseLrGroups(spec: string): LrGroup[] {
  const groups: LrGroup[] = [];
  // Commas separate groups; a selector itself may hold commas only inside one group's name list,
  // so split on commas that follow a number (the end of '=<multiplier>').
  for (const part of spec.split(/(?<==[-+.\deE]+)\s*,\s*/)) {
    const match = /^(.+)=([-+.\deE]+)$/.exec(part.trim());
    const multiplier = match ? Number(match[2]) : NaN;
    if (!match || !Number.isFinite(multiplier) || multiplier < 0) {
      throw new Error(
        `--lr-mult expects PATTERN=MULTIPLIER groups like 'conv*=0.1,dense*=1', found '${part.trim()}'`,
      );
    }
    groups.push({ layers: (match[1] as string).trim(), multiplier });
  }
  return groups;
}

/** Multiplier per weight tensor of the model (every weight of a matched layer and its sublayers). */
export function lrMultipliersFor(model: Model, groups: readonly LrGroup[]): Map<Tensor, number> {
  const multipliers = new Map<Tensor, number>();
  for (const group of groups) {
    for (const layer of selectLayers(model, group.layers)) {
      for (const w of layer.weights) multipliers.set(w.value, group.multiplier);
    }
  }
  return multipliers;
}

/**
 * Multipliers that grow geometrically from `lowest` on the first layer with weights to 1 on the
 * last (fastai's "slice(lr/100, lr)" spread), one group per layer.
 */
export function spreadLrGroups(model: Model, lowest: number): LrGroup[] {
  const weighted = model.layers.filter((l) => l.weights.length > 0);
  const n = weighted.length;
  return weighted.map((layer, i) => ({
    layers: layer.name,
    multiplier: n === 1 ? 1 : lowest ** ((n - 1 - i) / (n - 1)),
  }));
}

/** Sets the optimizer's per-parameter multipliers; only SlotOptimizers support them. */
export function applyLrMultipliers(optimizer: Optimizer, multipliers: Map<Tensor, number>): void {
  if (!(optimizer instanceof SlotOptimizer)) {
    throw new Error(
      `${optimizer.className} does not support per-layer learning rates; use adam, adamw, sgd or rmsprop`,
    );
  }
  optimizer.lrMultipliers = multipliers;
}
