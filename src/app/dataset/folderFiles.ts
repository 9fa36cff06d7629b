import { BrowserDatasetFile } from '../../workers/browserFile';
import { nextTask } from '../../workers/nextTask';

/** A folder the person dropped or picked: its name and every file below it. */
export interface PickedFolder {
  /** Name of the top folder ('' when loose files were dropped). */
  name: string;
  /** Paths relative to that folder, '/'-separated. */
  files: BrowserDatasetFile[];
  /** Every folder below it (relative paths), empty ones included; a dropped folder only (a picker does not list folders). */
  folders?: string[];
  /** The dropped folder's File System Access handle, where the browser gives one (to reconnect it later). */
  handle?: FileSystemDirectoryHandle;
}

/** The parts of the File System Access API used here (not all are in TypeScript's DOM types yet). */
interface DirectoryHandleLike {
  kind: 'directory';
  name: string;
  values(): AsyncIterable<{ kind: 'file' | 'directory'; name: string; getFile?: () => Promise<File> }>;
  queryPermission?(options: { mode: 'read' }): Promise<PermissionState>;
  requestPermission?(options: { mode: 'read' }): Promise<PermissionState>;
}

/** Whether the page may read the folder now, without asking ('granted'), or must ask ('prompt'). */
export async function folderPermission(handle: FileSystemDirectoryHandle): Promise<PermissionState | 'unsupported'> {
  const h = handle as unknown as DirectoryHandleLike;
  return h.queryPermission ? h.queryPermission({ mode: 'read' }) : 'unsupported';
}

/** Asks the person (a browser prompt) to let the page read the folder again; must follow a click. */
export async function requestFolderPermission(handle: FileSystemDirectoryHandle): Promise<PermissionState | 'unsupported'> {
  const h = handle as unknown as DirectoryHandleLike;
  return h.requestPermission ? h.requestPermission({ mode: 'read' }) : 'unsupported';
}

/** Every file and folder below a directory handle (read permission granted). */
export async function readHandle(handle: FileSystemDirectoryHandle, onProgress?: ReadProgress): Promise<PickedFolder> {
  const files: BrowserDatasetFile[] = [];
  const folders: string[] = [];
  const visit = async (dir: DirectoryHandleLike, prefix: string): Promise<void> => {
    for await (const entry of dir.values()) {
      if (entry.kind === 'file' && entry.getFile) {
        files.push(new BrowserDatasetFile(prefix + entry.name, await entry.getFile()));
      } else if (entry.kind === 'directory') {
        folders.push(prefix + entry.name);
        await visit(entry as unknown as DirectoryHandleLike, `${prefix}${entry.name}/`);
        onProgress?.(files.length);
      }
    }
  };
  await visit(handle as unknown as DirectoryHandleLike, '');
  return { name: handle.name, files, folders, handle };
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

/**
 * Files asked for at once. Each `entry.file()` costs the main thread 0.3-1 ms (most of it in
 * the browser, answering): 8,000 at once froze the page for 5-6 s, 100 at once made ~100 ms tasks.
 */
const FILES_PER_TASK = 20;

/** The files of `entries` added to `out`, in order, a batch per task. */
async function addFiles(entries: FileSystemFileEntry[], prefix: string, out: BrowserDatasetFile[]): Promise<void> {
  for (let i = 0; i < entries.length; i += FILES_PER_TASK) {
    if (i > 0) await nextTask();
    const batch = entries.slice(i, i + FILES_PER_TASK);
    const got = await Promise.all(batch.map(fileOf));
    batch.forEach((f, j) => out.push(new BrowserDatasetFile(prefix + f.name, got[j])));
  }
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
  await addFiles(files, prefix, out);
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
  const handles: Promise<FileSystemHandle | null>[] = [];
  for (const item of Array.from(dataTransfer.items)) {
    if (item.kind !== 'file') continue;
    const getHandle = (item as { getAsFileSystemHandle?: () => Promise<FileSystemHandle | null> }).getAsFileSystemHandle;
    if (getHandle) handles.push(getHandle.call(item).catch(() => null));
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
  }
  const folderHandle = async (): Promise<FileSystemDirectoryHandle | undefined> => {
    if (handles.length !== 1) return undefined;
    const h = await handles[0];
    return h && h.kind === 'directory' ? (h as FileSystemDirectoryHandle) : undefined;
  };
  return (async () => {
    const files: BrowserDatasetFile[] = [];
    const folders: string[] = [];
    if (entries.length === 1 && entries[0].isDirectory) {
      const root = entries[0] as FileSystemDirectoryEntry;
      for (const child of await readAllEntries(root)) {
        await walk(child, child.isDirectory ? `${child.name}/` : '', files, folders, onProgress);
      }
      onProgress?.(files.length);
      const handle = await folderHandle();
      return { name: root.name, files, folders, ...(handle ? { handle } : {}) };
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
