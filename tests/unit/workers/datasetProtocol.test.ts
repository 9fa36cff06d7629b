import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/dataset';
import type { DatasetFile } from '../../../src/core/data/datasetFile';
import { imageColumns, imagesFromColumns } from '../../../src/workers/datasetProtocol';

const file = (path: string): DatasetFile => ({ path, size: 1, lastModified: 0, arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)) });

describe("the dataset worker's answer as columns", () => {
  const files = ['a.jpg', 'b.jpg', 'c.png', 'd.jpg'].map(file);
  // images in another order than the files, with and without boxes (a box at 0 included), from every half
  const images: ImageRecord[] = [
    { file: files[2], classId: 3, half: 'test', bbox: { x1: 0, y1: 0, x2: 10, y2: 20 }, boxSource: 'Annotation 1 of cars_test_annos.mat' },
    { file: files[0], classId: 0, half: 'train' },
    { file: files[3], classId: 1, half: 'all', bbox: { x1: 5.5, y1: 6, x2: 7, y2: 8 } },
    { file: files[1], classId: 2, half: 'train', boxSource: 'row 4 of labels.csv' },
  ];

  it('gives back the same records, each with its own file, and no key that was absent', async () => {
    const columns = imageColumns(images, (image) => files.indexOf(image.file));
    for (const perTask of [4000, 1]) {
      const back = await imagesFromColumns(columns, files, perTask);
      expect(back).toEqual(images);
      expect(back.map((r) => r.file)).toEqual(images.map((r) => r.file));
      expect(Object.keys(back[1]).sort()).toEqual(['classId', 'file', 'half']);
    }
  });

  it('is typed arrays, which a message copies without reading record by record', () => {
    const c = imageColumns(images, (image) => files.indexOf(image.file));
    expect(Array.from(c.fileIndex)).toEqual([2, 0, 3, 1]);
    expect(Array.from(c.classId)).toEqual([3, 0, 1, 2]);
    expect(c.box).toBeInstanceOf(Float64Array);
    expect(Number.isNaN(c.box[4])).toBe(true);
  });
});
