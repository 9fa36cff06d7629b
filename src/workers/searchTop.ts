/// <reference lib="webworker" />
/**
 * The search worker's fine-tuned top: a run's top rebuilt from its encoder (as the training
 * worker rebuilds it) holding the run's stored weights, and the tuned features it gives the
 * images asked about — read from the embedding cache where stored, else computed from the
 * cached cut maps (core's `tunedFeatures`) and stored batch by batch, so each is computed once
 * per run and epoch and a cancelled pass keeps what it stored.
 */
import { setTopWeights, tunedFeatures } from '../core/encoder/tunedFeatures';
import type { CacheLookup } from '../storage/embeddingCache';
import { EmbeddingCache } from '../storage/embeddingCache';
import { tunedSetKey } from '../storage/embeddingKeys';
import { RunHistory } from '../storage/runHistory';
import type { BackendName } from './embedProtocol';
import { loadEncoderTop } from './fineTuneTop';
import type { TunedFeatureCount, TunedTopSpec } from './searchProtocol';
import type { LoadedTop } from './trainSession';

export interface TunedLookup extends CacheLookup, TunedFeatureCount {}

export class SearchTop {
  private constructor(
    private readonly loaded: LoadedTop,
    private readonly spec: TunedTopSpec,
    /** The pooled set the tuned features stand in for. */
    private readonly preprocessingKey: string,
    /** The tuned features' set in the cache (`tunedSetKey`). */
    readonly tunedKey: string,
  ) {}

  /** Loads the encoder, rebuilds the run's top and writes the run's weights into it. */
  static async load(spec: TunedTopSpec, preprocessingKey: string, backend: BackendName): Promise<SearchTop> {
    const loaded = await loadEncoderTop(spec.source, preprocessingKey, spec.blocks, backend);
    try {
      if (loaded.top.cutLayer !== spec.cut) {
        throw new Error(`the run's top starts at ${spec.cut}, but this encoder's cut ${spec.blocks} is ${loaded.top.cutLayer}: choose the encoder the run was trained on`);
      }
      setTopWeights(loaded.top, spec.weights);
    } catch (e) {
      loaded.dispose();
      throw new Error(`Cannot use the run's fine-tuned top: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new SearchTop(loaded, spec, preprocessingKey, tunedSetKey(preprocessingKey, spec.runId, spec.epoch));
  }

  get dim(): number {
    return this.loaded.top.featureSize;
  }

  /** Whether this top is the one of `spec` (same run, epoch, cut) on `preprocessingKey`. */
  isFor(spec: TunedTopSpec, preprocessingKey: string): boolean {
    return this.tunedKey === tunedSetKey(preprocessingKey, spec.runId, spec.epoch) && this.spec.cut === spec.cut;
  }

  /**
   * The tuned features of the asked images, in their order; images with neither stored tuned
   * features nor a cut map are `missing`.
   */
  async features(
    identities: readonly string[],
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<TunedLookup> {
    const { top, cutKey } = this.loaded;
    const dim = top.featureSize;
    const size = top.cutShape.reduce((a, b) => a * b, 1);
    const cache = await EmbeddingCache.open();
    try {
      const stored = await cache.lookup(this.tunedKey, dim, identities);
      const rowOf = new Map<number, Float32Array>();
      stored.found.forEach((i, j) => rowOf.set(i, stored.vectors.subarray(j * dim, (j + 1) * dim)));
      let computed = 0;
      if (stored.missing.length) {
        const asked = stored.missing.map((i) => identities[i]);
        const cuts = await cache.lookupCuts(cutKey, size, asked);
        // a deleted run's features are not stored again (they would outlive it)
        const keep = cuts.found.length > 0 && (await runExists(this.spec.runId));
        if (keep) {
          const pooled = await cache.setInfo(this.preprocessingKey);
          await cache.registerSet({
            preprocessingKey: this.tunedKey,
            modelId: pooled?.modelId ?? '',
            modelName: pooled?.modelName ?? this.spec.runName,
            featureSize: dim,
            tuned: { of: this.preprocessingKey, runId: this.spec.runId, runName: this.spec.runName, epoch: this.spec.epoch, cut: top.cutLayer },
          });
        }
        if (cuts.found.length) {
          const total = cuts.found.length;
          opts.onProgress?.(0, total);
          await tunedFeatures(top, cuts.vectors, {
            signal: opts.signal,
            onBatch: async (start, rows, features) => {
              const ids: string[] = [];
              for (let r = 0; r < rows; r++) {
                const image = stored.missing[cuts.found[start + r]];
                ids.push(identities[image]);
                rowOf.set(image, features.subarray(r * dim, (r + 1) * dim));
              }
              if (keep) await cache.putBatch(this.tunedKey, ids, features, dim);
              computed += rows;
              opts.onProgress?.(computed, total);
            },
          });
        }
      }
      const found: number[] = [];
      const missing: number[] = [];
      identities.forEach((_, i) => (rowOf.has(i) ? found : missing).push(i));
      const vectors = new Float32Array(found.length * dim);
      found.forEach((i, j) => vectors.set(rowOf.get(i)!, j * dim));
      return { found: Int32Array.from(found), vectors, missing, cached: stored.found.length, computed };
    } finally {
      cache.close();
    }
  }

  dispose(): void {
    this.loaded.dispose();
  }
}

async function runExists(runId: string): Promise<boolean> {
  const history = await RunHistory.open();
  try {
    return (await history.get(runId)) !== undefined;
  } finally {
    history.close();
  }
}
