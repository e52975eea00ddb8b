import { readFile } from 'node:fs/promises';

/**
 * Read an ONNX file's `metadata_props` (ModelProto field 14). onnxruntime-node does not expose
 * model metadata, so this walks the top-level protobuf fields and skips everything else
 * (the graph is one length-delimited field, skipped without parsing).
 */
export async function readOnnxMetadata(file: string): Promise<Record<string, string>> {
  const buf = await readFile(file);
  const out: Record<string, string> = {};
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error(`${file} is not an ONNX model (truncated protobuf)`);
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  };
  const skip = (wire: number): void => {
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 2) {
      const len = varint(); // read first: `pos += varint()` would add to the stale pos
      pos += len;
    }
    else if (wire === 5) pos += 4;
    else throw new Error(`${file} is not an ONNX model (protobuf wire type ${wire})`);
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 14 && wire === 2) {
      const len = varint();
      const end = pos + len;
      let k = '';
      let v = '';
      while (pos < end) {
        const ik = varint();
        if ((ik & 7) === 2 && (ik >> 3 === 1 || ik >> 3 === 2)) {
          const l = varint();
          const s = buf.toString('utf8', pos, pos + l);
          pos += l;
          if (ik >> 3 === 1) k = s;
          else v = s;
        } else skip(ik & 7);
      }
      pos = end;
      if (k) out[k] = v;
    } else skip(wire);
  }
  return out;
}
