/**
 * A reader for MATLAB Level 5 MAT-files (what `save -v7` / `save -v6` write, and what the
 * Stanford Cars devkit ships). Plain TypeScript + fflate: runs in the browser, workers and Node.
 *
 * Covered: little- and big-endian files, miCOMPRESSED (zlib) elements, miMATRIX with
 * numeric classes (double, single, int8..uint64, logical; complex parts kept), char arrays
 * (miUTF8 / miUINT16 / miUTF16 / miUINT8 storage), cell arrays and struct arrays, the
 * small-data-element format and 8-byte padding.
 * Not covered (clear errors): v7.3 (HDF5) and v4 files, sparse matrices, objects,
 * function handles.
 *
 * All array data is in MATLAB's column-major order; `dims` are MATLAB's dimensions.
 * Numbers are widened to Float64Array whatever their storage type (int64/uint64 beyond
 * 2^53 lose precision).
 */
import { unzlibSync } from 'fflate';
import { decodeLatin1, decodeUtf8 } from '../textCodec';

export type MatNumericClass =
  | 'double'
  | 'single'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'logical';

/** A numeric or logical array. `data` is column-major; `imag` is present for complex arrays. */
export interface MatNumeric {
  kind: 'numeric';
  class: MatNumericClass;
  dims: number[];
  data: Float64Array;
  imag?: Float64Array;
}

/** A char array. `rows` holds one string per row (dims[0] rows); `text` is them joined by '\n'. */
export interface MatChar {
  kind: 'char';
  dims: number[];
  rows: string[];
  text: string;
}

/** A cell array; `cells` in column-major order. */
export interface MatCell {
  kind: 'cell';
  dims: number[];
  cells: MatValue[];
}

/** A struct array; `elements` in column-major order, each with every field of `fieldNames`. */
export interface MatStruct {
  kind: 'struct';
  dims: number[];
  fieldNames: string[];
  elements: Record<string, MatValue>[];
}

export type MatValue = MatNumeric | MatChar | MatCell | MatStruct;

/** The file is not a readable Level 5 MAT-file (wrong version, truncated, corrupt, unsupported content). */
export class MatFileError extends Error {
  override name = 'MatFileError';
}

// Data types (MAT-File Format, table 1-1).
const miINT8 = 1;
const miUINT8 = 2;
const miINT16 = 3;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miSINGLE = 7;
const miDOUBLE = 9;
const miINT64 = 12;
const miUINT64 = 13;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const miUTF8 = 16;
const miUTF16 = 17;
const miUTF32 = 18;

const TYPE_NAMES: Record<number, string> = {
  1: 'miINT8', 2: 'miUINT8', 3: 'miINT16', 4: 'miUINT16', 5: 'miINT32', 6: 'miUINT32',
  7: 'miSINGLE', 9: 'miDOUBLE', 12: 'miINT64', 13: 'miUINT64', 14: 'miMATRIX',
  15: 'miCOMPRESSED', 16: 'miUTF8', 17: 'miUTF16', 18: 'miUTF32',
};

const BYTES_PER: Record<number, number> = {
  [miINT8]: 1, [miUINT8]: 1, [miINT16]: 2, [miUINT16]: 2, [miINT32]: 4, [miUINT32]: 4,
  [miSINGLE]: 4, [miDOUBLE]: 8, [miINT64]: 8, [miUINT64]: 8,
  [miUTF8]: 1, [miUTF16]: 2, [miUTF32]: 4,
};

// Array classes (table 1-3).
const mxCELL = 1;
const mxSTRUCT = 2;
const mxOBJECT = 3;
const mxCHAR = 4;
const mxSPARSE = 5;
const NUMERIC_CLASSES: Record<number, MatNumericClass> = {
  6: 'double', 7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16',
  12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64',
};
const CLASS_NAMES: Record<number, string> = {
  1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 16: 'function handle', 17: 'opaque',
};

const FLAG_COMPLEX = 0x0800;
const FLAG_LOGICAL = 0x0200;

const RESAVE = "re-save it in MATLAB with `save(filename, '-v7')` (or `save -v7`)";

/** One data element: its type and the byte range of its data inside `view`. */
interface Element {
  type: number;
  start: number;
  length: number;
  /** Offset of the next element. */
  next: number;
}

class Reader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    /** Describes where `bytes` come from, for error messages. */
    readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  corrupt(detail: string): MatFileError {
    return new MatFileError(`MAT-file is truncated or corrupt (${this.where}): ${detail}`);
  }

  /** Reads the tag at `pos` (normal or small-data-element format). */
  element(pos: number, padded: boolean): Element {
    const total = this.bytes.byteLength;
    if (pos + 8 > total) {
      throw this.corrupt(`element tag at byte ${pos} needs 8 bytes, only ${total - pos} remain`);
    }
    const first = this.view.getUint32(pos, this.le);
    const small = first >>> 16;
    if (small !== 0) {
      // Small data element: 2 bytes size, 2 bytes type (in file byte order), 4 bytes data.
      const type = first & 0xffff;
      if (small > 4) throw this.corrupt(`small element at byte ${pos} claims ${small} bytes (at most 4)`);
      return { type, start: pos + 4, length: small, next: pos + 8 };
    }
    const type = first;
    const length = this.view.getUint32(pos + 4, this.le);
    const start = pos + 8;
    if (start + length > total) {
      throw this.corrupt(
        `${TYPE_NAMES[type] ?? `type ${type}`} element at byte ${pos} claims ${length} bytes, only ${total - start} remain`,
      );
    }
    let next = start + length;
    if (padded) next = Math.min(total, (next + 7) & ~7);
    return { type, start, length, next };
  }

  /** The numbers of a numeric element, widened to float64. */
  numbers(el: Element): Float64Array {
    const size = BYTES_PER[el.type];
    if (size === undefined || el.type === miUTF8 || el.type === miUTF16 || el.type === miUTF32) {
      throw this.corrupt(`expected numeric data, found ${TYPE_NAMES[el.type] ?? `type ${el.type}`} at byte ${el.start}`);
    }
    if (el.length % size !== 0) {
      throw this.corrupt(`${TYPE_NAMES[el.type]} data of ${el.length} bytes at byte ${el.start} is not a whole number of values`);
    }
    const n = el.length / size;
    const out = new Float64Array(n);
    const v = this.view;
    const le = this.le;
    let p = el.start;
    switch (el.type) {
      case miINT8: for (let i = 0; i < n; i++, p += 1) out[i] = v.getInt8(p); break;
      case miUINT8: for (let i = 0; i < n; i++, p += 1) out[i] = v.getUint8(p); break;
      case miINT16: for (let i = 0; i < n; i++, p += 2) out[i] = v.getInt16(p, le); break;
      case miUINT16: for (let i = 0; i < n; i++, p += 2) out[i] = v.getUint16(p, le); break;
      case miINT32: for (let i = 0; i < n; i++, p += 4) out[i] = v.getInt32(p, le); break;
      case miUINT32: for (let i = 0; i < n; i++, p += 4) out[i] = v.getUint32(p, le); break;
      case miSINGLE: for (let i = 0; i < n; i++, p += 4) out[i] = v.getFloat32(p, le); break;
      case miDOUBLE: for (let i = 0; i < n; i++, p += 8) out[i] = v.getFloat64(p, le); break;
      case miINT64: for (let i = 0; i < n; i++, p += 8) out[i] = Number(v.getBigInt64(p, le)); break;
      case miUINT64: for (let i = 0; i < n; i++, p += 8) out[i] = Number(v.getBigUint64(p, le)); break;
    }
    return out;
  }

  /** Character codes (Unicode code points) of a char-data element. */
  charCodes(el: Element): number[] {
    const { start, length } = el;
    switch (el.type) {
      case miUTF8: {
        const text = decodeUtf8(this.bytes.subarray(start, start + length));
        return Array.from(text, (c: string) => c.codePointAt(0)!);
      }
      case miUINT8:
      case miINT8:
        return Array.from(this.bytes.subarray(start, start + length));
      case miUTF16:
      case miUINT16:
      case miINT16: {
        const codes: number[] = [];
        for (let p = start; p + 1 < start + length; p += 2) codes.push(this.view.getUint16(p, this.le));
        return codes;
      }
      case miUTF32:
      case miUINT32:
      case miINT32: {
        const codes: number[] = [];
        for (let p = start; p + 3 < start + length; p += 4) codes.push(this.view.getUint32(p, this.le));
        return codes;
      }
      default:
        return Array.from(this.numbers(el));
    }
  }

  ascii(el: Element): string {
    let s = '';
    for (let p = el.start; p < el.start + el.length; p++) {
      const c = this.bytes[p];
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** Parses the contents of a miMATRIX element into a named value. */
  matrix(el: Element): { name: string; value: MatValue } {
    const end = el.start + el.length;
    if (el.length === 0) {
      // An empty cell element / struct field is written as a zero-length miMATRIX.
      return { name: '', value: { kind: 'numeric', class: 'double', dims: [0, 0], data: new Float64Array(0) } };
    }
    const sub = (pos: number, what: string): Element => {
      if (pos >= end) throw this.corrupt(`miMATRIX at byte ${el.start - 8} ends before its ${what}`);
      const s = this.element(pos, true);
      if (s.start + s.length > end) {
        throw this.corrupt(`${what} at byte ${pos} runs past the end of its miMATRIX`);
      }
      return s;
    };

    const flagsEl = sub(el.start, 'array flags');
    if (flagsEl.type !== miUINT32 || flagsEl.length < 8) {
      throw this.corrupt(`array flags at byte ${el.start} should be 8 bytes of miUINT32`);
    }
    const flags = this.view.getUint32(flagsEl.start, this.le);
    const cls = flags & 0xff;
    const dimsEl = sub(flagsEl.next, 'dimensions');
    if (dimsEl.type !== miINT32) throw this.corrupt(`dimensions at byte ${flagsEl.next} should be miINT32`);
    const dims = Array.from(this.numbers(dimsEl));
    if (dims.length < 2 || dims.some((d) => d < 0)) {
      throw this.corrupt(`invalid dimensions [${dims.join(', ')}] at byte ${dimsEl.start}`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    const nameEl = sub(dimsEl.next, 'array name');
    const name = this.ascii(nameEl);
    let pos = nameEl.next;

    if (cls === mxCELL) {
      const cells: MatValue[] = [];
      for (let i = 0; i < count; i++) {
        const c = sub(pos, `cell ${i + 1} of ${count}`);
        if (c.type !== miMATRIX) throw this.corrupt(`cell ${i + 1} at byte ${pos} is not miMATRIX`);
        cells.push(this.matrix(c).value);
        pos = c.next;
      }
      return { name, value: { kind: 'cell', dims, cells } };
    }

    if (cls === mxSTRUCT) {
      const lenEl = sub(pos, 'field name length');
      const fieldLen = this.numbers(lenEl)[0] ?? 0;
      const namesEl = sub(lenEl.next, 'field names');
      if (fieldLen <= 0 && namesEl.length > 0) throw this.corrupt(`struct field name length ${fieldLen} is invalid`);
      const nFields = fieldLen > 0 ? Math.floor(namesEl.length / fieldLen) : 0;
      const fieldNames: string[] = [];
      for (let f = 0; f < nFields; f++) {
        fieldNames.push(this.ascii({ ...namesEl, start: namesEl.start + f * fieldLen, length: fieldLen }));
      }
      pos = namesEl.next;
      const elements: Record<string, MatValue>[] = [];
      for (let i = 0; i < count; i++) {
        const rec: Record<string, MatValue> = {};
        for (const field of fieldNames) {
          const f = sub(pos, `field '${field}' of struct element ${i + 1} of ${count}`);
          if (f.type !== miMATRIX) throw this.corrupt(`field '${field}' at byte ${pos} is not miMATRIX`);
          rec[field] = this.matrix(f).value;
          pos = f.next;
        }
        elements.push(rec);
      }
      return { name, value: { kind: 'struct', dims, fieldNames, elements } };
    }

    if (cls === mxCHAR) {
      const dataEl = sub(pos, 'char data');
      const codes = this.charCodes(dataEl);
      if (codes.length < count) {
        throw this.corrupt(`char array '${name}' has ${codes.length} characters, dimensions say ${count}`);
      }
      const nRows = dims[0];
      const nCols = nRows === 0 ? 0 : count / nRows;
      const rows: string[] = [];
      for (let r = 0; r < nRows; r++) {
        const row: number[] = [];
        for (let c = 0; c < nCols; c++) row.push(codes[r + c * nRows]);
        rows.push(String.fromCodePoint(...row));
      }
      return { name, value: { kind: 'char', dims, rows, text: rows.join('\n') } };
    }

    const numericClass = NUMERIC_CLASSES[cls];
    if (numericClass) {
      const realEl = sub(pos, 'real part');
      const data = this.numbers(realEl);
      if (data.length !== count) {
        throw this.corrupt(`array '${name}' has ${data.length} values, dimensions say ${count}`);
      }
      const value: MatNumeric = {
        kind: 'numeric',
        class: flags & FLAG_LOGICAL ? 'logical' : numericClass,
        dims,
        data,
      };
      if (flags & FLAG_COMPLEX) {
        const imagEl = sub(realEl.next, 'imaginary part');
        value.imag = this.numbers(imagEl);
        if (value.imag.length !== count) throw this.corrupt(`imaginary part of '${name}' has the wrong length`);
      }
      return { name, value };
    }

    const what = CLASS_NAMES[cls] ?? `class ${cls}`;
    if (cls === mxSPARSE || cls === mxOBJECT || CLASS_NAMES[cls]) {
      throw new MatFileError(
        `MAT-file variable '${name}' is a ${what} array, which this reader does not support (${this.where})`,
      );
    }
    throw this.corrupt(`unknown array class ${cls} for variable '${name}'`);
  }
}

/** Reads the 128-byte header; returns the byte order, or throws for v4 / v7.3 / non-MAT data. */
function readHeader(bytes: Uint8Array): { le: boolean } {
  const headerText = decodeLatin1(bytes.subarray(0, Math.min(116, bytes.byteLength)));
  const isHdf5At512 =
    bytes.byteLength >= 516 &&
    bytes[512] === 0x89 && bytes[513] === 0x48 && bytes[514] === 0x44 && bytes[515] === 0x46;
  if (/MATLAB 7\.3 MAT-file/.test(headerText) || isHdf5At512) {
    throw new MatFileError(
      `this is a MATLAB v7.3 MAT-file (HDF5 based), which is not supported; ${RESAVE}`,
    );
  }
  if (bytes.byteLength < 128) {
    if (headerText.startsWith('MATLAB')) {
      throw new MatFileError(`MAT-file is truncated or corrupt: the 128-byte header is cut short (${bytes.byteLength} bytes)`);
    }
    throw notMat(bytes);
  }
  const e1 = bytes[126];
  const e2 = bytes[127];
  let le: boolean;
  if (e1 === 0x49 && e2 === 0x4d) le = true; // 'IM'
  else if (e1 === 0x4d && e2 === 0x49) le = false; // 'MI'
  else throw notMat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(124, le);
  if (version === 0x0200) {
    throw new MatFileError(`this is a MATLAB v7.3 MAT-file (HDF5 based), which is not supported; ${RESAVE}`);
  }
  if (version !== 0x0100) {
    throw new MatFileError(
      `unsupported MAT-file version 0x${version.toString(16).padStart(4, '0')} (expected Level 5, 0x0100); ${RESAVE}`,
    );
  }
  return { le };
}

/** The error for data that has no Level 5 header: a v4 MAT-file, or not a MAT-file at all. */
function notMat(bytes: Uint8Array): MatFileError {
  if (bytes.byteLength >= 20) {
    // A v4 matrix header: type MOPT (0..4052, written in either byte order), rows, cols, imagf, namelen.
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const le of [true, false]) {
      const mopt = v.getInt32(0, le);
      const imagf = v.getInt32(12, le);
      const namlen = v.getInt32(16, le);
      const m = Math.floor(mopt / 1000);
      const o = Math.floor((mopt % 1000) / 100);
      if (mopt >= 0 && mopt < 5000 && m <= 4 && o === 0 && (imagf === 0 || imagf === 1) && namlen > 0 && namlen < 64) {
        throw new MatFileError(`this is a MATLAB v4 MAT-file, which is not supported; ${RESAVE}`);
      }
    }
  }
  return new MatFileError(
    'not a MATLAB Level 5 MAT-file (no "MATLAB 5.0 MAT-file" header with version 0x0100); ' +
      `if it is a v4 or v7.3 file, ${RESAVE}`,
  );
}

/**
 * Reads every variable of a Level 5 MAT-file.
 * Throws MatFileError for v4 / v7.3 files (saying to re-save with `save -v7`), and for
 * truncated or corrupt data. The message does not name the file: callers add the path.
 */
export function readMatFile(input: ArrayBuffer | Uint8Array): Record<string, MatValue> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const { le } = readHeader(bytes);
  const top = new Reader(bytes, le, 'file');
  const out: Record<string, MatValue> = {};
  let pos = 128;
  while (pos + 8 <= bytes.byteLength) {
    // Top-level elements are not padded after miCOMPRESSED data; miMATRIX sizes are already multiples of 8.
    const el = top.element(pos, false);
    if (el.type === miCOMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = unzlibSync(bytes.subarray(el.start, el.start + el.length));
      } catch (err) {
        throw new MatFileError(
          `MAT-file is truncated or corrupt: the compressed element at byte ${pos} does not inflate (${(err as Error).message})`,
        );
      }
      const inner = new Reader(inflated, le, `compressed element at byte ${pos}`);
      let ip = 0;
      while (ip + 8 <= inflated.byteLength) {
        const iel = inner.element(ip, true);
        if (iel.type === miMATRIX) {
          const { name, value } = inner.matrix(iel);
          out[name] = value;
        }
        ip = iel.next;
      }
    } else if (el.type === miMATRIX) {
      const { name, value } = top.matrix(el);
      out[name] = value;
    }
    pos = el.next;
  }
  return out;
}

// ---- small helpers for callers reading known variables ----

/** The text of a char value (rows joined by '\n'), or throws naming `what`. */
export function matString(value: MatValue | undefined, what: string): string {
  if (!value || value.kind !== 'char') throw new MatFileError(`${what} should be text, found ${describe(value)}`);
  return value.text;
}

/** The single number of a numeric value, or throws naming `what`. */
export function matScalar(value: MatValue | undefined, what: string): number {
  if (!value || value.kind !== 'numeric' || value.data.length < 1) {
    throw new MatFileError(`${what} should be a number, found ${describe(value)}`);
  }
  return value.data[0];
}

/** The strings of a cell array of char values, or throws naming `what`. */
export function matCellStrings(value: MatValue | undefined, what: string): string[] {
  if (!value || value.kind !== 'cell') throw new MatFileError(`${what} should be a cell array of text, found ${describe(value)}`);
  return value.cells.map((c, i) => matString(c, `${what}{${i + 1}}`));
}

function describe(value: MatValue | undefined): string {
  if (!value) return 'nothing';
  const dims = value.dims.join('x');
  return value.kind === 'numeric' ? `a ${dims} ${value.class} array` : `a ${dims} ${value.kind} array`;
}
