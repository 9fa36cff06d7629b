/**
 * What the search worker holds, free of worker globals so Node tests and the benchmark can
 * drive it: the validation gallery's vectors, the head's outputs for them, a search index
 * on each, cached projections, and the exports. The head runs in eval mode through the
 * engine's `embedWithHead`; metrics are the engine's `retrievalMetrics`.
 */
import type { Distance } from '../core/eval/retrievalMetrics';
import { retrievalMetrics } from '../core/eval/retrievalMetrics';
import { searchIndex, type SearchIndex } from '../core/eval/nearestNeighbours';
import { zipSync } from 'fflate';
import { projectorTsv, qdrantExportFiles, type EmbeddingItem } from '../core/export/embeddingExport';
import { pca } from '../core/project/pca';
import { umapProject } from '../core/project/umap';
import { createSkipConnectionHead, type Head, type NamedWeights } from '../core/train/heads';
import { embedWithHead } from '../core/train/trainer';
import type { EmbeddingFileFormat, EvaluationOptions, NeighbourList, ProjectionMethod, Space } from './searchProtocol';
import type { RetrievalSummary } from './trainProtocol';

export class SearchGallery {
  readonly size: number;
  private readonly base: SearchIndex;
  private tunedVectors: Float32Array | null = null;
  private tuned: SearchIndex | null = null;
  private head: Head | null = null;
  private readonly projections = new Map<string, Float32Array>();

  constructor(
    readonly dim: number,
    readonly vectors: Float32Array,
    readonly labels: Int32Array,
    readonly items: EmbeddingItem[],
    readonly distance: Distance,
  ) {
    this.size = labels.length;
    if (vectors.length !== this.size * dim) throw new Error(`Gallery: ${vectors.length} values for ${this.size} rows of ${dim}`);
    if (items.length !== this.size) throw new Error(`Gallery: ${items.length} items for ${this.size} rows`);
    this.base = searchIndex(vectors, dim, distance);
  }

  get hasHead(): boolean {
    return this.tuned !== null;
  }

  /**
   * Applies the head (eval mode) to every gallery row; null removes it. `headInputs`: the
   * rows the head reads instead of the frozen vectors (a fine-tuned run's tuned features, in
   * gallery order).
   */
  setHead(weights: NamedWeights | null, headInputs?: Float32Array): void {
    this.tuned = null;
    this.tunedVectors = null;
    this.head?.dispose();
    this.head = null;
    for (const key of [...this.projections.keys()]) if (key.startsWith('tuned')) this.projections.delete(key);
    if (!weights) return;
    const gates = weights.gates_0;
    if (!gates || gates.data.length !== this.dim) {
      throw new Error(
        `This head is for ${gates?.data.length ?? '?'}-d embeddings, but the encoder gives ${this.dim}-d ones: choose the encoder the head was trained on.`,
      );
    }
    if (headInputs && headInputs.length !== this.vectors.length) {
      throw new Error(`The head's inputs have ${headInputs.length} values for ${this.size} gallery rows of ${this.dim}`);
    }
    const head = createSkipConnectionHead(this.dim, { dropout: 0 });
    try {
      head.setWeights(weights);
    } catch (e) {
      head.dispose();
      throw e;
    }
    this.head = head;
    this.tunedVectors = this.applyHead(headInputs ?? this.vectors);
    this.tuned = searchIndex(this.tunedVectors, this.dim, this.distance);
  }

  /** The head's outputs for some rows of `dim` (throws without a head). */
  applyHead(rows: Float32Array): Float32Array {
    if (!this.head) throw new Error('No head is loaded');
    return embedWithHead(this.head, rows, this.dim);
  }

  /** Base (and tuned, with a head) retrieval metrics on the gallery, measured as training does. */
  async metrics(ev: EvaluationOptions): Promise<{ base: RetrievalSummary; tuned: RetrievalSummary | null }> {
    const measure = async (v: Float32Array): Promise<RetrievalSummary> => {
      const m = await retrievalMetrics(v, this.dim, this.labels, {
        distance: ev.distance,
        queryCount: ev.queryCount ?? undefined,
        seed: ev.seed,
      });
      return { rPrecision: m.rPrecision, rPrecisionMacro: m.rPrecisionMacro, precisionAt1: m.precisionAt1, mapAtR: m.mapAtR };
    };
    return { base: await measure(this.vectors), tuned: this.tunedVectors ? await measure(this.tunedVectors) : null };
  }

  row(space: Space, i: number): Float32Array {
    const v = this.space(space);
    return v.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /**
   * Nearest gallery rows of a query, in both spaces. `baseQuery` is the frozen encoder's
   * vector; its tuned counterpart is the tuned gallery row (for a gallery query) or the head
   * applied to `headInput` (a fine-tuned run's tuned feature of the query; default `baseQuery`).
   * `exclude`: a gallery row to leave out (the query's own).
   */
  search(baseQuery: Float32Array, k: number, exclude?: number, headInput?: Float32Array): { base: NeighbourList; tuned: NeighbourList | null } {
    const ex = exclude === undefined ? undefined : [exclude];
    const base = this.base.search(baseQuery, k, ex);
    if (!this.tuned) return { base, tuned: null };
    const tq = exclude !== undefined ? this.row('tuned', exclude) : this.applyHead(headInput ?? baseQuery);
    return { base, tuned: this.tuned.search(tq, k, ex) };
  }

  space(space: Space): Float32Array {
    if (space === 'base') return this.vectors;
    if (!this.tunedVectors) throw new Error('No head is loaded: the tuned embeddings need one');
    return this.tunedVectors;
  }

  /** 2-D coordinates (n x 2) of a space; cached until the head changes. */
  async project(
    space: Space,
    method: ProjectionMethod,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<Float32Array> {
    const key = `${space}:${method}`;
    const cached = this.projections.get(key);
    if (cached) return cached;
    const data = this.space(space);
    const normalise = this.distance === 'cosine';
    const coords =
      method === 'pca'
        ? pca(data, this.dim, { components: 2, normalise }).coords
        : await umapProject(data, this.dim, {
            normalise,
            seed: 42,
            signal: opts.signal,
            onEpoch: (e, total) => opts.onProgress?.(e, total),
          });
    if (this.space(space) === data) this.projections.set(key, coords);
    return coords;
  }

  /**
   * The export's files (name -> Blob) for some cached images (their frozen-encoder vectors;
   * for 'tuned' the head is applied to them, or to a fine-tuned run's tuned features of the
   * same images): Qdrant's request bodies in one zip, or the Embedding Projector's TSV pair.
   */
  exportFiles(space: Space, format: EmbeddingFileFormat, images: { vectors: Float32Array; items: EmbeddingItem[] }, name: string): { name: string; blob: Blob }[] {
    const data = space === 'tuned' ? this.applyHead(images.vectors) : images.vectors;
    if (format === 'qdrant') {
      const files = qdrantExportFiles(data, this.dim, images.items, { distance: this.distance, collection: name });
      // stored: the float text barely compresses at a speed worth waiting for
      return [{ name: 'qdrant.zip', blob: new Blob([zipSync(files, { level: 0 }) as BlobPart], { type: 'application/zip' }) }];
    }
    const { vectorsTsv, metadataTsv } = projectorTsv(data, this.dim, images.items);
    return [
      { name: 'vectors.tsv', blob: new Blob([vectorsTsv as BlobPart], { type: 'text/tab-separated-values' }) },
      { name: 'metadata.tsv', blob: new Blob([metadataTsv as BlobPart], { type: 'text/tab-separated-values' }) },
    ];
  }
}
