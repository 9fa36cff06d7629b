/**
 * Reading a trained head back (its `<run>-head.zip`, or the loose files) and saving downloads.
 * The zip itself is built in the export worker (src/workers/headArchive.ts).
 */
import { unzipSync } from 'fflate';
import type { ImportedHead } from '../../core/export/headExport';
import { decodeSafetensors } from '../../core/export/safetensors';
import { TOP_FILE } from '../../core/export/topExport';
import type { NamedWeights } from '../../core/train/heads';
import type { TrainingConfig } from '../../core/train/trainer';
import { RUN_INFO_FILE, type HeadRunInfo } from '../../workers/headArchive';
import type { EvaluationOptions } from '../../workers/searchProtocol';

export { runFileStem, runReadmeInfo, RUN_INFO_FILE, type HeadRunInfo } from '../../workers/headArchive';

/** The head's formats need tfjs: loaded when a head is first read, so the page starts without it. */
const headExport = () => import('../../core/export/headExport');

export interface LoadedHead {
  /** File name of what was loaded (the zip's, or the model file's). */
  name: string;
  head: ImportedHead;
  run: HeadRunInfo | null;
  /** A fine-tuned run's top (top.safetensors beside the head): the head reads the features it gives. */
  top: { weights: NamedWeights; cut: string } | null;
}

/** Reads a head from picked or dropped files: a zip, or model.safetensors (+ config.json, studio.json) or model.json + weights.bin. */
export async function readHeadFiles(files: File[]): Promise<LoadedHead> {
  if (files.length === 0) throw new Error('No files given');
  const contents: Record<string, Uint8Array> = {};
  let name = files[0].name;
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (/\.zip$/i.test(f.name)) {
      name = f.name;
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(bytes);
      } catch (e) {
        throw new Error(`${f.name} is not a readable zip: ${e instanceof Error ? e.message : String(e)}`);
      }
      for (const [path, data] of Object.entries(entries)) if (!path.endsWith('/')) contents[path] = data;
    } else {
      contents[f.webkitRelativePath || f.name] = bytes;
      if (/\.safetensors$|model\.json$/i.test(f.name)) name = f.name;
    }
  }
  const { importHead } = await headExport();
  const head = importHead(contents);
  const infoKey = Object.keys(contents).find((k) => k.split('/').pop() === RUN_INFO_FILE);
  let run: HeadRunInfo | null = null;
  if (infoKey) {
    try {
      run = JSON.parse(new TextDecoder().decode(contents[infoKey])) as HeadRunInfo;
    } catch {
      run = null;
    }
  }
  const topKey = Object.keys(contents).find((k) => k.split('/').pop() === TOP_FILE);
  let top: LoadedHead['top'] = null;
  if (topKey) {
    let file: ReturnType<typeof decodeSafetensors>;
    try {
      file = decodeSafetensors(contents[topKey]);
    } catch (e) {
      throw new Error(`${TOP_FILE} (the fine-tuned encoder top) is not readable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!file.metadata.cut) throw new Error(`${TOP_FILE} does not name the cut its top starts from`);
    top = { weights: file.tensors, cut: file.metadata.cut };
  }
  return { name, head, run, top };
}

/** How a head is measured: its run's settings, else the training defaults (cosine, every query). */
export function evaluationOf(config: TrainingConfig | undefined | null): EvaluationOptions {
  return {
    distance: config?.loss.distance ?? 'cosine',
    queryCount: config?.validationQueries ?? null,
    seed: config?.seed ?? 42,
  };
}

/** Saves bytes or a Blob as a download (a Blob URL on a temporary link). */
export function download(data: Blob | Uint8Array, name: string, type = 'application/octet-stream'): void {
  const blob = data instanceof Blob ? data : new Blob([data as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
