#!/usr/bin/env node
// Builds src/sampling/grid-simd.wasm: the sampler's per-frame grid work with WebAssembly SIMD,
// 16 cells per step, each bit-identical to its plain JS version (src/sampling/grid-simd.ts runs
// those where SIMD is missing, and the tests compare the two):
//   luma_full  limited-range luma → full range in place (grid.ts LUMA_FULL: (d*2385 + 986) >> 11)
//   median     per-cell median of up to 16 grids (background.ts: index count >> 1 of the sorted values)
//   fg_list    indices of the cells whose |grid - background| > threshold (activity.ts's first pass)
// At the demo video's 96x72 grids these cost ~0.1 of the JS versions' ~30 µs a frame (range),
// ~250 µs a background update (median) and ~15 µs a frame (foreground).
//
// `node scripts/build-grid-wasm.mjs` rewrites the .wasm; `--check` only compares
// (test/unit/sampling-grid-simd.test.ts runs it).
import { fileURLToPath } from 'node:url';
import { watToWasm, writeOrCheck } from './wasm-build.mjs';

export const WASM_PATH = fileURLToPath(new URL('../src/sampling/grid-simd.wasm', import.meta.url));

const WIRES = 16;
const MEDIAN_WIRE = 8;

/** Batcher's odd-even merge sort for n (a power of two) wires: [a, b] puts the min on a, the max on b. */
function batcher(n) {
  const out = [];
  for (let p = 1; p < n; p <<= 1) {
    for (let k = p; k >= 1; k >>= 1) {
      for (let j = k % p; j <= n - 1 - k; j += 2 * k) {
        for (let i = 0; i <= Math.min(k - 1, n - j - k - 1); i++) {
          if (Math.floor((i + j) / (2 * p)) === Math.floor((i + j + k) / (2 * p))) out.push([i + j, i + j + k]);
        }
      }
    }
  }
  return out;
}

/** Only the comparators the output wire depends on (walked back from the end). */
function prune(network, wire) {
  const needed = new Set([wire]);
  const kept = [];
  for (let c = network.length - 1; c >= 0; c--) {
    const [a, b] = network[c];
    if (needed.has(a) || needed.has(b)) {
      kept.push(network[c]);
      needed.add(a);
      needed.add(b);
    }
  }
  return kept.reverse();
}

/** The network sorts: checked on every 0/1 input (the 0-1 principle), before any WAT is written. */
function assertSorts(network, n) {
  for (let m = 0; m < 1 << n; m++) {
    const v = Array.from({ length: n }, (_, i) => (m >> i) & 1);
    for (const [a, b] of network) if (v[a] > v[b]) [v[a], v[b]] = [v[b], v[a]];
    const ones = v.reduce((s, x) => s + x, 0);
    for (let i = 0; i < n; i++) if (v[i] !== (i >= n - ones ? 1 : 0)) throw new Error('not a sorting network');
  }
}

const network = batcher(WIRES);
assertSorts(network, WIRES);
const medianNet = prune(network, MEDIAN_WIRE);

const wires = Array.from({ length: WIRES }, (_, k) => k);
const bytes16 = (v) => `(v128.const i8x16 ${Array(16).fill(v).join(' ')})`;

export const WAT = `(module
  (memory (export "memory") 1)

  ;; luma_full(p, len): len bytes at p (a multiple of 16) from limited-range luma to full range, in place
  (func (export "luma_full") (param $p i32) (param $len i32)
    (local $end i32) (local $d v128) (local $lo v128) (local $hi v128)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ;; d = max(y - 16, 0), widened to 16 bits
        (local.set $d (i8x16.sub_sat_u (v128.load (local.get $p)) ${bytes16(16)}))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $d)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $d)))
        ;; (d * 2385 + 986) >> 11 in 32 bits, narrowed with saturation (the clamp at 255)
        (v128.store (local.get $p)
          (i8x16.narrow_i16x8_u
            (i16x8.narrow_i32x4_s
              (i32x4.shr_u (i32x4.add (i32x4.extmul_low_i16x8_u (local.get $lo) (i16x8.splat (i32.const 2385))) (i32x4.splat (i32.const 986))) (i32.const 11))
              (i32x4.shr_u (i32x4.add (i32x4.extmul_high_i16x8_u (local.get $lo) (i16x8.splat (i32.const 2385))) (i32x4.splat (i32.const 986))) (i32.const 11)))
            (i16x8.narrow_i32x4_s
              (i32x4.shr_u (i32x4.add (i32x4.extmul_low_i16x8_u (local.get $hi) (i16x8.splat (i32.const 2385))) (i32x4.splat (i32.const 986))) (i32.const 11))
              (i32x4.shr_u (i32x4.add (i32x4.extmul_high_i16x8_u (local.get $hi) (i16x8.splat (i32.const 2385))) (i32x4.splat (i32.const 986))) (i32.const 11)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $step))))

  ;; median(ring, stride, count, out): per byte of [0, stride) (a multiple of 16), the value at index
  ;; count >> 1 of the sorted values of the count (1..16) grids ring + k*stride. Wires past count are
  ;; padded with 8 - (count >> 1) zeros and 255s for the rest, so that index is wire ${MEDIAN_WIRE} of
  ;; ${WIRES} sorted (a pruned Batcher network: ${medianNet.length} of its ${network.length} comparators).
  (func (export "median") (param $ring i32) (param $stride i32) (param $count i32) (param $out i32)
    (local $i i32) (local $zeros i32) (local $t v128)
    ${wires.map((k) => `(local $w${k} v128)`).join(' ')}
    (local.set $zeros (i32.add (local.get $count) (i32.sub (i32.const 8) (i32.shr_u (local.get $count) (i32.const 1)))))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $stride)))
${wires
  .map(
    (k) => `        (local.set $w${k} (if (result v128) (i32.gt_u (local.get $count) (i32.const ${k}))
          (then (v128.load (i32.add (local.get $ring) (i32.add (i32.mul (local.get $stride) (i32.const ${k})) (local.get $i)))))
          (else (if (result v128) (i32.gt_u (local.get $zeros) (i32.const ${k})) (then ${bytes16(0)}) (else ${bytes16(255)})))))`,
  )
  .join('\n')}
${medianNet
  .map(
    ([a, b]) =>
      `        (local.set $t (local.get $w${a})) (local.set $w${a} (i8x16.min_u (local.get $t) (local.get $w${b}))) (local.set $w${b} (i8x16.max_u (local.get $t) (local.get $w${b})))`,
  )
  .join('\n')}
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $w${MEDIAN_WIRE}))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))

  ;; fg_list(grid, bg, len, threshold, list): writes, as i32 at list, the indices i < len (a multiple
  ;; of 16) where |grid[i] - bg[i]| > threshold, in order; returns how many
  (func (export "fg_list") (param $grid i32) (param $bg i32) (param $len i32) (param $thr i32) (param $list i32) (result i32)
    (local $i i32) (local $n i32) (local $a v128) (local $b v128) (local $bits i32) (local $limit v128)
    (local.set $limit (i8x16.splat (local.get $thr)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $a (v128.load (i32.add (local.get $grid) (local.get $i))))
        (local.set $b (v128.load (i32.add (local.get $bg) (local.get $i))))
        (local.set $bits (i8x16.bitmask (i8x16.gt_u
          (v128.or (i8x16.sub_sat_u (local.get $a) (local.get $b)) (i8x16.sub_sat_u (local.get $b) (local.get $a)))
          (local.get $limit))))
        (block $none
          (loop $each
            (br_if $none (i32.eqz (local.get $bits)))
            (i32.store (i32.add (local.get $list) (i32.shl (local.get $n) (i32.const 2)))
              (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (br $each)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step)))
    (local.get $n))
)
`;

export async function buildWasm() {
  return watToWasm('grid-simd.wat', WAT);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeOrCheck(WASM_PATH, await buildWasm(), 'scripts/build-grid-wasm.mjs');
}
