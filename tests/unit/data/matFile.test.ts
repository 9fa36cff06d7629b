import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MatFileError,
  matCellStrings,
  matScalar,
  matString,
  readMatFile,
  type MatNumeric,
  type MatStruct,
} from '../../../src/core/data/matFile';
import { sharedPath } from '../../support/shared';
import { MatWriter, mi, mx } from './matEncoder';

const devkit = (name: string) => readFileSync(sharedPath('data', 'stanford-cars-devkit', name));

describe('readMatFile on the real Stanford Cars devkit', () => {
  it('reads the 196 class names, slash included', () => {
    const vars = readMatFile(devkit('cars_meta.mat'));
    expect(vars.class_names.dims).toEqual([1, 196]);
    const names = matCellStrings(vars.class_names, 'class_names');
    expect(names).toHaveLength(196);
    expect(names[0]).toBe('AM General Hummer SUV 2000');
    expect(names.indexOf('Ram C/V Cargo Van Minivan 2012')).toBe(173);
    expect(names[195]).toBe('smart fortwo Convertible 2012');
  });

  it('reads the 8,144 train annotations', () => {
    const a = readMatFile(devkit('cars_train_annos.mat')).annotations as MatStruct;
    expect(a.kind).toBe('struct');
    expect(a.dims).toEqual([1, 8144]);
    expect(a.fieldNames).toEqual(['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', 'fname']);
    expect(a.elements).toHaveLength(8144);
    const first = a.elements[0];
    expect(['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2'].map((f) => matScalar(first[f], f))).toEqual([39, 116, 569, 375]);
    expect(matScalar(first.class, 'class')).toBe(14);
    expect(matString(first.fname, 'fname')).toBe('00001.jpg');
    expect(matString(a.elements[8143].fname, 'fname')).toBe('08144.jpg');
    const classes = new Set(a.elements.map((e) => matScalar(e.class, 'class')));
    expect(Math.min(...classes)).toBe(1);
    expect(Math.max(...classes)).toBe(196);
    expect(classes.size).toBe(196);
  });

  it('reads the 8,041 labelled test annotations', () => {
    const a = readMatFile(devkit('cars_test_annos_withlabels.mat')).annotations as MatStruct;
    expect(a.dims).toEqual([1, 8041]);
    expect(a.fieldNames).toContain('class');
    const first = a.elements[0];
    expect(['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class'].map((f) => matScalar(first[f], f))).toEqual([
      30, 52, 246, 147, 181,
    ]);
    const last = a.elements[8040];
    expect(matString(last.fname, 'fname')).toBe('08041.jpg');
    expect(matScalar(last.class, 'class')).toBe(32);
    expect(matScalar(last.bbox_x2, 'x2')).toBe(506);
  });

  it('reads the subset devkit of stanford-cars-40', () => {
    const dir = ['data', 'stanford-cars-40', 'devkit'];
    const a = readMatFile(readFileSync(sharedPath(...dir, 'cars_train_annos.mat'))).annotations as MatStruct;
    expect(a.elements).toHaveLength(1619);
    expect(matString(a.elements[0].fname, 'fname')).toBe('00002.jpg');
  });
});

/** Every form, written by the test encoder in one byte order, compressed or not. */
function buildAll(w: MatWriter, compress: boolean): Uint8Array {
  const vars = [
    w.numeric('d', mx.DOUBLE, [2, 3], mi.DOUBLE, [1, 2, 3, 4.5, -5, 6e300]),
    w.numeric('s', mx.SINGLE, [1, 2], mi.SINGLE, [1.5, -0.25]),
    w.numeric('i8', mx.INT8, [1, 3], mi.INT8, [-128, 0, 127]),
    w.numeric('u8small', mx.DOUBLE, [1, 1], mi.UINT8, [200], { small: true }),
    w.numeric('i16', mx.INT16, [1, 2], mi.INT16, [-32768, 32767], { small: true }),
    w.numeric('u16', mx.UINT16, [1, 3], mi.UINT16, [0, 1, 65535]),
    w.numeric('i32', mx.INT32, [1, 1], mi.INT32, [-2147483648], { small: true }),
    w.numeric('u32', mx.UINT32, [1, 2], mi.UINT32, [4294967295, 7]),
    w.numeric('i64', mx.INT64, [1, 2], mi.INT64, [-(2 ** 40), 3]),
    w.numeric('u64', mx.UINT64, [1, 1], mi.UINT64, [2 ** 52]),
    w.numeric('flag', mx.UINT8, [1, 2], mi.UINT8, [1, 0], { logical: true }),
    w.numeric('z', mx.DOUBLE, [1, 2], mi.DOUBLE, [1, 2], { imag: [3, -4] }),
    w.numeric('empty', mx.DOUBLE, [0, 0], mi.DOUBLE, []),
    w.char('name', ['Ram C/V Cargo Van Minivan 2012']),
    w.char('wide', ['héllo wörld ✓'], mi.UINT16),
    w.char('rows', ['abc', 'déf'], mi.UTF8),
    w.char('nul', [], mi.UTF8),
    w.cell('c', [1, 3], [
      w.char('', ['first']),
      w.numeric('', mx.DOUBLE, [1, 1], mi.UINT8, [42], { small: true }),
      w.cell('', [1, 1], [w.char('', ['nested'])]),
    ]),
    w.struct('st', [1, 2], ['x1', 'fname'], [
      [w.numeric('', mx.DOUBLE, [1, 1], mi.UINT16, [569]), w.char('', ['00001.jpg'])],
      [w.numeric('', mx.DOUBLE, [1, 1], mi.UINT8, [7]), w.char('', ['00002.jpg'])],
    ], 64),
    w.matrix([]), // a zero-length miMATRIX: read as an empty, unnamed array
  ];
  return w.file(compress ? vars.map((v) => w.compressed(v)) : vars);
}

describe('readMatFile on hand-built files', () => {
  for (const le of [true, false]) {
    for (const compress of [false, true]) {
      it(`reads every element form (${le ? 'little' : 'big'}-endian, ${compress ? 'compressed' : 'uncompressed'})`, () => {
        const v = readMatFile(buildAll(new MatWriter(le), compress));
        const num = (k: string) => v[k] as MatNumeric;
        expect(num('d')).toMatchObject({ kind: 'numeric', class: 'double', dims: [2, 3] });
        expect(Array.from(num('d').data)).toEqual([1, 2, 3, 4.5, -5, 6e300]);
        expect(Array.from(num('s').data)).toEqual([1.5, -0.25]);
        expect(num('s').class).toBe('single');
        expect(Array.from(num('i8').data)).toEqual([-128, 0, 127]);
        expect(num('i8').class).toBe('int8');
        expect(Array.from(num('u8small').data)).toEqual([200]);
        expect(num('u8small').class).toBe('double');
        expect(Array.from(num('i16').data)).toEqual([-32768, 32767]);
        expect(Array.from(num('u16').data)).toEqual([0, 1, 65535]);
        expect(Array.from(num('i32').data)).toEqual([-2147483648]);
        expect(Array.from(num('u32').data)).toEqual([4294967295, 7]);
        expect(Array.from(num('i64').data)).toEqual([-(2 ** 40), 3]);
        expect(num('i64').class).toBe('int64');
        expect(Array.from(num('u64').data)).toEqual([2 ** 52]);
        expect(num('flag').class).toBe('logical');
        expect(Array.from(num('flag').data)).toEqual([1, 0]);
        expect(Array.from(num('z').data)).toEqual([1, 2]);
        expect(Array.from(num('z').imag!)).toEqual([3, -4]);
        expect(num('empty').dims).toEqual([0, 0]);
        expect(num('empty').data).toHaveLength(0);
        expect(matString(v.name, 'name')).toBe('Ram C/V Cargo Van Minivan 2012');
        expect(matString(v.wide, 'wide')).toBe('héllo wörld ✓');
        expect(v.rows).toMatchObject({ kind: 'char', dims: [2, 3], rows: ['abc', 'déf'], text: 'abc\ndéf' });
        expect(v.nul).toMatchObject({ kind: 'char', rows: [], text: '' });
        const c = v.c;
        if (c.kind !== 'cell') throw new Error('not a cell');
        expect(c.dims).toEqual([1, 3]);
        expect(matString(c.cells[0], 'c1')).toBe('first');
        expect(matScalar(c.cells[1], 'c2')).toBe(42);
        expect(c.cells[2]).toMatchObject({ kind: 'cell', cells: [{ kind: 'char', text: 'nested' }] });
        const st = v.st as MatStruct;
        expect(st.fieldNames).toEqual(['x1', 'fname']);
        expect(st.elements.map((e) => [matScalar(e.x1, 'x1'), matString(e.fname, 'fname')])).toEqual([
          [569, '00001.jpg'],
          [7, '00002.jpg'],
        ]);
        expect(v['']).toMatchObject({ kind: 'numeric', dims: [0, 0] });
      });
    }
  }

  it('says to re-save a v7.3 (HDF5) file with -v7', () => {
    const bytes = new Uint8Array(1024);
    bytes.set(new TextEncoder().encode('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 HDF5 schema 1.00 .'));
    new DataView(bytes.buffer).setUint16(124, 0x0200, true);
    bytes.set([0x49, 0x4d], 126);
    bytes.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
    expect(() => readMatFile(bytes)).toThrow(MatFileError);
    expect(() => readMatFile(bytes)).toThrow(/v7\.3.*save.*-v7/);
    // Recognised by the HDF5 signature alone as well.
    const noText = bytes.slice();
    noText.fill(0x20, 0, 116);
    expect(() => readMatFile(noText)).toThrow(/v7\.3/);
  });

  it('says to re-save a v4 file with -v7', () => {
    // v4: MOPT 0 (little-endian double), 1x1, real, name "x\0", then one double.
    const b = new Uint8Array(20 + 2 + 8);
    const v = new DataView(b.buffer);
    v.setInt32(0, 0, true);
    v.setInt32(4, 1, true);
    v.setInt32(8, 1, true);
    v.setInt32(12, 0, true);
    v.setInt32(16, 2, true);
    b.set([0x78, 0], 20);
    v.setFloat64(22, 3.5, true);
    expect(() => readMatFile(b)).toThrow(/v4 MAT-file.*-v7/);
  });

  it('rejects data that is not a MAT-file', () => {
    expect(() => readMatFile(new TextEncoder().encode('hello, this is a text file that is not a MAT-file at all.'.repeat(4)))).toThrow(
      /not a MATLAB Level 5 MAT-file/,
    );
    expect(() => readMatFile(new Uint8Array(0))).toThrow(MatFileError);
  });

  it('reports truncated files clearly', () => {
    const w = new MatWriter();
    const plain = w.file([w.cell('c', [1, 2], [w.char('', ['one']), w.char('', ['two'])])]);
    for (const cut of [plain.length - 8, plain.length - 30, 140, 100]) {
      expect(() => readMatFile(plain.slice(0, cut))).toThrow(/truncated or corrupt/);
    }
    const packed = w.file([w.compressed(w.cell('c', [1, 2], [w.char('', ['one']), w.char('', ['two'])]))]);
    expect(() => readMatFile(packed.slice(0, packed.length - 5))).toThrow(/truncated or corrupt/);
    const real = devkit('cars_meta.mat');
    expect(() => readMatFile(real.subarray(0, 1500))).toThrow(/truncated or corrupt/);
  });

  it('reports corrupt compressed data clearly', () => {
    const w = new MatWriter();
    const packed = w.file([w.compressed(w.char('x', ['hello world']))]);
    const garbled = packed.slice();
    garbled.fill(0xff, 140, 150);
    expect(() => readMatFile(garbled)).toThrow(/truncated or corrupt/);
    const badHeader = packed.slice();
    badHeader.fill(0, 136, 138); // the zlib header
    expect(() => readMatFile(badHeader)).toThrow(/truncated or corrupt.*does not inflate/);
  });

  it('names unsupported array classes', () => {
    const w = new MatWriter();
    const sparse = w.file([w.numeric('sp', mx.SPARSE, [2, 2], mi.DOUBLE, [])]);
    expect(() => readMatFile(sparse)).toThrow(/'sp' is a sparse array/);
  });

  it('helpers name what they expected', () => {
    const w = new MatWriter();
    const v = readMatFile(w.file([w.char('t', ['x'])]));
    expect(() => matScalar(v.t, 'class')).toThrow(/class should be a number, found a 1x1 char array/);
    expect(() => matCellStrings(v.missing, 'class_names')).toThrow(/class_names should be a cell array/);
  });
});
