import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportHead } from '../core/export/headExport';
import type { ModelCard } from '../core/encoder/modelCard';
import type { Head } from '../core/train/heads';

/** Writes a trained head in every export format (safetensors + config, TF.js) into `folder`. */
export async function writeHeadExport(
  folder: string,
  head: Head,
  info: { dropout: number; card: ModelCard; studioVersion: string },
): Promise<string[]> {
  const exported = exportHead(head.getWeights(), {
    kind: 'skip-connection',
    dim: head.dim,
    dropout: info.dropout,
    encoderCard: { ...info.card },
    studioVersion: info.studioVersion,
  });
  const written: string[] = [];
  for (const [name, bytes] of Object.entries(exported.files)) {
    const target = path.join(folder, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    written.push(target);
  }
  return written;
}
