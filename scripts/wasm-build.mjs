// Shared by the scripts that build our WebAssembly kernels from WAT (wabt, a devDependency):
// assemble and validate, and either write the .wasm or, with --check, compare it with the
// committed one (the tests run the check, so a binary cannot drift from its source).
import { readFile, writeFile } from 'node:fs/promises';
import wabtInit from 'wabt';

export async function watToWasm(name, wat) {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(name, wat, { simd: true });
  try {
    mod.validate();
    return Buffer.from(mod.toBinary({ write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

/** The script's entry point: write `path`, or only compare with --check (exit 1 when it differs). */
export async function writeOrCheck(path, bytes, script) {
  if (process.argv.includes('--check')) {
    const committed = await readFile(path).catch(() => Buffer.alloc(0));
    if (!committed.equals(bytes)) {
      console.error(`${path} is out of date: run node ${script}`);
      process.exit(1);
    }
    console.log(`${path} matches its source (${bytes.length} bytes)`);
  } else {
    await writeFile(path, bytes);
    console.log(`wrote ${path} (${bytes.length} bytes)`);
  }
}
