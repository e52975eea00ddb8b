/**
 * Budgeted coverage over time: the window is cut into as many slots as the budget and each slot
 * offers its most active frame, so the selection spreads over the whole window instead of
 * piling onto its busiest minute. A second, coarser set of slots offers frames with nothing
 * moving. selectFinal() then trims both to the budget and the empty share.
 */
export interface Candidate {
  index: number;
  t: number;
  score: number;
  empty: boolean;
}

/** k items of `items` evenly spread over its order (deterministic). */
export function evenPick<T>(items: readonly T[], k: number): T[] {
  const n = items.length;
  if (k >= n) return [...items];
  if (k <= 0) return [];
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(items[Math.min(n - 1, Math.floor(((i + 0.5) * n) / k))]!);
  return out;
}

export function slotCounts(budget: number, emptyShare: number): { moving: number; empty: number } {
  const emptyTarget = Math.round(budget * emptyShare);
  // twice the empty target, so duplicates and guard bands still leave enough to choose from
  return { moving: budget, empty: emptyShare > 0 ? Math.max(1, 2 * emptyTarget) : 0 };
}

export function slotOf(index: number, slots: number, expectedFrames: number): number {
  if (slots <= 0) return -1;
  return Math.min(slots - 1, Math.floor((index * slots) / Math.max(1, expectedFrames)));
}

/** Final selection: about emptyShare of the budget empty, the rest moving; either fills the other's shortfall. */
export function selectFinal<T extends Candidate>(moving: readonly T[], empty: readonly T[], budget: number, emptyShare: number): T[] {
  let emptyTarget = Math.min(empty.length, Math.round(budget * emptyShare));
  const movingTarget = Math.min(moving.length, budget - emptyTarget);
  emptyTarget = Math.min(empty.length, budget - movingTarget);
  const byTime = (a: T, b: T): number => a.index - b.index;
  const m = evenPick([...moving].sort(byTime), movingTarget);
  const e = evenPick([...empty].sort(byTime), emptyTarget);
  return [...m, ...e].sort(byTime);
}
