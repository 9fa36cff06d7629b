/**
 * The trained head as one archive, built where the weights are read (the export worker):
 * `<run>-head.zip` holding the safetensors + config.json (quaterion-models'
 * SkipConnectionHead), the TF.js model.json + weights.bin, studio.json (with the encoder's
 * model card), a README and run.json (the run's settings and metrics, so a head loaded back is
 * measured the way its run was); a fine-tuned run's top as top.safetensors.
 */
import { zipSync } from 'fflate';
import { modelReadme, type RunReadmeInfo } from '../core/export/modelReadme';
import { encoderTopSafetensors, TOP_FILE } from '../core/export/topExport';
import type { NamedWeights } from '../core/train/heads';
import type { TrainingConfig } from '../core/train/trainer';
import { STUDIO_VERSION } from '../core/version';
import type { RunRecord } from '../storage/runHistory';
import type { RetrievalSummary } from './trainProtocol';

/** The head's formats need tfjs: loaded when a head is first exported. */
const headExport = () => import('../core/export/headExport');

/** run.json: what the zip says about the run that made the head. */
export interface HeadRunInfo {
  name: string;
  runId: string;
  dataset: string;
  encoderName: string;
  bestEpoch: number;
  config: TrainingConfig;
  baseline: RetrievalSummary;
  tuned: RetrievalSummary | null;
  /** The head the run continued from, when it did not start from a fresh one. */
  startedFrom?: string;
}

export const RUN_INFO_FILE = 'run.json';

/** A file-name-safe stem for a run: `cars-40-mobilenet-v1-2025-05-01-12-30-05`. */
export function runFileStem(run: Pick<RunRecord, 'createdAt' | 'about'>): string {
  const d = new Date(run.createdAt);
  const pad = (n: number) => String(n).padStart(2, '0');
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40);
  return [slug(run.about.datasetName), slug(run.about.encoderName), when].filter(Boolean).join('-');
}

/** What a download's README says of the run behind it (everything but the file list). */
export function runReadmeInfo(
  run: RunRecord,
  encoderCard: Record<string, unknown>,
  tuned: RetrievalSummary | null,
): RunReadmeInfo {
  return {
    title: `${run.about.datasetName} · ${run.about.encoderName} · run of ${new Date(run.createdAt).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
    encoder: { ...encoderCard, name: typeof encoderCard.name === 'string' ? encoderCard.name : run.about.encoderName },
    distance: run.config.loss.distance,
    split: {
      ...run.about.split,
      trainClasses: run.trainClasses,
      validationClasses: run.validationClasses,
      trainImages: run.trainImages,
      validationImages: run.validationImages,
    },
    baseline: run.baseline,
    tuned,
    bestEpoch: run.bestEpoch,
    fineTunedTop: run.fineTuning ? { cut: run.fineTuning.cut, layers: run.fineTuning.topLayers, weightsFile: TOP_FILE } : null,
    created: new Date().toISOString(),
    studioVersion: STUDIO_VERSION,
  };
}

/**
 * The zip of a run's head; `encoderCard` is the model card written into studio.json. `top`: a
 * fine-tuned run's top (its best epoch's), written as top.safetensors.
 */
export async function headZip(
  run: RunRecord,
  weights: NamedWeights,
  encoderCard: Record<string, unknown>,
  tuned: RetrievalSummary | null,
  top?: { weights: NamedWeights; cut: string; epoch: number },
): Promise<{ name: string; bytes: Uint8Array }> {
  if (run.fineTuning && !top) throw new Error("This run fine-tuned the encoder's top but has no stored top weights: its head alone is not the trained model");
  const dim = weights.gates_0?.data.length;
  if (!dim) throw new Error('These weights are not a skip-connection head (no gates_0)');
  const { exportHead, HEAD_FILE_NOTES, HEAD_FILES } = await headExport();
  const ex = await exportHead(weights, { kind: 'skip-connection', dim, dropout: run.config.head.dropout, encoderCard, studioVersion: STUDIO_VERSION });
  const stem = `${runFileStem(run)}-head`;
  const info: HeadRunInfo = {
    name: stem,
    runId: run.id,
    dataset: run.about.datasetName,
    encoderName: run.about.encoderName,
    bestEpoch: run.bestEpoch,
    config: run.config,
    baseline: run.baseline,
    tuned,
    ...(run.about.startedFrom ? { startedFrom: run.about.startedFrom } : {}),
  };
  const readme = modelReadme({
    ...runReadmeInfo(run, encoderCard, tuned),
    kind: 'head',
    files: [
      ...HEAD_FILE_NOTES,
      ...(top ? [{ path: TOP_FILE, what: `the fine-tuned encoder top's weights (the layers after \`${top.cut}\`) under their TF.js layer/weight names: the head reads the encoder's feature with these weights in it` }] : []),
      { path: RUN_INFO_FILE, what: "the run's settings and metrics (the studio reads it when the head is loaded back)" },
    ],
    tfjsModelPath: HEAD_FILES.tfjsModel,
    pytorch: { safetensors: HEAD_FILES.safetensors, config: HEAD_FILES.config },
  });
  const files: Record<string, Uint8Array> = {};
  const encode = (text: string) => new TextEncoder().encode(text);
  files[`${stem}/${HEAD_FILES.readme}`] = encode(readme);
  for (const [name, bytes] of Object.entries(ex.files)) files[`${stem}/${name}`] = bytes;
  if (top) {
    const encoder = typeof encoderCard.name === 'string' ? encoderCard.name : run.about.encoderName;
    files[`${stem}/${TOP_FILE}`] = encoderTopSafetensors(top.weights, { cut: top.cut, encoder, epoch: top.epoch });
  }
  files[`${stem}/${RUN_INFO_FILE}`] = encode(JSON.stringify(info, null, 2) + '\n');
  // stored, not deflated: float32 weights barely compress and the zip is written at once
  return { name: `${stem}.zip`, bytes: zipSync(files, { level: 0 }) };
}
