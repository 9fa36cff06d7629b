import { BrowserDatasetFile } from '../../workers/browserFile';

/** A folder the person dropped or picked: its name and every file below it. */
export interface PickedFolder {
  /** Name of the top folder ('' when loose files were dropped). */
  name: string;
  /** Paths relative to that folder, '/'-separated. */
  files: BrowserDatasetFile[];
  /** Every folder below it (relative paths), empty ones included; a dropped folder only (a picker does not list folders). */
  folders?: string[];
}

export type ReadProgress = (filesFound: number) => void;

/** All entries of a directory: `readEntries` returns them in batches (about 100) until empty. */
async function readAllEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(
  entry: FileSystemEntry,
  prefix: string,
  out: BrowserDatasetFile[],
  folders: string[],
  onProgress?: ReadProgress,
): Promise<void> {
  if (entry.isFile) {
    out.push(new BrowserDatasetFile(prefix + entry.name, await fileOf(entry as FileSystemFileEntry)));
    return;
  }
  if (!entry.isDirectory) return;
  folders.push(prefix.replace(/\/$/, ''));
  const children = await readAllEntries(entry as FileSystemDirectoryEntry);
  const files = children.filter((c) => c.isFile) as FileSystemFileEntry[];
  const got = await Promise.all(files.map(fileOf));
  files.forEach((f, i) => out.push(new BrowserDatasetFile(prefix + f.name, got[i])));
  onProgress?.(out.length);
  for (const child of children) {
    if (child.isDirectory) await walk(child, `${prefix}${child.name}/`, out, folders, onProgress);
  }
}

/**
 * Reads a drop. The entries must be taken synchronously inside the drop event (the
 * DataTransfer empties afterwards), so call this from the handler and await it after.
 * One dropped folder: paths are relative to it. Several items: relative to the drop.
 */
export function readDrop(dataTransfer: DataTransfer, onProgress?: ReadProgress): Promise<PickedFolder> {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(dataTransfer.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
  }
  return (async () => {
    const files: BrowserDatasetFile[] = [];
    const folders: string[] = [];
    if (entries.length === 1 && entries[0].isDirectory) {
      const root = entries[0] as FileSystemDirectoryEntry;
      for (const child of await readAllEntries(root)) {
        await walk(child, child.isDirectory ? `${child.name}/` : '', files, folders, onProgress);
      }
      onProgress?.(files.length);
      return { name: root.name, files, folders };
    }
    for (const entry of entries) await walk(entry, entry.isDirectory ? `${entry.name}/` : '', files, folders, onProgress);
    onProgress?.(files.length);
    return { name: '', files, folders };
  })();
}

/** The files of `<input type=file webkitdirectory>`: `webkitRelativePath` starts with the folder's name. */
export function readPicked(list: FileList): PickedFolder {
  const files: BrowserDatasetFile[] = [];
  let name = '';
  for (const file of Array.from(list)) {
    const rel = file.webkitRelativePath || file.name;
    const slash = rel.indexOf('/');
    if (slash > 0 && !name) name = rel.slice(0, slash);
    files.push(new BrowserDatasetFile(slash > 0 ? rel.slice(slash + 1) : rel, file));
  }
  return { name, files };
}

/** A folder holding a TF.js model (model.json at its top) rather than a dataset. */
export function looksLikeModelFolder(folder: PickedFolder): boolean {
  return folder.files.some((f) => f.path === 'model.json') && folder.files.length < 500;
}
