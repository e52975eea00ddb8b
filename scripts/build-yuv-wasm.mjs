#!/usr/bin/env node
// Builds src/video/yuv420p-rgb24.wasm: yuv420p → rgb24 with WebAssembly SIMD, 16 pixels of two
// rows per step, bit-identical to yuv420pToRgb() in src/video/decode.ts (same 16.16 fixed-point
// terms; the saturating narrows do its 0..255 clamp). The JS version costs ~1.3 ms a 768x576 frame,
// which is most of what a kept frame costs the sampler.
//
// The WAT below is the source; its repetitive parts (four lanes of four pixels) are spelled out
// by small loops. `node scripts/build-yuv-wasm.mjs` rewrites the .wasm; `--check` only compares
// (test/unit/video-yuv-wasm.test.ts runs it, so the committed binary cannot drift from this file).
import { fileURLToPath } from 'node:url';
import { watToWasm, writeOrCheck } from './wasm-build.mjs';

export const WASM_PATH = fileURLToPath(new URL('../src/video/yuv420p-rgb24.wasm', import.meta.url));

const lanes = [0, 1, 2, 3];
const shuffle = (idx, a, b) => `(i8x16.shuffle ${idx.join(' ')} ${a} ${b})`;
const splat = (n) => `(i32x4.splat (i32.const ${n}))`;
// 16 bytes as four i32x4 (pixels 0-3, 4-7, 8-11, 12-15), unsigned
const widen = (v, k) =>
  `(i32x4.extend_${k % 2 ? 'high' : 'low'}_i16x8_s (i16x8.extend_${k < 2 ? 'low' : 'high'}_i8x16_u ${v}))`;

/** One row of 16 pixels: Y at $yp, rgb24 to $op, chroma terms in locals $rv*, $g*, $bu*. */
const row = (yp, op) => `
      (local.set $yy (v128.load (local.get ${yp})))
${lanes.map((k) => `      (local.set $l${k} (i32x4.mul (i32x4.sub ${widen('(local.get $yy)', k)} ${splat(16)}) ${splat(76309)}))`).join('\n')}
      (local.set $r (i8x16.narrow_i16x8_u
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l0) (local.get $rv0)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l1) (local.get $rv1)) (i32.const 16)))
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l2) (local.get $rv2)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l3) (local.get $rv3)) (i32.const 16)))))
      (local.set $g (i8x16.narrow_i16x8_u
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l0) (local.get $g0)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l1) (local.get $g1)) (i32.const 16)))
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l2) (local.get $g2)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l3) (local.get $g3)) (i32.const 16)))))
      (local.set $b (i8x16.narrow_i16x8_u
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l0) (local.get $bu0)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l1) (local.get $bu1)) (i32.const 16)))
        (i16x8.narrow_i32x4_s (i32x4.shr_s (i32x4.add (local.get $l2) (local.get $bu2)) (i32.const 16)) (i32x4.shr_s (i32x4.add (local.get $l3) (local.get $bu3)) (i32.const 16)))))
      ;; interleave: r0 g0 r1 g1 ... then b slotted in, 48 bytes
      (local.set $rglo ${shuffle([0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23], '(local.get $r)', '(local.get $g)')})
      (local.set $rghi ${shuffle([8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31], '(local.get $r)', '(local.get $g)')})
      (v128.store offset=0 (local.get ${op}) ${shuffle([0, 1, 16, 2, 3, 17, 4, 5, 18, 6, 7, 19, 8, 9, 20, 10], '(local.get $rglo)', '(local.get $b)')})
      (v128.store offset=16 (local.get ${op}) ${shuffle(
        [0, 21, 1, 2, 22, 3, 4, 23, 5, 6, 24, 7, 8, 25, 9, 10],
        shuffle([11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 0, 0, 0, 0, 0], '(local.get $rglo)', '(local.get $rghi)'),
        '(local.get $b)',
      )})
      (v128.store offset=32 (local.get ${op}) ${shuffle([26, 6, 7, 27, 8, 9, 28, 10, 11, 29, 12, 13, 30, 14, 15, 31], '(local.get $rghi)', '(local.get $b)')})`;

const bytes16 = (v) => `(v128.const i8x16 ${Array(16).fill(v).join(' ')})`;
/** 16 lanes (two i16x8, signed) → ((v * mul + add) >> shift) + offset in 32 bits, narrowed to u8 with saturation (the clamp). */
const narrowScaled = (lo, hi, mul, add, shift, offset) => {
  const part = (half, v) =>
    `(i32x4.add (i32x4.shr_s (i32x4.add (i32x4.extmul_${half}_i16x8_s (local.get ${v}) (i16x8.splat (i32.const ${mul}))) (i32x4.splat (i32.const ${add}))) (i32.const ${shift})) (i32x4.splat (i32.const ${offset})))`;
  return `(i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s ${part('low', lo)} ${part('high', lo)}) (i16x8.narrow_i32x4_s ${part('low', hi)} ${part('high', hi)}))`;
};

export const WAT = `(module
  (memory (export "memory") 1)
  ;; convert(y, u, v, out, width, cw, rows, cols): rows [0, rows) (even) and columns [0, cols)
  ;; (a multiple of 16) of a yuv420p frame whose planes start at y, u, v (luma stride width,
  ;; chroma stride cw) into rgb24 at out (stride 3*width). The caller does the edges.
  (func (export "convert") (param $y i32) (param $u i32) (param $v i32) (param $out i32)
        (param $width i32) (param $cw i32) (param $rows i32) (param $cols i32)
    (local $row i32) (local $x i32) (local $c i32) (local $ya i32) (local $yb i32) (local $oa i32) (local $ob i32)
    (local $uu v128) (local $vv v128) (local $yy v128) (local $r v128) (local $g v128) (local $b v128)
    (local $rglo v128) (local $rghi v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $rv0 v128) (local $rv1 v128) (local $rv2 v128) (local $rv3 v128)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local $bu0 v128) (local $bu1 v128) (local $bu2 v128) (local $bu3 v128)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $x (i32.const 0))
        (block $rowdone
          (loop $cols
            (br_if $rowdone (i32.ge_u (local.get $x) (local.get $cols)))
            (local.set $c (i32.add (i32.mul (i32.shr_u (local.get $row) (i32.const 1)) (local.get $cw)) (i32.shr_u (local.get $x) (i32.const 1))))
            ;; 8 chroma samples, each doubled to cover 16 pixels
            (local.set $uu ${shuffle([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7], '(v128.load64_zero (i32.add (local.get $u) (local.get $c)))', '(local.get $uu)')})
            (local.set $vv ${shuffle([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7], '(v128.load64_zero (i32.add (local.get $v) (local.get $c)))', '(local.get $vv)')})
${lanes.map((k) => `            (local.set $u${k} (i32x4.sub ${widen('(local.get $uu)', k)} ${splat(128)}))`).join('\n')}
${lanes.map((k) => `            (local.set $v${k} (i32x4.sub ${widen('(local.get $vv)', k)} ${splat(128)}))`).join('\n')}
            ;; R = 1.164(Y-16) + 1.596V, G = 1.164(Y-16) - 0.392U - 0.813V, B = 1.164(Y-16) + 2.017U (16.16, rounding folded in)
${lanes.map((k) => `            (local.set $rv${k} (i32x4.add (i32x4.mul (local.get $v${k}) ${splat(104597)}) ${splat(32768)}))`).join('\n')}
${lanes.map((k) => `            (local.set $g${k} (i32x4.add (i32x4.add (i32x4.mul (local.get $u${k}) ${splat(-25675)}) (i32x4.mul (local.get $v${k}) ${splat(-53279)})) ${splat(32768)}))`).join('\n')}
${lanes.map((k) => `            (local.set $bu${k} (i32x4.add (i32x4.mul (local.get $u${k}) ${splat(132201)}) ${splat(32768)}))`).join('\n')}
            (local.set $ya (i32.add (local.get $y) (i32.add (i32.mul (local.get $row) (local.get $width)) (local.get $x))))
            (local.set $yb (i32.add (local.get $ya) (local.get $width)))
            (local.set $oa (i32.add (local.get $out) (i32.mul (i32.sub (local.get $ya) (local.get $y)) (i32.const 3))))
            (local.set $ob (i32.add (local.get $oa) (i32.mul (local.get $width) (i32.const 3))))
${row('$ya', '$oa')}
${row('$yb', '$ob')}
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $cols)))
        (local.set $row (i32.add (local.get $row) (i32.const 2)))
        (br $rows))))

  ;; to_jfif(y, ylen, c, clen): a yuv420p frame's planes from limited (video) to full (JPEG/JFIF)
  ;; range, in place, in whole 16-byte steps (the caller pads). In 16-bit lanes with the Q15
  ;; rounding multiply: luma d + q15mulr(d, 5387) with d = max(y-16, 0), chroma
  ;; c + q15mulr(c-128, 4533), saturated to 0..255 by the narrowing. Bit for bit the rounded BT.601
  ;; stretches (yuv-simd.ts: LUMA_JFIF, CHROMA_JFIF; checked for all 256 values by the tests), in
  ;; half the instructions of a 32-bit multiply, shift and add (this runs on the thread that reads
  ;; ffmpeg's frames, once per kept frame: ~16 ms of its CPU a demo run before).
  (func (export "to_jfif") (param $y i32) (param $ylen i32) (param $c i32) (param $clen i32)
    (local $end i32) (local $d v128) (local $lo v128) (local $hi v128)
    (local.set $end (i32.add (local.get $y) (local.get $ylen)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $y) (local.get $end)))
        (local.set $d (i8x16.sub_sat_u (v128.load (local.get $y)) ${bytes16(16)}))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $d)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $d)))
        (v128.store (local.get $y) (i8x16.narrow_i16x8_u
          (i16x8.add (local.get $lo) (i16x8.q15mulr_sat_s (local.get $lo) (i16x8.splat (i32.const 5387))))
          (i16x8.add (local.get $hi) (i16x8.q15mulr_sat_s (local.get $hi) (i16x8.splat (i32.const 5387))))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $step)))
    (local.set $end (i32.add (local.get $c) (local.get $clen)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $c) (local.get $end)))
        (local.set $d (v128.load (local.get $c)))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $d)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $d)))
        (v128.store (local.get $c) (i8x16.narrow_i16x8_u
          (i16x8.add (local.get $lo) (i16x8.q15mulr_sat_s (i16x8.sub (local.get $lo) (i16x8.splat (i32.const 128))) (i16x8.splat (i32.const 4533))))
          (i16x8.add (local.get $hi) (i16x8.q15mulr_sat_s (i16x8.sub (local.get $hi) (i16x8.splat (i32.const 128))) (i16x8.splat (i32.const 4533))))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $step))))
)
`;

export async function buildWasm() {
  return watToWasm('yuv420p-rgb24.wat', WAT);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeOrCheck(WASM_PATH, await buildWasm(), 'scripts/build-yuv-wasm.mjs');
}
