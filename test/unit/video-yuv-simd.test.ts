import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { yuv420pToRgb } from '../../src/video/decode.js';
import { createYuvConverter, yuvWasmBytes } from '../../src/video/yuv-simd.js';
// the generator of the committed .wasm (plain JS, run by node: no types)
// @ts-expect-error -- an .mjs script without declarations
import { buildWasm, WASM_PATH } from '../../scripts/build-yuv-wasm.mjs';

test('the committed yuv420p-rgb24.wasm is what scripts/build-yuv-wasm.mjs builds from its source', async () => {
  const built = (await buildWasm()) as Buffer;
  const committed = await readFile(WASM_PATH as string);
  assert.ok(committed.equals(built), 'run node scripts/build-yuv-wasm.mjs and commit the result');
});

test('SIMD yuv420p → rgb24 is bit-identical to the JS conversion, odd sizes and edges included', () => {
  const bytes = yuvWasmBytes();
  assert.ok(bytes, 'the SIMD module loads on this Node');
  const convert = createYuvConverter(bytes, yuv420pToRgb);
  let seed = 7;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  // whole 16-pixel blocks, a right-hand strip, an odd last row, tiny frames, and a larger one after a smaller (memory grows)
  for (const [w, h] of [[768, 576], [770, 577], [33, 17], [16, 2], [15, 1], [1, 1], [17, 3], [64, 48], [1920, 1081]] as const) {
    const yuv = new Uint8Array(w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2));
    // extremes too: the clamp at 0 and 255 must agree
    for (let i = 0; i < yuv.length; i++) yuv[i] = i % 97 === 0 ? 0 : i % 89 === 0 ? 255 : rand();
    const want = yuv420pToRgb(yuv, w, h);
    const got = convert(yuv, w, h);
    assert.equal(got.length, want.length, `${w}x${h}`);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) diff++;
    assert.equal(diff, 0, `${w}x${h}: ${diff} bytes differ`);
  }
});

test('AUTOTUNER_YUV_SIMD=0 turns the SIMD module off', () => {
  const before = process.env.AUTOTUNER_YUV_SIMD;
  process.env.AUTOTUNER_YUV_SIMD = '0';
  try {
    assert.equal(yuvWasmBytes(), null);
  } finally {
    if (before === undefined) delete process.env.AUTOTUNER_YUV_SIMD;
    else process.env.AUTOTUNER_YUV_SIMD = before;
  }
});

test('SIMD to_jfif stretches luma and chroma from video to JPEG range exactly like the rounded BT.601 formulas', () => {
  const bytes = yuvWasmBytes();
  assert.ok(bytes);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const mem = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
  const toJfif = instance.exports.to_jfif as (y: number, ylen: number, c: number, clen: number) => void;
  // every value in both planes (512 bytes each), the chroma plane not 16-aligned
  for (let i = 0; i < 512; i++) {
    mem[i] = i & 255;
    mem[520 + i] = (i * 7) & 255;
  }
  toJfif(0, 512, 520, 512);
  for (let i = 0; i < 512; i++) {
    const y = i & 255;
    const c = (i * 7) & 255;
    assert.equal(mem[i], Math.max(0, Math.min(255, Math.round(((y - 16) * 255) / 219))), `luma ${y}`);
    assert.equal(mem[520 + i], Math.max(0, Math.min(255, Math.round(((c - 128) * 255) / 224) + 128)), `chroma ${c}`);
  }
  // the 8 bytes between the planes are not touched
  assert.deepEqual([...mem.subarray(512, 520)], [0, 0, 0, 0, 0, 0, 0, 0]);
});
