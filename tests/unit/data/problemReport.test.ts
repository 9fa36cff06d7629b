import { describe, expect, it } from 'vitest';
import { withEmbeddingNotes } from '../../../src/core/data/dataset';
import { memoryFile } from '../../../src/core/data/datasetFile';
import { loadDataset } from '../../../src/core/data/loadDataset';

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xd9]);
const img = (p: string) => memoryFile(p, JPEG);
const NAMES = 'Audi\nBMW\n';

describe('the problem report accounts for every file and folder not used', () => {
  it('counts system files in one line and names empty or image-less class folders', async () => {
    const ds = await loadDataset(
      [
        img('cars/A/1.jpg'),
        img('cars/A/2.jpg'),
        img('cars/B/3.jpg'),
        img('cars/B/4.jpg'),
        memoryFile('cars/.DS_Store', 'x'),
        memoryFile('cars/A/.DS_Store', 'x'),
        memoryFile('cars/B/Thumbs.db', 'x'),
        img('__MACOSX/cars/A/._1.jpg'),
        memoryFile('cars/D/notes.txt', 'x'),
      ],
      { folders: ['cars', 'cars/A', 'cars/B', 'cars/C', 'cars/D', '__MACOSX', '__MACOSX/cars'] },
    );
    expect(ds.classNames).toEqual(['A', 'B']);
    expect(ds.problems).toEqual([
      { path: '', kind: 'ignored', files: 4, message: '.DS_Store, Thumbs.db, __MACOSX/: 4 system files ignored.' },
      { path: 'cars/C', message: 'Class folder "C" is empty; left out.' },
      { path: 'cars/D', message: 'Class folder "D" holds no images (1 other file: notes.txt); left out.' },
    ]);
  });

  it('says a single system file in the singular', async () => {
    const ds = await loadDataset([img('A/1.jpg'), img('A/2.jpg'), img('B/1.jpg'), img('B/2.jpg'), memoryFile('Thumbs.db', 'x')]);
    expect(ds.problems).toEqual([{ path: '', kind: 'ignored', files: 1, message: 'Thumbs.db: 1 system file ignored.' }]);
  });

  it('keeps a file listed twice once, skips a zero-area box and clamps one outside the image, each with its row', async () => {
    const ds = await loadDataset([
      memoryFile('names.csv', NAMES),
      memoryFile('anno_train.csv', 'a.jpg,1,2,30,40,1\nb.jpg,5,5,5,20,1\na.jpg,1,2,30,40,1\nc.jpg,-4,3,50,60,2\nd.jpg,1,1,9,9,2\n'),
      img('a.jpg'),
      img('b.jpg'),
      img('c.jpg'),
      img('d.jpg'),
    ]);
    expect(ds.images.map((r) => [r.file.path, r.bbox ?? null])).toEqual([
      ['a.jpg', { x1: 1, y1: 2, x2: 30, y2: 40 }],
      ['b.jpg', null],
      ['c.jpg', { x1: 0, y1: 3, x2: 50, y2: 60 }],
      ['d.jpg', { x1: 1, y1: 1, x2: 9, y2: 9 }],
    ]);
    expect(ds.problems).toEqual([
      { path: 'b.jpg', kind: 'note', message: 'Row 2 of anno_train.csv: the box (5, 5)–(5, 20) has zero area; box skipped, the whole image is used.' },
      { path: 'a.jpg', kind: 'note', message: 'Row 3 of anno_train.csv lists a.jpg again (first: Row 1 of anno_train.csv); kept once.' },
      { path: 'c.jpg', kind: 'note', message: 'Row 4 of anno_train.csv: the box (-4, 3)–(50, 60) lies outside the image; clamped to (0, 3)–(50, 60).' },
    ]);
    // the row each kept box came from, for the note made when a box past the right or bottom edge is clamped at decode time
    expect(ds.images.map((r) => r.boxSource ?? null)).toEqual(['Row 1 of anno_train.csv', null, 'Row 4 of anno_train.csv', 'Row 5 of anno_train.csv']);
  });

  it('adds what embedding found to the report once, marked as found while embedding', () => {
    const dataset = { layout: 'csv' as const, classNames: ['A'], images: [], problems: [{ path: 'a.jpg', message: 'left out' }] };
    const note = { path: 'd.jpg', message: 'Row 5 of anno_train.csv: the box (1, 1)–(90, 9) lies outside the 64×48 image; clamped to (1, 1)–(64, 9).' };
    const once = withEmbeddingNotes(dataset, [note, note]);
    expect(once.problems).toEqual([dataset.problems[0], { ...note, kind: 'note', fromEmbedding: true }]);
    expect(withEmbeddingNotes(once, [note])).toBe(once);
    expect(dataset.problems).toHaveLength(1);
  });
});
