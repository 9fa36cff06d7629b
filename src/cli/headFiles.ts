import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageEncoder } from '../core/encoder/loadEncoder';
import { exportHead, HEAD_FILE_NOTES, HEAD_FILES } from '../core/export/headExport';
import { modelReadme, type RunReadmeInfo } from '../core/export/modelReadme';
import { similarityModelExport } from '../core/export/similarityModelExport';
import type { EncoderTop } from '../core/encoder/encoderTop';
import { encoderTopSafetensors, TOP_FILE } from '../core/export/topExport';
import type { Head, NamedWeights } from '../core/train/heads';

/** The fine-tuned top's weights, beside the head's (the same file as the studio's head download). */
export { TOP_FILE };

async function writeFiles(folder: string, files: Record<string, Uint8Array | string>): Promise<string[]> {
  const written: string[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    const target = path.join(folder, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    written.push(target);
  }
  return written;
}

/**
 * Writes a trained head in every export format (safetensors + config, TF.js) and its README
 * into `folder`; with a fine-tuned `top`, also its weights under the encoder's layer names
 * (top.safetensors: apart, so model.safetensors still loads strictly into SkipConnectionHead).
 */
export async function writeHeadExport(
  folder: string,
  head: Head,
  info: { dropout: number; readme: RunReadmeInfo; top?: EncoderTop },
): Promise<string[]> {
  const exported = await exportHead(head.getWeights(), {
    kind: 'skip-connection',
    dim: head.dim,
    dropout: info.dropout,
    encoderCard: { ...info.readme.encoder },
    studioVersion: info.readme.studioVersion,
  });
  const topFiles: Record<string, Uint8Array> = {};
  const notes = [...HEAD_FILE_NOTES];
  if (info.top) {
    const tensors: NamedWeights = {};
    for (const w of info.top.weights) tensors[w.name] = { shape: w.variable.shape.slice(), data: Float32Array.from(w.variable.dataSync() as Float32Array) };
    topFiles[TOP_FILE] = encoderTopSafetensors(tensors, { cut: info.top.cutLayer, encoder: info.readme.encoder.name, layers: info.top.layerNames });
    notes.push({ path: TOP_FILE, what: `the fine-tuned encoder top (from the cut \`${info.top.cutLayer}\` to the feature), its weights under the encoder's layer names; the whole model (model/) has them built in` });
  }
  const readme = modelReadme({
    ...info.readme,
    kind: 'head',
    files: notes,
    tfjsModelPath: HEAD_FILES.tfjsModel,
    pytorch: { safetensors: HEAD_FILES.safetensors, config: HEAD_FILES.config },
  });
  return writeFiles(folder, { [HEAD_FILES.readme]: readme, ...exported.files, ...topFiles });
}

/** Writes the whole similarity model (image in, tuned embedding out) and its README into `folder`. */
export async function writeSimilarityModel(
  folder: string,
  encoder: ImageEncoder,
  head: Head,
  readme: RunReadmeInfo,
): Promise<string[]> {
  return writeFiles(folder, await similarityModelExport(encoder, head.getWeights(), readme));
}
