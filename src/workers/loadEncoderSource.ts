/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import { findModelJson, readModelJson } from '../core/encoder/filesIOHandler';
import { downloadFailure } from '../core/encoder/loadFailure';
import { inferModelCard } from '../core/encoder/inferModelCard';
import { loadEncoder, type ImageEncoder } from '../core/encoder/loadEncoder';
import type { ModelCard } from '../core/encoder/modelCard';
import { ModelStore, artifactBytes } from '../storage/modelStore';
import { BrowserDatasetFile } from './browserFile';
import { countingFetch } from './countingFetch';
import type { DownloadBytes, EncoderSource, EncoderSummary } from './embedProtocol';

/** A download that failed; its message names the URL, the cause and the model-folder route. */
export class EncoderDownloadError extends Error {
  override name = 'EncoderDownloadError';
}

/** A model's weights resolved to something every backend can load again, plus its card. */
export interface ResolvedModel {
  card: ModelCard;
  /** Fresh IOHandler each call, so the encoder can be loaded once per backend. */
  handler(): tf.io.IOHandler | BrowserDatasetFile[];
  from: EncoderSummary['from'];
  bytes?: number;
}

/**
 * Resolves an encoder source. A URL is read from the model store when it was downloaded
 * before (so it works offline), else downloaded with progress and stored; a dropped
 * folder is read from its files. Without a card, one is inferred from model.json.
 */
export async function resolveModel(
  source: EncoderSource,
  onProgress: (from: EncoderSummary['from'], fraction: number, bytes?: DownloadBytes) => void,
): Promise<ResolvedModel> {
  if (source.kind === 'files') {
    const files = source.files.map((f) => new BrowserDatasetFile(f.path, f.file));
    const json = findModelJson(files);
    if (!json) throw new Error(`No model.json among the ${files.length} dropped model files.`);
    onProgress('files', 0);
    const card = source.card ?? inferModelCard(await readModelJson(json));
    onProgress('files', 1);
    return {
      card,
      handler: () => files,
      from: 'files',
      bytes: files.reduce((s, f) => s + f.size, 0),
    };
  }

  const store = await ModelStore.open();
  try {
    let artifacts: tf.io.ModelArtifacts;
    let from: EncoderSummary['from'];
    const stored = await store.get(source.url);
    if (stored) {
      artifacts = stored.artifacts;
      from = 'model-store';
      onProgress(from, 1);
    } else {
      from = 'network';
      onProgress(from, 0);
      try {
        // bytes as they arrive, against the card's size when it is known
        const started = performance.now();
        let fraction = 0;
        const total = source.card?.sizeBytes;
        const fetchFunc = countingFetch((received) =>
          onProgress('network', total ? Math.min(1, received / total) : fraction, { received, total: total ?? null, seconds: (performance.now() - started) / 1000 }),
        );
        artifacts = await tf.io.http(source.url, { fetchFunc, onProgress: (f: number) => (fraction = f) }).load!();
      } catch (e) {
        throw new EncoderDownloadError(downloadFailure(source.url, e, (globalThis.navigator as { onLine?: boolean } | undefined)?.onLine));
      }
      const name = source.card?.name ?? source.url;
      try {
        await store.put(source.url, name, artifacts);
      } catch (e) {
        // Not fatal: the model still runs, it just is not kept for offline use.
        console.warn(`Could not store ${source.url} for offline use:`, e);
      }
    }
    const card =
      source.card ?? inferModelCard({ modelTopology: artifacts.modelTopology, format: artifacts.format }, { url: source.url });
    return { card, handler: () => tf.io.fromMemory(artifacts), from, bytes: artifactBytes(artifacts) };
  } finally {
    store.close();
  }
}

export async function loadResolved(model: ResolvedModel): Promise<ImageEncoder> {
  return loadEncoder(model.card, model.handler());
}
