import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../../src/core/export/safetensors';

const enc = (s: string) => new TextEncoder().encode(s);
function build(header: object, data: Uint8Array): Uint8Array {
  const h = enc(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  const tensors = {
    gates_0: { shape: [3], data: Float32Array.from([-4, -4, 0.5]) },
    'fc_0.weight': { shape: [3, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
    'fc_0.bias': { shape: [3], data: Float32Array.from([0.1, -0.2, 1e-30]) },
  };

  it('round-trips tensors and metadata', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'é ünïcode' });
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'é ünïcode' });
    expect(Object.keys(back)).toEqual(Object.keys(tensors));
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k].shape).toEqual(t.shape);
      expect(Array.from(back[k].data)).toEqual(Array.from(t.data));
    }
  });

  it('lays out bytes per the format: u64 LE length, space-padded 8-aligned JSON, contiguous LE data', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt' });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(view.getUint32(4, true)).toBe(0); // high half of the u64
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText.startsWith('{')).toBe(true);
    expect(headerText.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(headerText.slice(headerText.trimEnd().length))).toBe(true);
    const header = JSON.parse(headerText);
    expect(Object.keys(header)).toEqual(['__metadata__', 'gates_0', 'fc_0.weight', 'fc_0.bias']);
    expect(header.gates_0).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header['fc_0.weight']).toEqual({ dtype: 'F32', shape: [3, 3], data_offsets: [12, 48] });
    expect(header['fc_0.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [48, 60] });
    expect(bytes.length).toBe(8 + n + 60);
    // fc_0.weight[1][2] = 6 at data offset 12 + (1*3+2)*4, little-endian
    expect(view.getFloat32(8 + n + 12 + 20, true)).toBe(6);
  });

  it('omits __metadata__ when none is given, decodes from an unaligned view', () => {
    const bytes = encodeSafetensors({ x: { shape: [2, 1], data: Float32Array.from([1, 2]) } });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const { tensors: t, metadata } = decodeSafetensors(shifted.subarray(1));
    expect(metadata).toEqual({});
    expect(Array.from(t.x.data)).toEqual([1, 2]);
  });

  it('rejects bad files with clear errors', () => {
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/shorter than 8/);
    const four = new Uint8Array(4);
    expect(() =>
      decodeSafetensors(build({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, four)),
    ).toThrow(/dtype "F16"/);
    expect(() =>
      decodeSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, four)),
    ).toThrow(/needs 8 bytes/);
    expect(() =>
      decodeSafetensors(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8))),
    ).toThrow(/trailing/);
    const bad = build({}, new Uint8Array(0));
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(bad)).toThrow(/exceeds/);
    expect(() => encodeSafetensors({ a: { shape: [2], data: new Float32Array(3) } })).toThrow(/needs 2 values/);
  });
});
