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

/** Embedding Projector metadata.tsv: header `file\tclass`, then one row per vector. */
export function projectorMetadataTsv(items: EmbeddingItem[]): string {
  const lines = ['file\tclass'];
  for (const it of items) lines.push(`${cell(it.file)}\t${cell(it.class)}`);
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
