/**
 * A tiny Level 5 MAT-file writer for tests: builds byte-exact files so the reader can be
 * checked on every element form (normal and small tags, padding, compression, both byte orders).
 */
import { zlibSync } from 'fflate';

export const mi = {
  INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9,
  INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17,
} as const;

export const mx = {
  CELL: 1, STRUCT: 2, OBJECT: 3, CHAR: 4, SPARSE: 5, DOUBLE: 6, SINGLE: 7, INT8: 8, UINT8: 9,
  INT16: 10, UINT16: 11, INT32: 12, UINT32: 13, INT64: 14, UINT64: 15,
} as const;

const SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2 };

export class MatWriter {
  constructor(readonly le = true) {}

  private concat(parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Raw bytes of values of data type `type` in this writer's byte order. */
  values(type: number, values: ArrayLike<number>): Uint8Array {
    const size = SIZE[type];
    const out = new Uint8Array(values.length * size);
    const v = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      const p = i * size;
      switch (type) {
        case mi.INT8: v.setInt8(p, x); break;
        case mi.UINT8: case mi.UTF8: v.setUint8(p, x); break;
        case mi.INT16: v.setInt16(p, x, this.le); break;
        case mi.UINT16: case mi.UTF16: v.setUint16(p, x, this.le); break;
        case mi.INT32: v.setInt32(p, x, this.le); break;
        case mi.UINT32: v.setUint32(p, x, this.le); break;
        case mi.SINGLE: v.setFloat32(p, x, this.le); break;
        case mi.DOUBLE: v.setFloat64(p, x, this.le); break;
        case mi.INT64: v.setBigInt64(p, BigInt(x), this.le); break;
        case mi.UINT64: v.setBigUint64(p, BigInt(x), this.le); break;
      }
    }
    return out;
  }

  /** A data element; uses the small format when `small` and the data fit in 4 bytes. Padded to 8. */
  element(type: number, data: Uint8Array, small = data.length <= 4): Uint8Array {
    if (small && data.length <= 4) {
      const out = new Uint8Array(8);
      const v = new DataView(out.buffer);
      if (this.le) {
        v.setUint16(0, type, true);
        v.setUint16(2, data.length, true);
      } else {
        v.setUint16(0, data.length, false);
        v.setUint16(2, type, false);
      }
      out.set(data, 4);
      return out;
    }
    const padded = (data.length + 7) & ~7;
    const out = new Uint8Array(8 + padded);
    const v = new DataView(out.buffer);
    v.setUint32(0, type, this.le);
    v.setUint32(4, data.length, this.le);
    out.set(data, 8);
    return out;
  }

  private header(cls: number, flags: number, dims: number[], name: string): Uint8Array[] {
    const f = new Uint8Array(8);
    new DataView(f.buffer).setUint32(0, (flags << 8) | cls, this.le);
    return [
      this.element(mi.UINT32, f, false),
      this.element(mi.INT32, this.values(mi.INT32, dims)),
      this.element(mi.INT8, new TextEncoder().encode(name)),
    ];
  }

  matrix(parts: Uint8Array[]): Uint8Array {
    return this.element(mi.MATRIX, this.concat(parts), false);
  }

  numeric(
    name: string,
    cls: number,
    dims: number[],
    storage: number,
    values: ArrayLike<number>,
    opts: { logical?: boolean; imag?: ArrayLike<number>; small?: boolean } = {},
  ): Uint8Array {
    const flags = (opts.logical ? 0x02 : 0) | (opts.imag ? 0x08 : 0);
    const parts = this.header(cls, flags, dims, name);
    parts.push(this.element(storage, this.values(storage, values), opts.small));
    if (opts.imag) parts.push(this.element(storage, this.values(storage, opts.imag), opts.small));
    return this.matrix(parts);
  }

  /** A char array of equal-length rows, stored column-major as miUTF8 or miUINT16. */
  char(name: string, rows: string[], storage: number = mi.UTF8): Uint8Array {
    const r = rows.length;
    const c = r ? Array.from(rows[0]).length : 0;
    const codes: number[] = [];
    const grid = rows.map((row) => Array.from(row));
    for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) codes.push(grid[i][j].codePointAt(0)!);
    const data =
      storage === mi.UTF8
        ? new TextEncoder().encode(String.fromCodePoint(...codes))
        : this.values(storage, codes);
    return this.matrix([...this.header(mx.CHAR, 0, [r, c], name), this.element(storage, data)]);
  }

  cell(name: string, dims: number[], cells: Uint8Array[]): Uint8Array {
    return this.matrix([...this.header(mx.CELL, 0, dims, name), ...cells]);
  }

  struct(name: string, dims: number[], fields: string[], elements: Uint8Array[][], fieldLen = 32): Uint8Array {
    const names = new Uint8Array(fields.length * fieldLen);
    fields.forEach((f, i) => names.set(new TextEncoder().encode(f), i * fieldLen));
    return this.matrix([
      ...this.header(mx.STRUCT, 0, dims, name),
      this.element(mi.INT32, this.values(mi.INT32, [fieldLen])),
      this.element(mi.INT8, names, false),
      ...elements.flat(),
    ]);
  }

  compressed(element: Uint8Array): Uint8Array {
    const z = zlibSync(element);
    const out = new Uint8Array(8 + z.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, mi.COMPRESSED, this.le);
    v.setUint32(4, z.length, this.le);
    out.set(z, 8);
    return out;
  }

  file(elements: Uint8Array[], text = 'MATLAB 5.0 MAT-file, Platform: test, Created on: never'): Uint8Array {
    const head = new Uint8Array(128).fill(0x20);
    head.set(new TextEncoder().encode(text));
    head.fill(0, 116, 124);
    const v = new DataView(head.buffer);
    v.setUint16(124, 0x0100, this.le);
    v.setUint16(126, 0x4d49, this.le); // 'MI' written in this byte order: reads 'IM' on little-endian
    return this.concat([head, ...elements]);
  }
}
