import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedPath } from '../../support/shared';

/** A new empty folder under the system temp folder. */
export function tempFolder(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `studio-${prefix}-`));
}

/**
 * Copies images [from, to) of each of the first `classes` class folders of the shared
 * Stanford Cars subset into `root` (class-folders layout), for small, fast browser datasets.
 */
export function addCarImages(root: string, classes: number, from: number, to: number): string {
  const cars = sharedPath('data', 'stanford-cars-40-folders');
  for (const cls of readdirSync(cars).sort().slice(0, classes)) {
    mkdirSync(path.join(root, cls), { recursive: true });
    for (const img of readdirSync(path.join(cars, cls)).sort().slice(from, to)) {
      copyFileSync(path.join(cars, cls, img), path.join(root, cls, img));
    }
  }
  return root;
}
