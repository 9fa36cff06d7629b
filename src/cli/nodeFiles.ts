/**
 * DatasetFile on disk, for the CLI and Node tests: the same interface the browser's dropped
 * files get, so layouts and decoding do not know which shell they run in.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetFile } from '../core/data/datasetFile';

/** A DatasetFile for one file on disk; content is read only when asked for. */
export function diskFile(absolutePath: string, relativePath: string, size: number, lastModified: number): DatasetFile {
  return {
    path: relativePath,
    size,
    lastModified,
    async arrayBuffer() {
      const buf = await readFile(absolutePath);
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    },
  };
}

/**
 * Every file under `dir`, recursively, with paths relative to `dir` ('/'-separated, sorted).
 * Files and folders whose name starts with '.' are skipped; symbolic links are followed (each folder listed once).
 */
export async function listFolderFiles(dir: string): Promise<DatasetFile[]> {
  const root = path.resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`Not a folder: ${root}`);
  const out: DatasetFile[] = [];
  const seen = new Set<string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const real = await realpath(abs);
    if (seen.has(real)) return; // a symbolic link loop, or a folder linked twice
    seen.add(real);
    const entries = await readdir(abs, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const childAbs = path.join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(childAbs).catch(() => undefined);
        isDir = !!target?.isDirectory();
        isFile = !!target?.isFile();
      }
      if (isDir) {
        await walk(childAbs, childRel);
      } else if (isFile) {
        const s = await stat(childAbs);
        out.push(diskFile(childAbs, childRel, s.size, Math.floor(s.mtimeMs)));
      }
    }
  };
  await walk(root, '');
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/** One file on disk as a DatasetFile (for decoding single images in the CLI and tests). */
export async function diskDatasetFile(absolutePath: string, relativePath = path.basename(absolutePath)): Promise<DatasetFile> {
  const info = await stat(absolutePath);
  return diskFile(absolutePath, relativePath, info.size, info.mtimeMs);
}
