import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fromFloat16, toFloat16 } from '../core/float16';

/** How vectors are stored: float32, or float16 (cut activations: half the bytes). */
export type CachePrecision = 'float32' | 'float16';

/**
 * Embeddings on disk (or fine-tuning cut activations, in float16: `vectors.f16`) for the command-line runner, one folder per encoder + preprocessing
 * key. Append-only: `vectors.f32` holds float32 rows, `index.txt` one image identity per
 * row. Vectors are written before their index lines, so a crash mid-batch leaves at most
 * unreferenced bytes, never an identity pointing at a missing vector.
 */
export class DiskEmbeddingCache {
  private rows = new Map<string, number>();
  private vectors: Float32Array | Uint16Array = new Float32Array(0);
  private rowCount = 0;

  private constructor(
    readonly folder: string,
    readonly dim: number,
    readonly precision: CachePrecision,
  ) {}

  private get bytesPerValue(): number {
    return this.precision === 'float16' ? 2 : 4;
  }

  private get vectorFile(): string {
    return path.join(this.folder, this.precision === 'float16' ? 'vectors.f16' : 'vectors.f32');
  }

  private newVectors(values: number): Float32Array | Uint16Array {
    return this.precision === 'float16' ? new Uint16Array(values) : new Float32Array(values);
  }

  static folderFor(cacheRoot: string, preprocessingKey: string): string {
    const digest = createHash('sha256').update(preprocessingKey).digest('hex').slice(0, 16);
    return path.join(cacheRoot, 'embeddings', digest);
  }

  /** Opens (or creates) the cache for one encoder + preprocessing key. */
  static async open(cacheRoot: string, preprocessingKey: string, dim: number, precision: CachePrecision = 'float32'): Promise<DiskEmbeddingCache> {
    const folder = DiskEmbeddingCache.folderFor(cacheRoot, preprocessingKey);
    await mkdir(folder, { recursive: true });
    const metaPath = path.join(folder, 'meta.json');
    if (existsSync(metaPath)) {
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { key: string; dim: number; precision?: CachePrecision };
      if (meta.key !== preprocessingKey || meta.dim !== dim || (meta.precision ?? 'float32') !== precision) {
        throw new Error(`Embedding cache ${folder} belongs to another encoder (${meta.key}, dim ${meta.dim}).`);
      }
    } else {
      await writeFile(metaPath, JSON.stringify({ key: preprocessingKey, dim, ...(precision === 'float32' ? {} : { precision }) }, null, 2));
    }
    const cache = new DiskEmbeddingCache(folder, dim, precision);
    await cache.load();
    return cache;
  }

  private async load(): Promise<void> {
    const vectorPath = this.vectorFile;
    const indexPath = path.join(this.folder, 'index.txt');
    if (!existsSync(vectorPath) || !existsSync(indexPath)) return;
    const bytes = await readFile(vectorPath);
    const identities = (await readFile(indexPath, 'utf8')).split('\n').filter((line) => line.length > 0);
    const storedRows = Math.floor(bytes.byteLength / (this.bytesPerValue * this.dim));
    this.rowCount = Math.min(storedRows, identities.length);
    const kept = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + this.rowCount * this.dim * this.bytesPerValue);
    this.vectors = this.precision === 'float16' ? new Uint16Array(kept) : new Float32Array(kept);
    for (let row = 0; row < this.rowCount; row++) this.rows.set(identities[row], row);
    if (storedRows !== identities.length) {
      // Trim a torn write so the two files line up again before anything is appended.
      await writeFile(vectorPath, new Uint8Array(this.vectors.buffer));
      await writeFile(indexPath, identities.slice(0, this.rowCount).map((id) => `${id}\n`).join(''));
    }
  }

  get size(): number {
    return this.rows.size;
  }

  has(identity: string): boolean {
    return this.rows.has(identity);
  }

  /** The cached vector of one image (float16 decoded to a new array), or undefined. */
  get(identity: string): Float32Array | undefined {
    const row = this.rows.get(identity);
    if (row === undefined) return undefined;
    const stored = this.vectors.subarray(row * this.dim, (row + 1) * this.dim);
    return stored instanceof Uint16Array ? fromFloat16(stored) : stored;
  }

  /** Appends a batch: `vectors` holds identities.length rows of `dim` floats. */
  async append(identities: string[], vectors: Float32Array): Promise<void> {
    if (vectors.length !== identities.length * this.dim) {
      throw new Error(`Expected ${identities.length} x ${this.dim} floats, got ${vectors.length}.`);
    }
    const stored = this.precision === 'float16' ? toFloat16(vectors) : vectors;
    await appendFile(this.vectorFile, new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
    await appendFile(path.join(this.folder, 'index.txt'), identities.map((id) => `${id}\n`).join(''));
    this.ensureCapacity(this.rowCount + identities.length);
    this.vectors.set(stored, this.rowCount * this.dim);
    identities.forEach((id, i) => this.rows.set(id, this.rowCount + i));
    this.rowCount += identities.length;
  }

  private ensureCapacity(rows: number): void {
    if (rows * this.dim <= this.vectors.length) return;
    // Doubling keeps appends amortised O(1); batch-sized growth would copy O(n^2) floats.
    const grown = this.newVectors(Math.max(rows, this.rowCount * 2, 1024) * this.dim);
    grown.set(this.vectors.subarray(0, this.rowCount * this.dim));
    this.vectors = grown;
  }

  /** Bytes on disk per cached embedding (vector plus its index line), for the benchmark. */
  bytesPerEmbedding(): number {
    let indexBytes = 0;
    for (const id of this.rows.keys()) indexBytes += Buffer.byteLength(id) + 1;
    return this.rows.size === 0 ? 0 : (this.rows.size * this.dim * this.bytesPerValue + indexBytes) / this.rows.size;
  }
}
