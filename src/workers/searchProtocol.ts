/**
 * The search worker's whole message protocol: ONE union of requests (page -> worker) and
 * ONE union of events (worker -> page), imported by both sides. The worker owns the
 * validation gallery (read from the embedding cache), the head's outputs for it, and a
 * search index on each. For a fine-tuned run (`set-head` with `top`) the head reads the run's
 * tuned features, top(cut map), instead of the frozen pooled vectors: the worker rebuilds the
 * run's top from the encoder, reads the tuned features stored for the run, computes the missing
 * ones from the cached cut maps (progress events) and stores them. Every request carries a `reqId` and ends with exactly one terminal
 * event (its result, or `error`). Lifecycle:
 *
 *   load -> loaded;  set-head -> head-set;  search -> results;
 *   project -> progress* -> projection;  export -> exported;  cancel (no reply of its own)
 */
import type { Distance } from '../core/eval/retrievalMetrics';
import type { EmbeddingItem } from '../core/export/embeddingExport';
import type { NamedWeights } from '../core/train/heads';
import type { EncoderSource } from './embedProtocol';
import type { RetrievalSummary } from './trainProtocol';

/** Which embedding: the frozen encoder's, or the trained head's. */
export type Space = 'base' | 'tuned';
export type ProjectionMethod = 'pca' | 'umap';
export type EmbeddingFileFormat = 'qdrant' | 'projector';
/** Which images an export covers. */
export type ExportScope = 'all' | 'train' | 'validation';

/** The images of an export, by embedding-cache identity, with each one's payload (its split included). */
export interface ExportImages {
  identities: string[];
  items: EmbeddingItem[];
}

/** The validation images to search among, by embedding-cache identity. */
export interface GallerySpec {
  preprocessingKey: string;
  featureSize: number;
  identities: string[];
  labels: Int32Array;
  /** Payload of each image for the exports (same length as identities). */
  items: EmbeddingItem[];
}

/** A fine-tuned run's top, for `set-head`: what the worker needs to find (or compute) the head's input vectors. */
export interface TunedTopSpec {
  /** Where the run's encoder comes from (the top is rebuilt from it). */
  source: EncoderSource;
  /** The run's "Train the encoder's top blocks" (the card's cut number). */
  blocks: number;
  /** The cut the run's top starts from (checked against the card's). */
  cut: string;
  /** The top's weights of the run's best epoch, under the encoder's weight names. */
  weights: NamedWeights;
  /** The run and epoch the weights are of: the stored tuned features are keyed by them. */
  runId: string;
  runName: string;
  epoch: number;
}

/** Where the head's input vectors came from, for a fine-tuned run. */
export interface TunedFeatureCount {
  /** Read back from the cache (computed before). */
  cached: number;
  /** Computed now from the cached cut maps (and stored). */
  computed: number;
}

/** How the metrics are measured: the training run's settings, so the numbers match. */
export interface EvaluationOptions {
  distance: Distance;
  /** null = every image is a query (exact). */
  queryCount: number | null;
  seed: number;
}

export type SearchQuery =
  /** A gallery image (it is left out of its own results). */
  | { kind: 'row'; row: number }
  /** A cached embedding that is not in the gallery (a dropped photo). */
  | { kind: 'identity'; identity: string };

export interface NeighbourList {
  /** Gallery rows, nearest first. */
  index: Int32Array;
  /** Cosine: (1 - cos) / 2 in [0, 1]; euclidean: L2. */
  distance: Float32Array;
}

export type SearchRequest =
  | { type: 'load'; reqId: string; gallery: GallerySpec; distance: Distance }
  /**
   * Applies a head to the gallery (null: no head) and measures base and tuned; with `top` (a
   * fine-tuned run) the head reads the run's tuned features, here and in later searches and exports.
   */
  | { type: 'set-head'; reqId: string; weights: NamedWeights | null; evaluation: EvaluationOptions; top?: TunedTopSpec | null }
  | { type: 'search'; reqId: string; query: SearchQuery; k: number }
  | { type: 'project'; reqId: string; space: Space; method: ProjectionMethod }
  /**
   * Writes the images' vectors (read from the embedding cache; the head applied for 'tuned',
   * to the tuned features for a fine-tuned run); `name` names the Qdrant collection.
   */
  | { type: 'export'; reqId: string; space: Space; format: EmbeddingFileFormat; images: ExportImages; name: string }
  | { type: 'cancel'; reqId: string };

export type SearchEvent =
  | {
      type: 'loaded';
      reqId: string;
      /** Index (into the asked identities) of each gallery row. */
      found: Int32Array;
      /** Asked images with no cached embedding (left out). */
      missing: number;
      dim: number;
      backend: string;
      ms: number;
    }
  | {
      type: 'head-set';
      reqId: string;
      base: RetrievalSummary;
      tuned: RetrievalSummary | null;
      /** Set for a fine-tuned run: how the gallery's tuned features were found. */
      tunedFeatures: TunedFeatureCount | null;
      ms: number;
    }
  | {
      type: 'results';
      reqId: string;
      /** The query's gallery row, when it is one. */
      queryRow: number | null;
      base: NeighbourList;
      tuned: NeighbourList | null;
      /** Search time of both spaces, in the worker. */
      ms: number;
    }
  | { type: 'progress'; reqId: string; stage: string; done: number; total: number }
  | { type: 'projection'; reqId: string; space: Space; method: ProjectionMethod; coords: Float32Array; ms: number }
  | {
      type: 'exported';
      reqId: string;
      files: { name: string; blob: Blob }[];
      /** Images written, and those left out because they have no cached embedding (for a fine-tuned run's 'tuned': no cut map). */
      count: number;
      missing: number;
      /** A fine-tuned run's 'tuned' export: how its tuned features were found. */
      tunedFeatures?: TunedFeatureCount;
    }
  | { type: 'error'; reqId: string; message: string; cancelled?: boolean };

export type SearchEventType = SearchEvent['type'];
export type SearchEventOf<T extends SearchEventType> = Extract<SearchEvent, { type: T }>;

/** The event that ends each request type (besides `error`, which ends any). */
export const SEARCH_TERMINAL = {
  load: 'loaded',
  'set-head': 'head-set',
  search: 'results',
  project: 'projection',
  export: 'exported',
} as const satisfies Record<Exclude<SearchRequest['type'], 'cancel'>, SearchEventType>;

export function isTerminalSearchEvent(e: SearchEvent): boolean {
  return e.type === 'error' || (Object.values(SEARCH_TERMINAL) as string[]).includes(e.type);
}

/** Checks a message that claims to be a request (the worker trusts nothing it receives). */
export function searchRequestProblem(message: unknown): string | null {
  if (!message || typeof message !== 'object') return 'a request must be an object';
  const m = message as Record<string, unknown>;
  if (typeof m.reqId !== 'string' || !m.reqId) return 'a request needs a reqId';
  const space = () => (m.space === 'base' || m.space === 'tuned' ? null : `space must be 'base' or 'tuned', got ${JSON.stringify(m.space)}`);
  switch (m.type) {
    case 'cancel':
      return null;
    case 'load': {
      const g = m.gallery as Partial<GallerySpec> | undefined;
      if (!g || typeof g !== 'object') return 'load needs a gallery';
      if (typeof g.preprocessingKey !== 'string' || !g.preprocessingKey) return 'gallery.preprocessingKey must be a non-empty string';
      if (!Number.isInteger(g.featureSize) || (g.featureSize as number) < 1) return 'gallery.featureSize must be an integer ≥ 1';
      if (!Array.isArray(g.identities) || !(g.labels instanceof Int32Array) || !Array.isArray(g.items)) {
        return 'gallery needs identities (string[]), labels (Int32Array) and items';
      }
      if (g.labels.length !== g.identities.length || g.items.length !== g.identities.length) {
        return `gallery has ${g.identities.length} identities, ${g.labels.length} labels and ${g.items.length} items`;
      }
      if (m.distance !== 'cosine' && m.distance !== 'euclidean') return `distance must be 'cosine' or 'euclidean'`;
      return null;
    }
    case 'set-head': {
      const ev = m.evaluation as Partial<EvaluationOptions> | undefined;
      if (!ev || (ev.distance !== 'cosine' && ev.distance !== 'euclidean')) return `evaluation.distance must be 'cosine' or 'euclidean'`;
      if (ev.queryCount !== null && !(Number.isInteger(ev.queryCount) && (ev.queryCount as number) > 0)) {
        return 'evaluation.queryCount must be null or a positive integer';
      }
      if (m.weights !== null && (typeof m.weights !== 'object' || !m.weights)) return 'weights must be named weights or null';
      if (m.top !== undefined && m.top !== null) {
        const t = m.top as Partial<TunedTopSpec>;
        if (typeof t !== 'object' || !t.source || typeof t.source !== 'object') return 'top needs the encoder source';
        if (!Number.isInteger(t.blocks) || (t.blocks as number) < 1) return 'top.blocks must be an integer ≥ 1';
        if (typeof t.cut !== 'string' || !t.cut || !t.weights || typeof t.weights !== 'object') return 'top needs its cut and weights';
        if (typeof t.runId !== 'string' || !t.runId || t.runId.includes('::') || !Number.isInteger(t.epoch)) return 'top needs the runId and epoch of its weights';
        if (m.weights === null) return 'a fine-tuned top needs its head';
      }
      return null;
    }
    case 'search': {
      const q = m.query as Partial<SearchQuery> | undefined;
      if (!q || (q.kind !== 'row' && q.kind !== 'identity')) return "query must be {kind: 'row'} or {kind: 'identity'}";
      if (!Number.isInteger(m.k) || (m.k as number) < 1) return 'k must be an integer ≥ 1';
      return null;
    }
    case 'project':
      return space() ?? (m.method === 'pca' || m.method === 'umap' ? null : `method must be 'pca' or 'umap'`);
    case 'export': {
      const problem = space() ?? (m.format === 'qdrant' || m.format === 'projector' ? null : `format must be 'qdrant' or 'projector'`);
      if (problem) return problem;
      const images = m.images as Partial<ExportImages> | undefined;
      if (!images || !Array.isArray(images.identities) || !Array.isArray(images.items) || images.identities.length !== images.items.length) {
        return 'export needs images: identities and items of the same length';
      }
      return typeof m.name === 'string' ? null : 'export needs a name (the collection name)';
    }
    default:
      return `unknown request type ${JSON.stringify(m.type)}; expected load, set-head, search, project, export or cancel`;
  }
}
