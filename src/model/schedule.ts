import { UserError } from '../errors.js';

/**
 * Shift schedules (SPEC §3): which earlier token each HSM layer (and head)
 * reads. Layers are counted among the HSM layers only, so attention layers in
 * a hybrid do not interrupt the 1, 2, 4, … progression [ours].
 */
export type ShiftSchedule = 'pow2' | 'pow2-heads' | number[] | number[][];

/** K = ⌈log2(context)⌉: with K pow2 layers every offset 0…context−1 is reachable. */
export function pow2Levels(context: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(2, context))));
}

/** A plan with "{levels}" written out as pow2Levels(context): "hsm:pair*{levels}" covers the context at any length. */
export function resolveLevels(plan: string, context: number): string {
  return plan.replaceAll('{levels}', String(pow2Levels(context)));
}

/** Shifts of HSM layer `l` (0-based among HSM layers), one per head group. */
export function layerShifts(schedule: ShiftSchedule, l: number, groups: number, context: number): number[] {
  const K = pow2Levels(context);
  if (schedule === 'pow2') return Array(groups).fill(2 ** (l % K));
  if (schedule === 'pow2-heads') return Array.from({ length: groups }, (_, h) => 2 ** ((l * groups + h) % K));
  const entry = schedule[l];
  if (entry === undefined)
    throw new UserError(
      `shift schedule lists ${schedule.length} layers but the plan has more HSM layers; give one entry per HSM layer`,
    );
  const shifts = Array.isArray(entry) ? entry : Array(groups).fill(entry);
  if (shifts.length !== groups)
    throw new UserError(`shift schedule entry ${l} has ${shifts.length} shifts for ${groups} head groups`);
  for (const s of shifts) {
    if (!Number.isInteger(s) || s < 1)
      throw new UserError(`shift schedule entry ${l}: shifts must be positive integers, got ${s}`);
  }
  return shifts;
}

/**
 * Which offsets t−u (0 ≤ t−u < context) information can travel through a
 * stack of layers. Each layer is given as the offsets one application can add
 * ("all" for attention). Returns reach[d] = true when offset d is reachable.
 */
export function reachableOffsets(layers: (number[] | 'all')[], context: number): boolean[] {
  let reach = Array(context).fill(false);
  reach[0] = true;
  for (const offsets of layers) {
    if (offsets === 'all') return Array(context).fill(true);
    const next = [...reach];
    for (let d = 0; d < context; d++) {
      if (!reach[d]) continue;
      for (const o of offsets) if (d + o < context) next[d + o] = true;
    }
    reach = next;
  }
  return reach;
}

/** Receptive field: 1 + the largest reachable offset; `complete` when every offset is reachable. */
export function receptiveField(layers: (number[] | 'all')[], context: number): { field: number; complete: boolean } {
  const reach = reachableOffsets(layers, context);
  return { field: reach.lastIndexOf(true) + 1, complete: reach.every(Boolean) };
}
