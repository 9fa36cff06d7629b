/** Concatenates byte chunks into one array. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Float32 values as little-endian bytes (a copy). */
export function float32ToBytesLE(data: Float32Array): Uint8Array {
  if (littleEndian) {
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Little-endian bytes (any alignment) as a new Float32Array. */
export function bytesToFloat32LE(bytes: Uint8Array, offset: number, count: number): Float32Array {
  if (littleEndian) {
    const copy = bytes.slice(offset, offset + count * 4);
    return new Float32Array(copy.buffer, 0, count);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
