/**
 * Class folders: `<root>/<split?>/<class name>/<image>`, split being `train` or `test` (any
 * case) or absent. Class names are the folder names as given (the Kaggle copy replaced '/'
 * by '-'; we do not undo it). Classes of the train and test folders are merged by name.
 */
import type { DatasetProblem, ImageRecord } from '../dataset';
import type { DatasetFile } from '../datasetFile';
import {
  basename,
  compareCodeUnits,
  dirname,
  extension,
  finishDataset,
  IMAGE_EXTENSIONS,
  isImagePath,
  joinPath,
  type Layout,
  type RawEntry,
} from './common';

interface Placed {
  file: DatasetFile;
  root: string;
  className: string;
  half: ImageRecord['half'];
}

/** Where a file sits if its parent folder is a class folder. */
function place(file: DatasetFile): Placed | undefined {
  const classDir = dirname(file.path);
  if (classDir === '') return undefined;
  const className = basename(classDir);
  const parent = dirname(classDir);
  const split = basename(parent).toLowerCase();
  if (split === 'train' || split === 'test') {
    return { file, root: dirname(parent), className, half: split };
  }
  return { file, root: parent, className, half: 'all' };
}

export const classFoldersLayout: Layout = {
  name: 'class-folders',
  description:
    `Class folders: <class name>/<image> for each class, optionally inside train/ and test/ folders ` +
    `(images: ${IMAGE_EXTENSIONS.join(', ')})`,
  detect(files, folders) {
    const images = files.filter((f) => isImagePath(f.path)).map(place).filter((p): p is Placed => !!p);
    if (images.length === 0) return { fits: false, why: 'no images inside folders found' };
    // The root with the most images wins (the dropped folder may hold one extra level, e.g. car_data/car_data/).
    const perRoot = new Map<string, number>();
    for (const p of images) perRoot.set(p.root, (perRoot.get(p.root) ?? 0) + 1);
    const root = [...perRoot.entries()].sort((a, b) => b[1] - a[1] || compareCodeUnits(a[0], b[0]))[0][0];
    const inRoot = images.filter((p) => p.root === root);
    const classes = [...new Set(inRoot.map((p) => p.className))].sort(compareCodeUnits);
    if (classes.every((c) => /^cars_(train|test)$/i.test(c))) {
      return {
        fits: false,
        why: `images are in ${classes.map((c) => c + '/').join(' and ')} without the devkit annotations (devkit/cars_meta.mat)`,
      };
    }
    if (classes.length < 2) {
      return { fits: false, why: `all images are in one folder (${joinPath(root, classes[0])}/); one folder per class is needed` };
    }
    return {
      fits: true,
      load: async () => {
        const problems: DatasetProblem[] = [];
        const classId = new Map(classes.map((c, i) => [c, i]));
        const entries: RawEntry[] = inRoot
          .sort((a, b) => compareCodeUnits(a.file.path, b.file.path))
          .map((p) => ({ file: p.file, sourceClassId: classId.get(p.className)!, half: p.half }));
        const outside = images.length - inRoot.length;
        if (outside > 0) {
          problems.push({
            path: root,
            message: `${outside} image${outside === 1 ? ' is' : 's are'} outside the class folders of ${root || 'this folder'}/; ignored.`,
          });
        }
        // Other files inside the class folders.
        const classDirs = new Set(inRoot.map((p) => dirname(p.file.path)));
        for (const f of files) {
          if (!isImagePath(f.path) && classDirs.has(dirname(f.path))) {
            const ext = extension(f.path);
            problems.push({ path: f.path, message: `Not an image${ext ? ` (.${ext})` : ''}; ignored.` });
          }
        }
        // Class folders without a single image: empty, or holding other files only.
        const parents = new Set([...classDirs].map(dirname));
        const candidates = new Set([...(folders ?? []), ...files.map((f) => dirname(f.path))]);
        const imageless = [...candidates].filter((d) => d !== '' && parents.has(dirname(d)) && !classDirs.has(d)).sort(compareCodeUnits);
        for (const dir of imageless) {
          const inside = files.filter((f) => dirname(f.path) === dir);
          const below = files.some((f) => f.path.startsWith(dir + '/'));
          if (below && inside.length === 0) continue; // a folder of folders, not a class
          problems.push({
            path: dir,
            message:
              inside.length === 0
                ? `Class folder "${basename(dir)}" is empty; left out.`
                : `Class folder "${basename(dir)}" holds no images (${inside.length} other file${inside.length === 1 ? '' : 's'}: ${inside
                    .slice(0, 3)
                    .map((f) => basename(f.path))
                    .join(', ')}${inside.length > 3 ? ', …' : ''}); left out.`,
            ...(inside.length > 1 ? { files: inside.length } : {}),
          });
        }
        return finishDataset({ layout: 'class-folders', root, sourceClassNames: classes, entries, problems, hasClassList: false });
      },
    };
  },
};
