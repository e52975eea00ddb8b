/**
 * Train/val split by time blocks (DESIGN.md: never by frame, so near-identical neighbouring
 * frames of a static camera do not leak between the two). Deterministic: the same window gives
 * the same split. Frames within `guardSeconds` of a train/val boundary belong to neither.
 */
export interface BlockSplit {
  /** block length actually used (shortened so short windows still get validation blocks) */
  blockSeconds: number;
  blocks: number;
  valBlocks: number[];
  guardSeconds: number;
  /** 'train' | 'val', or null for frames in a guard band */
  splitOf(t: number): 'train' | 'val' | null;
}

export function makeBlockSplit(durationSec: number, blockSeconds: number, valShare: number): BlockSplit {
  const minBlocks = Math.max(2, Math.ceil(1 / valShare));
  const dur = Math.max(durationSec, 1e-3);
  const len = Math.min(blockSeconds, dur / minBlocks);
  const blocks = Math.max(1, Math.ceil(dur / len - 1e-9));
  // Spread val blocks evenly (every 1/valShare-th block, offset half a period) rather than
  // taking the tail: a tail would hold only the end-of-window conditions.
  const isVal = (i: number): boolean => Math.floor((i + 1) * valShare + 0.5) > Math.floor(i * valShare + 0.5);
  const valBlocks: number[] = [];
  for (let i = 0; i < blocks; i++) if (isVal(i)) valBlocks.push(i);
  if (valBlocks.length === 0 && blocks > 1) valBlocks.push(blocks - 1);
  const val = new Set(valBlocks);
  const guardSeconds = Math.min(1, len * 0.1);
  const blockOf = (t: number): number => Math.min(blocks - 1, Math.max(0, Math.floor(t / len)));
  return {
    blockSeconds: len,
    blocks,
    valBlocks,
    guardSeconds,
    splitOf(t: number) {
      const b = blockOf(t);
      const mine = val.has(b);
      const start = b * len;
      const end = (b + 1) * len;
      if (b > 0 && t - start < guardSeconds && val.has(b - 1) !== mine) return null;
      if (b < blocks - 1 && end - t < guardSeconds && val.has(b + 1) !== mine) return null;
      return mine ? 'val' : 'train';
    },
  };
}
