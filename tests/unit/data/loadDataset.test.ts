import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listFolderFiles } from '../../../src/cli/nodeFiles';
import { DatasetLayoutError, type Dataset } from '../../../src/core/data/dataset';
import { memoryFile, type DatasetFile } from '../../../src/core/data/datasetFile';
import { imageIdentity, loadDataset } from '../../../src/core/data/loadDataset';
import { sharedPath } from '../../support/shared';
import { MatWriter, mi, mx } from './matEncoder';

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const img = (p: string) => memoryFile(p, JPEG);

const w = new MatWriter();
function metaMat(names: string[]): Uint8Array {
  return w.file([w.compressed(w.cell('class_names', [1, names.length], names.map((n) => w.char('', [n]))))]);
}
interface Anno {
  fname: string;
  cls?: number;
  box?: [number, number, number, number];
}
function annosMat(annos: Anno[], withClass = true): Uint8Array {
  const fields = ['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', ...(withClass ? ['class'] : []), 'fname'];
  const num = (v: number) => w.numeric('', mx.DOUBLE, [1, 1], v < 256 ? mi.UINT8 : mi.UINT16, [v]);
  const elements = annos.map((a) => {
    const [x1, y1, x2, y2] = a.box ?? [1, 2, 30, 40];
    return [num(x1), num(y1), num(x2), num(y2), ...(withClass ? [num(a.cls ?? 1)] : []), w.char('', [a.fname])];
  });
  return w.file([w.compressed(w.struct('annotations', [1, annos.length], fields, elements))]);
}

const problemsAbout = (ds: Dataset, re: RegExp) => ds.problems.filter((p) => re.test(p.message));

describe('loadDataset on the shared data', () => {
  it('loads stanford-cars-40 (devkit, 40 of 196 classes)', async () => {
    const ds = await loadDataset(await listFolderFiles(sharedPath('data', 'stanford-cars-40')));
    expect(ds.layout).toBe('devkit');
    expect(ds.root).toBe('');
    expect(ds.images).toHaveLength(1619);
    expect(ds.classNames).toHaveLength(40);
    expect(ds.sourceClassIds).toHaveLength(40);
    expect(ds.images.every((r) => r.half === 'train' && r.bbox)).toBe(true);
    // Every class has images; ids are 0..39, names in cars_meta.mat order.
    expect(new Set(ds.images.map((r) => r.classId)).size).toBe(40);
    expect(ds.sourceClassIds).toEqual([...ds.sourceClassIds!].sort((a, b) => a - b));
    const first = ds.images[0];
    expect(first.file.path).toBe('cars_train/00002.jpg');
    expect(first.bbox).toEqual({ x1: 1, y1: 1, x2: 832, y2: 471 });
    expect(ds.classNames[first.classId]).toBe('Acura TL Sedan 2012');
    expect(ds.sourceClassIds![first.classId]).toBe(2); // class 3 (1-based) in cars_meta.mat
    // The 156 classes without images are one summary, not 156 problems.
    expect(ds.problems).toHaveLength(1);
    expect(ds.problems[0].path).toBe('devkit/cars_meta.mat');
    expect(ds.problems[0].message).toMatch(/156 of 196 classes/);
  });

  it('loads stanford-cars-40-folders (class folders) with the same labels', async () => {
    const ds = await loadDataset(await listFolderFiles(sharedPath('data', 'stanford-cars-40-folders')));
    expect(ds.layout).toBe('class-folders');
    expect(ds.images).toHaveLength(1619);
    expect(ds.classNames).toHaveLength(40);
    expect(ds.problems).toEqual([]);
    expect(ds.sourceClassIds).toBeUndefined();
    expect(ds.images.every((r) => r.half === 'all' && !r.bbox)).toBe(true);

    const devkit = await loadDataset(await listFolderFiles(sharedPath('data', 'stanford-cars-40')));
    const label = new Map(devkit.images.map((r) => [r.file.path.split('/').pop(), devkit.classNames[r.classId]]));
    for (const r of ds.images) {
      expect(ds.classNames[r.classId]).toBe(path.basename(path.dirname(r.file.path)));
      expect(label.get(r.file.path.split('/').pop())).toBe(ds.classNames[r.classId]);
    }
  });

  it('says the annotation-only devkit folder has no images', async () => {
    const files = await listFolderFiles(sharedPath('data', 'stanford-cars-devkit'));
    await expect(loadDataset(files)).rejects.toThrow(DatasetLayoutError);
    await expect(loadDataset(files)).rejects.toThrow(/devkit layout.*no usable images[\s\S]*cars_train/);
  });
});

describe('devkit layout (synthetic)', () => {
  const names = ['Audi A', 'Ram C/V Cargo Van Minivan 2012', 'Zeta Z', 'Unused U'];
  const base = (prefix: string) => [
    memoryFile(`${prefix}devkit/cars_meta.mat`, metaMat(names)),
    memoryFile(
      `${prefix}devkit/cars_train_annos.mat`,
      annosMat([
        { fname: '00001.jpg', cls: 1, box: [39, 116, 569, 375] },
        { fname: '00002.jpg', cls: 2 },
        { fname: '00003.jpg', cls: 2 },
        { fname: '00004.jpg', cls: 3 },
      ]),
    ),
    ...['00001', '00002', '00003', '00004'].map((n) => img(`${prefix}cars_train/${n}.jpg`)),
  ];

  it('reads the train half, keeps boxes and the slash in class names, handles a leading folder', async () => {
    const ds = await loadDataset(base('stanford-cars/'));
    expect(ds.root).toBe('stanford-cars');
    expect(ds.classNames).toEqual(['Audi A', 'Ram C/V Cargo Van Minivan 2012', 'Zeta Z']);
    expect(ds.sourceClassIds).toEqual([0, 1, 2]);
    expect(ds.images.map((r) => [r.file.path, r.classId, r.half])).toEqual([
      ['stanford-cars/cars_train/00001.jpg', 0, 'train'],
      ['stanford-cars/cars_train/00002.jpg', 1, 'train'],
      ['stanford-cars/cars_train/00003.jpg', 1, 'train'],
      ['stanford-cars/cars_train/00004.jpg', 2, 'train'],
    ]);
    expect(ds.images[0].bbox).toEqual({ x1: 39, y1: 116, x2: 569, y2: 375 });
    expect(problemsAbout(ds, /1 of 4 classes.*"Unused U"/)).toHaveLength(1);
    // Single-image classes are evaluated as distractors.
    const single = problemsAbout(ds, /single image.*distractor, never a query/);
    expect(single.map((p) => p.path).sort()).toEqual([
      'stanford-cars/cars_train/00001.jpg',
      'stanford-cars/cars_train/00004.jpg',
    ]);
  });

  it('merges the labelled test half found beside devkit/ (torchvision root), preferring it over the unlabelled file', async () => {
    const files = [
      ...base('stanford_cars/'),
      memoryFile('stanford_cars/cars_test_annos_withlabels.mat', annosMat([{ fname: '00001.jpg', cls: 3 }, { fname: '00002.jpg', cls: 1 }])),
      memoryFile('stanford_cars/devkit/cars_test_annos.mat', annosMat([{ fname: '00001.jpg' }], false)),
      img('stanford_cars/cars_test/00001.jpg'),
      img('stanford_cars/cars_test/00002.jpg'),
    ];
    const ds = await loadDataset(files);
    expect(ds.images).toHaveLength(6);
    const test = ds.images.filter((r) => r.half === 'test');
    expect(test.map((r) => [r.file.path, ds.classNames[r.classId]])).toEqual([
      ['stanford_cars/cars_test/00001.jpg', 'Zeta Z'],
      ['stanford_cars/cars_test/00002.jpg', 'Audi A'],
    ]);
    expect(problemsAbout(ds, /no class labels/)).toHaveLength(0);
  });

  it('skips the test half when only the unlabelled annotations exist', async () => {
    const files = [
      ...base(''),
      memoryFile('devkit/cars_test_annos.mat', annosMat([{ fname: '00001.jpg' }], false)),
      img('cars_test/00001.jpg'),
    ];
    const ds = await loadDataset(files);
    expect(ds.images.every((r) => r.half === 'train')).toBe(true);
    const p = problemsAbout(ds, /no class labels; the test half is skipped/);
    expect(p).toEqual([expect.objectContaining({ path: 'devkit/cars_test_annos.mat' })]);
  });

  it('reports annotations naming missing files, zero-byte images and unlisted images', async () => {
    const files = base('').filter((f) => f.path !== 'cars_train/00003.jpg');
    files.push(memoryFile('cars_train/00004.jpg', new Uint8Array(0)));
    files.splice(files.findIndex((f) => f.path === 'cars_train/00004.jpg'), 1); // keep only the empty one
    files.push(img('cars_train/09999.jpg'));
    const ds = await loadDataset(files);
    expect(ds.images.map((r) => r.file.path)).toEqual(['cars_train/00001.jpg', 'cars_train/00002.jpg']);
    expect(ds.problems).toContainEqual({
      path: 'cars_train/00003.jpg',
      message: 'Listed in devkit/cars_train_annos.mat but not found; skipped.',
    });
    expect(ds.problems).toContainEqual({ path: 'cars_train/00004.jpg', message: 'Empty image file (0 bytes); skipped.' });
    expect(problemsAbout(ds, /1 image in this folder is not in cars_train_annos.mat/)).toHaveLength(1);
  });

  it('summarises many missing files after the first 20', async () => {
    const annos = Array.from({ length: 30 }, (_, i) => ({ fname: `${String(i + 1).padStart(5, '0')}.jpg`, cls: 1 + (i % 2) }));
    const files = [
      memoryFile('devkit/cars_meta.mat', metaMat(['A', 'B'])),
      memoryFile('devkit/cars_train_annos.mat', annosMat(annos)),
      img('cars_train/00001.jpg'),
      img('cars_train/00002.jpg'),
      img('cars_train/00003.jpg'),
    ];
    const ds = await loadDataset(files);
    expect(ds.images).toHaveLength(3);
    expect(problemsAbout(ds, /^Listed in/)).toHaveLength(20);
    expect(problemsAbout(ds, /27 images listed here were not found/)).toHaveLength(1);
  });

  it('names the file when a .mat file is corrupt or v7.3', async () => {
    const v73 = new Uint8Array(600);
    v73.set(new TextEncoder().encode('MATLAB 7.3 MAT-file, Platform: GLNXA64'));
    v73.set([0x89, 0x48, 0x44, 0x46], 512);
    const files = [memoryFile('devkit/cars_meta.mat', v73), memoryFile('devkit/cars_train_annos.mat', annosMat([{ fname: '00001.jpg' }])), img('cars_train/00001.jpg')];
    await expect(loadDataset(files)).rejects.toThrow(/devkit\/cars_meta\.mat: .*v7\.3.*-v7/);
    const cut = metaMat(['A', 'B']);
    files[0] = memoryFile('devkit/cars_meta.mat', cut.slice(0, cut.length - 10));
    await expect(loadDataset(files)).rejects.toThrow(/devkit\/cars_meta\.mat: MAT-file is truncated or corrupt/);
  });
});

describe('CSV layout (synthetic)', () => {
  const names = 'Audi A\nRam C/V Cargo Van Minivan 2012\n"Zeta, Z"\n';

  it('reads anno_train.csv / anno_test.csv with names.csv, resolving same-named files by half (Kaggle nesting)', async () => {
    const files = [
      memoryFile('kaggle/names.csv', names),
      memoryFile('kaggle/anno_train.csv', '00001.jpg,39,116,569,375,1\n00002.jpg,1,2,3,4,2\n00003.jpg,1,2,3,4,3\n'),
      memoryFile('kaggle/anno_test.csv', '00001.jpg,5,6,7,8,2\r\n00002.jpg,5,6,7,8,3\r\n00003.jpg,5,6,7,8,1\r\n'),
      img('kaggle/car_data/car_data/train/Audi A/00001.jpg'),
      img('kaggle/car_data/car_data/train/Ram C-V Cargo Van Minivan 2012/00002.jpg'),
      img('kaggle/car_data/car_data/train/Zeta, Z/00003.jpg'),
      img('kaggle/car_data/car_data/test/Ram C-V Cargo Van Minivan 2012/00001.jpg'),
      img('kaggle/car_data/car_data/test/Zeta, Z/00002.jpg'),
      img('kaggle/car_data/car_data/test/Audi A/00003.jpg'),
    ];
    const ds = await loadDataset(files);
    expect(ds.layout).toBe('csv');
    expect(ds.root).toBe('kaggle');
    expect(ds.classNames).toEqual(['Audi A', 'Ram C/V Cargo Van Minivan 2012', 'Zeta, Z']);
    expect(ds.images.map((r) => [r.file.path.replace('kaggle/car_data/car_data/', ''), r.classId, r.half])).toEqual([
      ['train/Audi A/00001.jpg', 0, 'train'],
      ['train/Ram C-V Cargo Van Minivan 2012/00002.jpg', 1, 'train'],
      ['train/Zeta, Z/00003.jpg', 2, 'train'],
      ['test/Ram C-V Cargo Van Minivan 2012/00001.jpg', 1, 'test'],
      ['test/Zeta, Z/00002.jpg', 2, 'test'],
      ['test/Audi A/00003.jpg', 0, 'test'],
    ]);
    expect(ds.images[0].bbox).toEqual({ x1: 39, y1: 116, x2: 569, y2: 375 });
    expect(ds.problems).toEqual([]);
  });

  it('finds images beside the CSV files and reports bad rows and missing files', async () => {
    const files = [
      memoryFile('names.csv', names),
      memoryFile('anno_train.csv', 'fname,x1,y1,x2,y2,class\na.jpg,1,2,3,4,1\nb.png,1,2,3,4,1\nbroken\nc.jpg,1,2,3,4,9\nmissing.jpg,1,2,3,4,2\nd.jpg,1,2,3,4,2\n'),
      img('a.jpg'),
      img('cars_train/b.png'),
      img('c.jpg'),
      img('somewhere/deep/d.jpg'),
    ];
    const ds = await loadDataset(files);
    expect(ds.images.map((r) => r.file.path)).toEqual(['a.jpg', 'cars_train/b.png', 'somewhere/deep/d.jpg']);
    expect(problemsAbout(ds, /Row 4 is not/)).toHaveLength(1);
    expect(problemsAbout(ds, /Row 5 has class 9, outside 1\.\.3/)).toHaveLength(1);
    expect(ds.problems).toContainEqual({ path: 'missing.jpg', message: 'Listed in anno_train.csv but not found; skipped.' });
    expect(problemsAbout(ds, /1 of 3 classes.*"Zeta, Z"/)).toHaveLength(1);
    expect(problemsAbout(ds, /single image/).map((p) => p.path)).toEqual(['somewhere/deep/d.jpg']);
  });
});

describe('class-folder layout (synthetic)', () => {
  it('reads train/test split folders (any case) and merges classes by name', async () => {
    const ds = await loadDataset([
      img('Train/Ram C-V Cargo Van Minivan 2012/1.jpg'),
      img('Train/Ram C-V Cargo Van Minivan 2012/2.JPEG'),
      img('Train/BMW/3.png'),
      img('TEST/BMW/4.webp'),
      img('TEST/BMW/5.bmp'),
      img('TEST/Audi/6.jpg'),
      img('TEST/Audi/7.jpg'),
    ]);
    expect(ds.layout).toBe('class-folders');
    expect(ds.classNames).toEqual(['Audi', 'BMW', 'Ram C-V Cargo Van Minivan 2012']);
    expect(ds.images.map((r) => [r.file.path, ds.classNames[r.classId], r.half])).toEqual([
      ['TEST/Audi/6.jpg', 'Audi', 'test'],
      ['TEST/Audi/7.jpg', 'Audi', 'test'],
      ['TEST/BMW/4.webp', 'BMW', 'test'],
      ['TEST/BMW/5.bmp', 'BMW', 'test'],
      ['Train/BMW/3.png', 'BMW', 'train'],
      ['Train/Ram C-V Cargo Van Minivan 2012/1.jpg', 'Ram C-V Cargo Van Minivan 2012', 'train'],
      ['Train/Ram C-V Cargo Van Minivan 2012/2.JPEG', 'Ram C-V Cargo Van Minivan 2012', 'train'],
    ]);
    expect(ds.problems).toEqual([]);
  });

  it("handles Kaggle's car_data/car_data/ nesting", async () => {
    const ds = await loadDataset([
      img('car_data/car_data/train/A/1.jpg'),
      img('car_data/car_data/train/B/2.jpg'),
      img('car_data/car_data/test/A/3.jpg'),
      img('car_data/car_data/test/B/4.jpg'),
    ]);
    expect(ds.root).toBe('car_data/car_data');
    expect(ds.classNames).toEqual(['A', 'B']);
    expect(ds.images.map((r) => r.half)).toEqual(['test', 'test', 'train', 'train']);
  });

  it('reports a text file, a zero-byte image, a one-image class and a class with no usable images', async () => {
    const ds = await loadDataset([
      img('cars/A/1.jpg'),
      img('cars/A/2.jpg'),
      memoryFile('cars/A/notes.txt', 'hello'),
      memoryFile('cars/A/3.jpg', new Uint8Array(0)),
      img('cars/B/1.jpg'),
      memoryFile('cars/C/empty.png', new Uint8Array(0)),
      memoryFile('cars/README.md', 'not in a class folder: not reported'),
    ]);
    expect(ds.classNames).toEqual(['A', 'B']);
    expect(ds.images.map((r) => r.file.path)).toEqual(['cars/A/1.jpg', 'cars/A/2.jpg', 'cars/B/1.jpg']);
    expect(ds.problems).toEqual(
      expect.arrayContaining([
        { path: 'cars/A/notes.txt', message: 'Not an image (.txt); ignored.' },
        { path: 'cars/A/3.jpg', message: 'Empty image file (0 bytes); skipped.' },
        { path: 'cars/C/empty.png', message: 'Empty image file (0 bytes); skipped.' },
        { path: 'cars/C', message: 'Class "C" has no usable images; left out.' },
        { path: 'cars/B/1.jpg', kind: 'note', message: 'Class "B" has a single image: it is evaluated as a distractor, never a query.' },
      ]),
    );
    expect(ds.problems).toHaveLength(5);
  });

  it('ignores dotfiles and macOS metadata, counted in one line', async () => {
    const ds = await loadDataset([
      img('A/1.jpg'),
      img('A/2.jpg'),
      img('B/3.jpg'),
      img('B/4.jpg'),
      memoryFile('B/.DS_Store', 'x'),
      img('__MACOSX/B/._3.jpg'),
    ]);
    expect(ds.images).toHaveLength(4);
    expect(ds.problems).toEqual([{ path: '', kind: 'ignored', files: 2, message: '.DS_Store, __MACOSX/: 2 system files ignored.' }]);
  });
});

describe('no layout', () => {
  it('lists the layouts looked for and what each needs', async () => {
    const files = [memoryFile('readme.txt', 'hi'), img('photos/1.jpg'), img('photos/2.jpg')];
    const err = await loadDataset(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetLayoutError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/No known dataset layout in this folder \(3 files\)/);
    expect(msg).toMatch(/devkit\/cars_meta\.mat.*Not found: no cars_meta\.mat found/);
    expect(msg).toMatch(/anno_train\.csv.*names\.csv.*Not found: no names\.csv/);
    expect(msg).toMatch(/Class folders.*Not found: all images are in one folder \(photos\/\)/);
  });

  it('explains devkit image folders without annotations, and an empty folder', async () => {
    const msg = await loadDataset([img('cars_train/00001.jpg'), img('cars_test/00001.jpg')]).catch((e: Error) => e.message);
    expect(msg).toMatch(/cars_test\/ and cars_train\/ without the devkit annotations/);
    await expect(loadDataset([])).rejects.toThrow(/No known dataset layout in this folder \(0 files\)/);
  });
});

describe('imageIdentity and listFolderFiles', () => {
  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it('builds cache keys from path, size and modification time', () => {
    expect(imageIdentity(memoryFile('a/b.jpg', JPEG, 1234))).toBe(`a/b.jpg|${JPEG.length}|1234`);
  });

  it('lists files recursively, relative with /, skipping dotfiles, reading lazily', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'studio-files-'));
    tmp.push(dir);
    await mkdir(path.join(dir, 'Ram C-V/sub'), { recursive: true });
    await mkdir(path.join(dir, '.hidden'));
    await writeFile(path.join(dir, 'Ram C-V/sub/x.jpg'), JPEG);
    await writeFile(path.join(dir, 'top.txt'), 'top');
    await writeFile(path.join(dir, '.DS_Store'), 'x');
    await writeFile(path.join(dir, '.hidden/y.jpg'), JPEG);
    await symlink(path.join(dir, 'top.txt'), path.join(dir, 'link.txt'));
    await utimes(path.join(dir, 'top.txt'), 1_700_000_000, 1_700_000_000);
    const files: DatasetFile[] = await listFolderFiles(dir);
    expect(files.map((f) => f.path)).toEqual(['Ram C-V/sub/x.jpg', 'link.txt', 'top.txt']);
    const top = files.find((f) => f.path === 'top.txt')!;
    expect(top.size).toBe(3);
    expect(top.lastModified).toBe(1_700_000_000_000);
    expect(new Uint8Array(await files[0].arrayBuffer())).toEqual(JPEG);
    await expect(listFolderFiles(path.join(dir, 'nope'))).rejects.toThrow(/Not a folder/);
  });
});
