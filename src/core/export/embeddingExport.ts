import { encodeUtf8 } from '../textCodec';
import { concatBytes } from './bytes';

/** What each exported point carries besides its vector. */
export interface EmbeddingItem {
  file: string;
  class: string;
  classId: number;
  split: string;
}

export interface NumberFormatOptions {
  /**
   * Significant digits per value. Default 9: every float32 reads back exactly (trailing
   * zeros are dropped). Fewer digits give smaller files.
   */
  digits?: number;
  /** Rows per yielded chunk (default 256). */
  chunkRows?: number;
}

export interface QdrantExportOptions extends NumberFormatOptions {
  /** 'jsonl': one point per line; 'json': `{"points": [...]}` (the body of Qdrant's upsert API). */
  format?: 'jsonl' | 'json';
  /** Id of the first point (default 0); ids are consecutive integers. */
  idStart?: number;
}

function check(embeddings: Float32Array, dim: number, rows?: number): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`Embedding export: bad dim ${dim}`);
  if (embeddings.length % dim !== 0) {
    throw new Error(`Embedding export: ${embeddings.length} values are not rows of ${dim}`);
  }
  const n = embeddings.length / dim;
  if (rows !== undefined && rows !== n) {
    throw new Error(`Embedding export: ${n} vectors but ${rows} items`);
  }
  return n;
}

function formatter(digits = 9): (v: number, i: number) => string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 17) throw new Error(`Bad digits ${digits}`);
  return (v: number, i: number) => {
    if (!Number.isFinite(v)) throw new Error(`Embedding export: non-finite value ${v} at index ${i}`);
    return String(Number(v.toPrecision(digits)));
  };
}

function rowText(embeddings: Float32Array, dim: number, row: number, sep: string, fmt: (v: number, i: number) => string): string {
  const parts = new Array<string>(dim);
  const o = row * dim;
  for (let d = 0; d < dim; d++) parts[d] = fmt(embeddings[o + d], o + d);
  return parts.join(sep);
}

/**
 * Qdrant points `{id, vector, payload: {file, class, classId, split}}`, yielded as UTF-8
 * chunks of `chunkRows` points, so 16k x 1,280 never becomes one giant string (write each
 * chunk to a stream, or hand the list to a Blob).
 */
export function* qdrantPointsChunks(
  embeddings: Float32Array,
  dim: number,
  items: EmbeddingItem[],
  opts: QdrantExportOptions = {},
): Generator<Uint8Array> {
  const n = check(embeddings, dim, items.length);
  const fmt = formatter(opts.digits);
  const chunkRows = Math.max(1, opts.chunkRows ?? 256);
  const json = opts.format === 'json';
  const idStart = opts.idStart ?? 0;
  if (json) yield encodeUtf8('{"points":[\n');
  for (let start = 0; start < n; start += chunkRows) {
    const end = Math.min(n, start + chunkRows);
    const lines: string[] = [];
    for (let i = start; i < end; i++) {
      const it = items[i];
      const payload = JSON.stringify({ file: it.file, class: it.class, classId: it.classId, split: it.split });
      const line = `{"id":${idStart + i},"vector":[${rowText(embeddings, dim, i, ',', fmt)}],"payload":${payload}}`;
      lines.push(json && i < n - 1 ? line + ',' : line);
    }
    yield encodeUtf8(lines.join('\n') + '\n');
  }
  if (json) yield encodeUtf8(']}\n');
}

/** All Qdrant points in one byte array (JSONL by default). */
export function qdrantPoints(
  embeddings: Float32Array,
  dim: number,
  items: EmbeddingItem[],
  opts: QdrantExportOptions = {},
): Uint8Array {
  return concatBytes([...qdrantPointsChunks(embeddings, dim, items, opts)]);
}

/** Embedding Projector vectors.tsv: one tab-separated row per vector, no header; chunked. */
export function* projectorVectorsChunks(
  embeddings: Float32Array,
  dim: number,
  opts: NumberFormatOptions = {},
): Generator<Uint8Array> {
  const n = check(embeddings, dim);
  const fmt = formatter(opts.digits);
  const chunkRows = Math.max(1, opts.chunkRows ?? 256);
  for (let start = 0; start < n; start += chunkRows) {
    const end = Math.min(n, start + chunkRows);
    const lines: string[] = [];
    for (let i = start; i < end; i++) lines.push(rowText(embeddings, dim, i, '\t', fmt));
    yield encodeUtf8(lines.join('\n') + '\n');
  }
}

/** Tabs and line breaks would break the TSV; they become spaces. */
function cell(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ');
}

/** Embedding Projector metadata.tsv: header `file\tclass\tsplit`, then one row per vector. */
export function projectorMetadataTsv(items: EmbeddingItem[]): string {
  const lines = ['file\tclass\tsplit'];
  for (const it of items) lines.push(`${cell(it.file)}\t${cell(it.class)}\t${cell(it.split)}`);
  return lines.join('\n') + '\n';
}

/** The Embedding Projector pair (load vectors.tsv, then metadata.tsv, at projector.tensorflow.org). */
export function projectorTsv(
  embeddings: Float32Array,
  dim: number,
  items: EmbeddingItem[],
  opts: NumberFormatOptions = {},
): { vectorsTsv: Uint8Array; metadataTsv: Uint8Array } {
  check(embeddings, dim, items.length);
  return {
    vectorsTsv: concatBytes([...projectorVectorsChunks(embeddings, dim, opts)]),
    metadataTsv: encodeUtf8(projectorMetadataTsv(items)),
  };
}

/** Qdrant's default request size limit (`service.max_request_size_mb: 32`). */
export const QDRANT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/** The body of Qdrant's create-collection request (`PUT /collections/{name}`) for these vectors. */
export function qdrantCollectionConfig(dim: number, distance: 'cosine' | 'euclidean'): { vectors: { size: number; distance: 'Cosine' | 'Euclid' } } {
  return { vectors: { size: dim, distance: distance === 'cosine' ? 'Cosine' : 'Euclid' } };
}

/**
 * Bodies of Qdrant's upsert request (`PUT /collections/{name}/points`), `{"points": [...]}`,
 * each under `maxBytes` (default: Qdrant's own limit, less a margin), so that each one is
 * accepted as it is. Ids are consecutive across bodies.
 */
export function qdrantUpsertBodies(
  embeddings: Float32Array,
  dim: number,
  items: EmbeddingItem[],
  opts: NumberFormatOptions & { maxBytes?: number } = {},
): Uint8Array[] {
  const maxBytes = opts.maxBytes ?? QDRANT_MAX_REQUEST_BYTES - 64 * 1024;
  const open = encodeUtf8('{"points":[\n');
  const close = encodeUtf8(']}\n');
  const comma = encodeUtf8(',\n');
  const bodies: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length === 0) return;
    bodies.push(concatBytes([open, ...parts, close]));
    parts = [];
    size = 0;
  };
  // one point per chunk, so a body can end after any point
  for (const chunk of qdrantPointsChunks(embeddings, dim, items, { ...opts, chunkRows: 1 })) {
    const point = chunk.subarray(0, chunk.length - 1); // without its newline
    const extra = (parts.length ? comma.length : 0) + point.length;
    if (parts.length && open.length + size + extra + close.length > maxBytes) flush();
    if (parts.length) {
      parts.push(comma);
      size += comma.length;
    }
    parts.push(point);
    size += point.length;
  }
  flush();
  return bodies;
}

/** Qdrant's files: collection.json, points.json (or points-1.json, points-2.json … when large) and a README with the requests. */
export function qdrantExportFiles(
  embeddings: Float32Array,
  dim: number,
  items: EmbeddingItem[],
  opts: NumberFormatOptions & { maxBytes?: number; distance: 'cosine' | 'euclidean'; collection: string },
): Record<string, Uint8Array> {
  const bodies = qdrantUpsertBodies(embeddings, dim, items, opts);
  const names = bodies.length === 1 ? ['points.json'] : bodies.map((_, i) => `points-${i + 1}.json`);
  const collection = opts.collection.replace(/[^A-Za-z0-9_-]+/g, '-') || 'images';
  const readme = [
    `# ${items.length} embeddings for Qdrant`,
    '',
    `${dim}-d vectors, ${opts.distance === 'cosine' ? 'Cosine' : 'Euclid'} distance; each point's payload has file, class, classId and split (train or validation).`,
    '',
    '```sh',
    `curl -X PUT "http://localhost:6333/collections/${collection}" -H 'Content-Type: application/json' --data-binary @collection.json`,
    ...names.map((n) => `curl -X PUT "http://localhost:6333/collections/${collection}/points?wait=true" -H 'Content-Type: application/json' --data-binary @${n}`),
    '```',
    '',
    `Each points file is under Qdrant's default 32 MB request limit.`,
    '',
  ].join('\n');
  const files: Record<string, Uint8Array> = {
    'collection.json': encodeUtf8(JSON.stringify(qdrantCollectionConfig(dim, opts.distance), null, 2) + '\n'),
  };
  bodies.forEach((b, i) => (files[names[i]] = b));
  files['README.md'] = encodeUtf8(readme);
  return files;
}
