import { describe, expect, it } from 'vitest';
import { splitClasses } from '../../../src/core/data/classSplit';
import type { Dataset } from '../../../src/core/data/dataset';
import { exportImages, scopeImageCount, validationGallery } from '../../../src/app/search/gallery';

// 9 classes, 5,000 images: more than one task's worth of rows (2,000 a task)
const classNames = Array.from({ length: 9 }, (_, i) => `class ${i}`);
const dataset: Dataset = {
  layout: 'class-folders',
  classNames,
  images: Array.from({ length: 5000 }, (_, i) => ({
    file: { path: `class ${i % 9}/${i}.jpg`, size: 100 + i, lastModified: 7, arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)) },
    classId: i % 9,
    half: 'all' as const,
  })),
  problems: [],
};
const split = splitClasses(9, { mode: 'seeded', seed: 42, trainFraction: 0.5 });

describe('the gallery and the export rows, built a slice a task', () => {
  it("counts each export scope's images as the export lists them", async () => {
    for (const scope of ['all', 'train', 'validation'] as const) {
      const rows = await exportImages(dataset, split, scope);
      expect(scopeImageCount(dataset, split, scope), scope).toBe(rows.identities.length);
      expect(rows.items.every((item) => scope === 'all' || item.split === scope)).toBe(true);
    }
    expect(scopeImageCount(dataset, split, 'all')).toBe(5000);
  });

  it('keeps every validation image once, in dataset order, with its label and identity', async () => {
    const { spec, images } = await validationGallery(dataset, split, { preprocessingKey: 'k', featureSize: 4 } as never);
    const expected = dataset.images.filter((im) => split.validationClasses.includes(im.classId));
    expect(images.map((im) => im.path)).toEqual(expected.map((im) => im.file.path));
    expect(Array.from(spec.labels)).toEqual(expected.map((im) => im.classId));
    expect(spec.identities[0]).toBe(`${expected[0].file.path}|${expected[0].file.size}|7`);
    expect(spec.items.length).toBe(expected.length);
  });
});
