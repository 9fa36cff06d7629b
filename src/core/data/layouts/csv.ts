/**
 * CSV annotations: `anno_train.csv` / `anno_test.csv` without header
 * (`fname,x1,y1,x2,y2,class`, class 1-based) and `names.csv` (one class per line), as in
 * the Kaggle copy of Stanford Cars. Images are found by file name anywhere in the folder;
 * when a name occurs more than once (Kaggle's train/ and test/ both have 00001.jpg), the
 * one inside a folder named after the half (train, cars_train / test, cars_test) wins.
 */
import Papa from 'papaparse';
import type { DatasetProblem } from '../dataset';
import { readText, type DatasetFile } from '../datasetFile';
import {
  basename,
  byDepthThenPath,
  dirname,
  findIn,
  finishDataset,
  isImagePath,
  MissingFiles,
  type Layout,
  type RawEntry,
} from './common';

const HALF_DIR: Record<'train' | 'test', RegExp> = { train: /^(cars_)?train$/i, test: /^(cars_)?test$/i };

/** One class per line; surrounding quotes removed; trailing blank lines ignored. */
export function parseNames(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.map((line) => {
    const t = line.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
  });
}

function resolveImage(
  byName: Map<string, DatasetFile[]>,
  fname: string,
  half: 'train' | 'test',
  className: string,
): DatasetFile[] {
  const wanted = fname.replace(/\\/g, '/').replace(/^\.?\//, '');
  let found = (byName.get(basename(wanted).toLowerCase()) ?? []).filter((f) => {
    const p = f.path.toLowerCase();
    const w = wanted.toLowerCase();
    return p === w || p.endsWith('/' + w);
  });
  if (found.length > 1) {
    const inHalf = found.filter((f) => dirname(f.path).split('/').some((seg) => HALF_DIR[half].test(seg)));
    if (inHalf.length > 0) found = inHalf;
  }
  if (found.length > 1) {
    const folderName = className.replace(/\//g, '-');
    const inClass = found.filter((f) => {
      const parent = basename(dirname(f.path));
      return parent === className || parent === folderName;
    });
    if (inClass.length > 0) found = inClass;
  }
  return found;
}

export const csvLayout: Layout = {
  name: 'csv',
  description:
    'CSV: anno_train.csv and/or anno_test.csv (fname,x1,y1,x2,y2,class per line, no header, class 1-based) ' +
    'with names.csv (one class name per line); images anywhere in the folder',
  detect(files) {
    const names = files.filter((f) => basename(f.path).toLowerCase() === 'names.csv').sort(byDepthThenPath)[0];
    const annoAnywhere = files.some((f) => /^anno_(train|test)\.csv$/i.test(basename(f.path)));
    if (!names) {
      return { fits: false, why: annoAnywhere ? 'found anno_*.csv but no names.csv' : 'no names.csv or anno_*.csv found' };
    }
    const root = dirname(names.path);
    const train = findIn(files, [root], 'anno_train.csv');
    const test = findIn(files, [root], 'anno_test.csv');
    if (!train && !test) return { fits: false, why: `found ${names.path} but no anno_train.csv or anno_test.csv beside it` };
    return {
      fits: true,
      load: async () => {
        const classNames = parseNames(await readText(names));
        const problems: DatasetProblem[] = [];
        classNames.forEach((n, i) => {
          if (n === '') {
            classNames[i] = `(unnamed class ${i + 1})`;
            problems.push({ path: names.path, message: `Line ${i + 1} is blank; the class is called "${classNames[i]}".` });
          }
        });
        const byName = new Map<string, DatasetFile[]>();
        for (const f of [...files].sort(byDepthThenPath)) {
          if (!isImagePath(f.path)) continue;
          const key = basename(f.path).toLowerCase();
          const list = byName.get(key);
          if (list) list.push(f);
          else byName.set(key, [f]);
        }
        const entries: RawEntry[] = [];
        for (const [half, annos] of [['train', train], ['test', test]] as const) {
          if (!annos) continue;
          const parsed = Papa.parse<string[]>(await readText(annos), { skipEmptyLines: 'greedy' });
          for (const err of parsed.errors.slice(0, 5)) {
            problems.push({ path: annos.path, message: `CSV problem on row ${(err.row ?? 0) + 1}: ${err.message}.` });
          }
          const missing = new MissingFiles(problems, annos.path);
          parsed.data.forEach((row, i) => {
            const cells = row.map((c) => c.trim());
            const nums = cells.slice(1, 6).map(Number);
            if (cells.length < 6 || nums.some((n) => !Number.isFinite(n)) || cells[5] === '') {
              // A header line is tolerated silently; anything else is reported.
              if (!(i === 0 && cells.length >= 6 && !Number.isFinite(Number(cells[5])))) {
                problems.push({ path: annos.path, message: `Row ${i + 1} is not "fname,x1,y1,x2,y2,class"; skipped.` });
              }
              return;
            }
            const [x1, y1, x2, y2, cls] = nums;
            if (!Number.isInteger(cls) || cls < 1 || cls > classNames.length) {
              problems.push({ path: annos.path, message: `Row ${i + 1} has class ${cls}, outside 1..${classNames.length}; skipped.` });
              return;
            }
            const found = resolveImage(byName, cells[0], half, classNames[cls - 1]);
            if (found.length === 0) {
              missing.add(cells[0]);
              return;
            }
            if (found.length > 1) {
              problems.push({
                path: found[0].path,
                message: `Row ${i + 1} of ${basename(annos.path)} names "${cells[0]}", which matches ${found.length} files; using this one.`,
              });
            }
            entries.push({ file: found[0], sourceClassId: cls - 1, half, bbox: { x1, y1, x2, y2 }, where: `Row ${i + 1} of ${basename(annos.path)}` });
          });
          missing.finish();
        }
        return finishDataset({
          layout: 'csv',
          root,
          sourceClassNames: classNames,
          classListPath: names.path,
          entries,
          problems,
          hasClassList: true,
        });
      },
    };
  },
};
