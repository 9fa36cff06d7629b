import { copyFile, link, mkdir, readdir, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { readMatFile, matString, type MatStruct } from '../core/data/matFile';

/**
 * A stand-in for the whole Stanford Cars download, for the scale benchmark: the real devkit
 * annotations of all 16,185 images, with every annotated file name linked to one of the
 * real car images we have (copied once beside `target`, then hard-linked: browsers skip
 * symbolic links in a dropped folder). Layout, parsing, caching, embedding, training and evaluation
 * then run at full size; the labels do not match the pictures, so the quality numbers of
 * such a run mean nothing, only its time and memory do.
 */
export async function buildFullScaleDevkit(devkitFolder: string, imagesFolder: string, target: string): Promise<{ linked: number; sources: number }> {
  const images = (await readdir(imagesFolder)).filter((name) => name.endsWith('.jpg')).sort();
  if (images.length === 0) throw new Error(`No .jpg images in ${imagesFolder}.`);
  const sources = `${target}-sources`;
  await mkdir(sources, { recursive: true });
  for (const name of images) {
    // the originals' times kept: a folder built again has the same image identities (path|size|lastModified), so a kept cache still holds them
    const from = path.join(imagesFolder, name);
    await copyFile(from, path.join(sources, name));
    const { atime, mtime } = await stat(from);
    await utimes(path.join(sources, name), atime, mtime);
  }
  await mkdir(path.join(target, 'devkit'), { recursive: true });
  await copyFile(path.join(devkitFolder, 'cars_meta.mat'), path.join(target, 'devkit', 'cars_meta.mat'));
  await copyFile(path.join(devkitFolder, 'cars_train_annos.mat'), path.join(target, 'devkit', 'cars_train_annos.mat'));
  // torchvision's placement: the labelled test annotations beside the image folders.
  await copyFile(path.join(devkitFolder, 'cars_test_annos_withlabels.mat'), path.join(target, 'cars_test_annos_withlabels.mat'));
  let linked = 0;
  for (const [annotations, folder] of [
    ['cars_train_annos.mat', 'cars_train'],
    ['cars_test_annos_withlabels.mat', 'cars_test'],
  ] as const) {
    const mat = readMatFile(await readFile(path.join(devkitFolder, annotations)));
    const records = mat.annotations as MatStruct;
    await mkdir(path.join(target, folder), { recursive: true });
    for (const element of records.elements) {
      const name = matString(element.fname, 'fname');
      await link(path.join(sources, images[linked % images.length]), path.join(target, folder, name));
      linked++;
    }
  }
  return { linked, sources: images.length };
}
