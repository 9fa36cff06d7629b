/**
 * The original Stanford Cars devkit: `cars_train/`, `cars_test/`, `devkit/cars_meta.mat`,
 * `devkit/cars_train_annos.mat` and `cars_test_annos_withlabels.mat` in `devkit/` or beside
 * it (torchvision's `stanford_cars/` puts it there). Either half may be absent.
 */
import type { DatasetProblem } from '../dataset';
import type { DatasetFile } from '../datasetFile';
import { MatFileError, matCellStrings, matScalar, matString, readMatFile, type MatStruct, type MatValue } from '../matFile';
import {
  basename,
  byDepthThenPath,
  dirname,
  findIn,
  finishDataset,
  isImagePath,
  joinPath,
  MissingFiles,
  type Layout,
  type RawEntry,
} from './common';

const HALF_FOLDERS = { train: 'cars_train', test: 'cars_test' } as const;

async function readMat(file: DatasetFile): Promise<Record<string, MatValue>> {
  try {
    return readMatFile(await file.arrayBuffer());
  } catch (err) {
    if (err instanceof MatFileError) throw new MatFileError(`${file.path}: ${err.message}`);
    throw err;
  }
}

/** Image files under `<root>/<folder>/` (any depth, e.g. Kaggle's cars_train/cars_train/), by file name. */
function imagesUnder(files: DatasetFile[], root: string, folder: string): Map<string, DatasetFile> {
  const prefix = joinPath(root, folder).toLowerCase() + '/';
  const byName = new Map<string, DatasetFile>();
  // only this folder's images sorted (the order among them is the same as in a sort of all files)
  const under = files.filter((f) => f.path.toLowerCase().startsWith(prefix) && isImagePath(f.path));
  for (const f of under.sort(byDepthThenPath)) {
    const name = basename(f.path);
    if (!byName.has(name)) byName.set(name, f);
  }
  return byName;
}

async function readHalf(
  annos: DatasetFile,
  half: 'train' | 'test',
  images: Map<string, DatasetFile>,
  imageFolder: string,
  classCount: number,
  problems: DatasetProblem[],
  entries: RawEntry[],
): Promise<void> {
  const vars = await readMat(annos);
  const a = vars.annotations;
  if (!a || a.kind !== 'struct') {
    throw new MatFileError(`${annos.path}: expected a struct array named 'annotations'`);
  }
  const s = a as MatStruct;
  if (!s.fieldNames.includes('fname') || !s.fieldNames.includes('class')) {
    problems.push({
      path: annos.path,
      message: `The annotations have no 'class' or 'fname' field (fields: ${s.fieldNames.join(', ')}); the ${half} half is skipped.`,
    });
    return;
  }
  const hasBox = ['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2'].every((f) => s.fieldNames.includes(f));
  const missing = new MissingFiles(problems, annos.path);
  const used = new Set<string>();
  s.elements.forEach((el, i) => {
    const where = `${annos.path} annotation ${i + 1}`;
    let fname: string;
    let cls: number;
    try {
      fname = matString(el.fname, `${where} fname`).trim();
      cls = matScalar(el.class, `${where} class`);
    } catch (err) {
      problems.push({ path: annos.path, message: `${(err as Error).message}; skipped.` });
      return;
    }
    if (!Number.isInteger(cls) || cls < 1 || cls > classCount) {
      problems.push({ path: annos.path, message: `Annotation ${i + 1} (${fname}) has class ${cls}, outside 1..${classCount}; skipped.` });
      return;
    }
    const file = images.get(basename(fname));
    if (!file) {
      missing.add(joinPath(imageFolder, fname));
      return;
    }
    used.add(file.path);
    const entry: RawEntry = { file, sourceClassId: cls - 1, half, where: `Annotation ${i + 1} of ${basename(annos.path)}` };
    if (hasBox) {
      const box = ['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2'].map((f) => matScalar(el[f], `${where} ${f}`));
      entry.bbox = { x1: box[0], y1: box[1], x2: box[2], y2: box[3] };
    }
    entries.push(entry);
  });
  missing.finish();
  const unlisted = [...images.values()].filter((f) => !used.has(f.path)).length;
  if (unlisted > 0) {
    problems.push({
      path: imageFolder,
      message: `${unlisted} image${unlisted === 1 ? '' : 's'} in this folder ${unlisted === 1 ? 'is' : 'are'} not in ${basename(annos.path)}; ignored.`,
    });
  }
}

export const devkitLayout: Layout = {
  name: 'devkit',
  description:
    'Stanford Cars devkit: cars_train/ and/or cars_test/ images, devkit/cars_meta.mat (class_names), ' +
    'devkit/cars_train_annos.mat and cars_test_annos_withlabels.mat (in devkit/ or beside it)',
  detect(files) {
    const meta = files.filter((f) => basename(f.path).toLowerCase() === 'cars_meta.mat').sort(byDepthThenPath)[0];
    if (!meta) return { fits: false, why: 'no cars_meta.mat found' };
    const devkitDir = dirname(meta.path);
    const root = basename(devkitDir).toLowerCase() === 'devkit' ? dirname(devkitDir) : devkitDir;
    const dirs = devkitDir === root ? [root] : [devkitDir, root];
    const trainAnnos = findIn(files, dirs, 'cars_train_annos.mat');
    const testLabelled = findIn(files, dirs, 'cars_test_annos_withlabels.mat');
    const testUnlabelled = findIn(files, dirs, 'cars_test_annos.mat');
    if (!trainAnnos && !testLabelled && !testUnlabelled) {
      return { fits: false, why: `found ${meta.path} but no cars_train_annos.mat or cars_test_annos_withlabels.mat beside it` };
    }
    return {
      fits: true,
      load: async () => {
        const metaVars = await readMat(meta);
        let classNames: string[];
        try {
          classNames = matCellStrings(metaVars.class_names, 'class_names');
        } catch (err) {
          throw new MatFileError(`${meta.path}: ${(err as Error).message}`);
        }
        const problems: DatasetProblem[] = [];
        const entries: RawEntry[] = [];
        const halves: { half: 'train' | 'test'; annos?: DatasetFile }[] = [
          { half: 'train', annos: trainAnnos },
          { half: 'test', annos: testLabelled },
        ];
        if (!testLabelled && testUnlabelled) {
          problems.push({
            path: testUnlabelled.path,
            message:
              'cars_test_annos.mat has no class labels; the test half is skipped. ' +
              'Add cars_test_annos_withlabels.mat (in devkit/ or beside it) to use it.',
          });
        }
        for (const { half, annos } of halves) {
          if (!annos) continue;
          const folder = joinPath(root, HALF_FOLDERS[half]);
          const images = imagesUnder(files, root, HALF_FOLDERS[half]);
          if (images.size === 0) {
            problems.push({
              path: folder,
              message: `No images in ${HALF_FOLDERS[half]}/ for the annotations in ${basename(annos.path)}; the ${half} half is skipped.`,
            });
            continue;
          }
          await readHalf(annos, half, images, folder, classNames.length, problems, entries);
        }
        return finishDataset({
          layout: 'devkit',
          root,
          sourceClassNames: classNames,
          classListPath: meta.path,
          entries,
          problems,
          hasClassList: true,
        });
      },
    };
  },
};
