import { encodeUtf8, decodeUtf8 } from '../textCodec';
import { bytesToFloat32LE, float32ToBytesLE } from './bytes';

/** A float32 tensor in C (row-major) order. */
export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

export type NamedTensors = Record<string, F32Tensor>;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

function numel(shape: number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new SafetensorsError(`Tensor '${name}': shape must be a list of non-negative integers`);
  }
  return shape as number[];
}

/**
 * Encodes float32 tensors as a safetensors file: an 8-byte little-endian u64 header length,
 * the JSON header (padded with spaces to a multiple of 8 bytes), then the tensors' bytes,
 * contiguous, in the header's (insertion) order, C order, little-endian. `metadata`
 * becomes "__metadata__" (string values only).
 */
export function encodeSafetensors(
  tensors: NamedTensors,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new SafetensorsError(`Metadata '${k}' must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  const names = Object.keys(tensors);
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError(`'__metadata__' is not a tensor name`);
    const { shape, data } = tensors[name];
    checkShape(name, shape);
    if (!(data instanceof Float32Array)) {
      throw new SafetensorsError(`Tensor '${name}': data must be a Float32Array`);
    }
    if (numel(shape) !== data.length) {
      throw new SafetensorsError(
        `Tensor '${name}': shape [${shape.join(', ')}] needs ${numel(shape)} values, got ${data.length}`,
      );
    }
    const bytes = data.length * 4;
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = encodeUtf8(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    const bytes = float32ToBytesLE(tensors[name].data);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

/**
 * Decodes a safetensors file of F32 tensors. Checks the header length, the JSON, every
 * entry's dtype/shape/offsets, that offsets are in bounds, match the shape, and cover the
 * data section without gaps or overlaps. Other dtypes are rejected with a clear error.
 */
export function decodeSafetensors(bytes: Uint8Array): {
  tensors: NamedTensors;
  metadata: Record<string, string>;
} {
  if (bytes.length < 8) throw new SafetensorsError('Not a safetensors file: shorter than 8 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const big = view.getBigUint64(0, true);
  if (big > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw new SafetensorsError(
      `Not a safetensors file: header length ${big} exceeds the file (${bytes.length} bytes)`,
    );
  }
  const headerLen = Number(big);
  let header: unknown;
  try {
    header = JSON.parse(decodeUtf8(bytes.subarray(8, 8 + headerLen), { strict: true }));
  } catch (e) {
    throw new SafetensorsError(`Safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError('Safetensors header is not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new SafetensorsError('__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw new SafetensorsError(`Tensor '${name}': bad entry`);
    if (e.dtype !== 'F32') {
      throw new SafetensorsError(
        `Tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; only F32 (float32) is supported`,
      );
    }
    const shape = checkShape(name, e.shape);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((x) => Number.isSafeInteger(x) && x >= 0) ||
      off[1] < off[0]
    ) {
      throw new SafetensorsError(`Tensor '${name}': data_offsets must be [begin, end]`);
    }
    const [begin, end] = off as number[];
    if (end > dataLen) {
      throw new SafetensorsError(`Tensor '${name}': data_offsets [${begin}, ${end}] run past the file`);
    }
    if (end - begin !== numel(shape) * 4) {
      throw new SafetensorsError(
        `Tensor '${name}': shape [${shape.join(', ')}] needs ${numel(shape) * 4} bytes, offsets give ${end - begin}`,
      );
    }
    entries.push({ name, shape, begin, end });
  }
  // The data section must be covered exactly, with no holes or overlaps.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin !== expected) {
      throw new SafetensorsError(`Tensor '${e.name}': data_offsets leave a gap or overlap at byte ${expected}`);
    }
    expected = e.end;
  }
  if (expected !== dataLen) {
    throw new SafetensorsError(`Safetensors data section has ${dataLen - expected} unindexed trailing bytes`);
  }
  const tensors: NamedTensors = {};
  for (const e of entries) {
    tensors[e.name] = {
      shape: e.shape,
      data: bytesToFloat32LE(bytes, dataStart + e.begin, (e.end - e.begin) / 4),
    };
  }
  return { tensors, metadata };
}
