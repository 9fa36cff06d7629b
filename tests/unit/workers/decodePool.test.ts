import { describe, expect, it } from 'vitest';
import type { DatasetFile } from '../../../src/core/data/datasetFile';
import { embedImages, type EmbedProblem } from '../../../src/core/encoder/embedImages';
import type { DecodedImage, DecodeSpec, ImageDecoder } from '../../../src/core/encoder/imageDecoder';
import type { ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import type { ModelCard } from '../../../src/core/encoder/modelCard';
import { BrowserDatasetFile } from '../../../src/workers/browserFile';
import type { DecodeReply, DecodeRequest } from '../../../src/workers/decodeProtocol';
import { DecodePool, decodePoolSize, type DecodeWorkerLike, type EmbedDecoder } from '../../../src/workers/decodePool';

const spec: DecodeSpec = { width: 2, height: 2, resize: 'squash' };

/** Pixels that name their file, so a result found at the wrong index shows. */
function pixelsOf(path: string): DecodedImage {
  let h = 0;
  for (const c of path) h = (h * 31 + c.charCodeAt(0)) % 251;
  return { width: 2, height: 2, data: new Uint8Array(12).map((_, i) => (h + i) % 256) };
}

/** A decode worker stand-in: keeps each request until the test answers it (or answers by itself). */
class FakeWorker implements DecodeWorkerLike {
  requests: DecodeRequest[] = [];
  terminated = false;
  private onMessage: ((e: { data: DecodeReply }) => void)[] = [];
  private onError: ((e: { message?: string }) => void)[] = [];
  constructor(private readonly auto?: { delay: () => number; fails: (path: string) => boolean }) {}
  postMessage(message: DecodeRequest): void {
    this.requests.push(message);
    if (this.auto) setTimeout(() => this.answer(message.id), this.auto.delay());
  }
  addEventListener(type: 'message' | 'error', listener: (e: never) => void): void {
    if (type === 'message') this.onMessage.push(listener as (e: { data: DecodeReply }) => void);
    else this.onError.push(listener as (e: { message?: string }) => void);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(data: DecodeReply): void {
    if (!this.terminated) for (const l of this.onMessage) l({ data });
  }
  crash(message: string): void {
    for (const l of this.onError) l({ message });
  }
  answer(id: number): void {
    const r = this.requests.find((q) => q.id === id)!;
    if (this.auto?.fails(r.path) || r.path.includes('corrupt')) {
      this.emit({ type: 'failed', id, message: `Cannot decode ${r.path}: The source image could not be decoded.`, busyMs: 1 });
    } else {
      this.emit({ type: 'decoded', id, image: pixelsOf(r.path), thumbnail: new Blob([r.path]), busyMs: 2 });
    }
  }
}

const file = (path: string) => new BrowserDatasetFile(path, new File([path], path.split('/').pop()!));

async function startPool(workers: FakeWorker[], capacity = 64, fallback?: () => EmbedDecoder) {
  const pool = DecodePool.start(
    (i) => {
      const w = workers[i];
      queueMicrotask(() => w.emit({ type: 'ready' }));
      return w;
    },
    workers.length,
    { thumbnailSide: 100, capacity, fallback },
  );
  return pool;
}

describe('decode pool size', () => {
  it('with inference on the GPU, leaves a core to feed it and keeps at least one decode worker', () => {
    expect(decodePoolSize(8)).toBe(7);
    expect(decodePoolSize(4)).toBe(3);
    expect(decodePoolSize(2)).toBe(1);
    expect(decodePoolSize(1)).toBe(1);
    expect(decodePoolSize(undefined)).toBe(1);
    expect(decodePoolSize(0)).toBe(1);
    expect(decodePoolSize(Number.NaN)).toBe(1);
    expect(decodePoolSize(2, 0)).toBe(1);
  });

  it('with inference on the CPU, takes only the cores its threads leave free, possibly none', () => {
    // WASM with one thread per core: no decode worker (decoding between batches, in the embedding worker)
    expect(decodePoolSize(2, 2)).toBe(0);
    expect(decodePoolSize(8, 8)).toBe(0);
    // WASM starts at most 8 threads: the cores above them decode
    expect(decodePoolSize(12, 8)).toBe(4);
    // one thread (WASM without cross-origin isolation, or tfjs's cpu backend): the other cores
    expect(decodePoolSize(2, 1)).toBe(1);
    expect(decodePoolSize(4, 1)).toBe(3);
    expect(decodePoolSize(1, 1)).toBe(0);
    expect(decodePoolSize(undefined, 2)).toBe(0);
  });
});

describe('DecodePool', () => {
  it('posts every image at once to the least busy worker and gives each decode its own answer, whatever the order', async () => {
    const workers = [new FakeWorker(), new FakeWorker(), new FakeWorker()];
    const pool = await startPool(workers);
    expect(pool.workers).toBe(3);
    const paths = ['a/1.jpg', 'a/2.jpg', 'a/corrupt.jpg', 'b/3.jpg', 'b/4.jpg', 'b/5.jpg', 'b/6.jpg'];
    const results = paths.map((p) => pool.decode(file(p), spec).then((image) => image, (e: Error) => e.message));
    // posted synchronously, spread evenly: 3, 2, 2
    expect(workers.map((w) => w.requests.length)).toEqual([3, 2, 2]);
    expect(workers[0].requests.map((r) => r.path)).toEqual(['a/1.jpg', 'b/3.jpg', 'b/6.jpg']);
    expect(workers[0].requests[0].thumbnailSide).toBe(100);
    // answered last first, worker by worker
    for (const w of [...workers].reverse()) for (const r of [...w.requests].reverse()) w.answer(r.id);
    const got = await Promise.all(results);
    expect(got).toEqual(paths.map((p) => (p.includes('corrupt') ? `Cannot decode ${p}: The source image could not be decoded.` : pixelsOf(p))));
    expect(pool.decoded).toBe(7);
    expect(await pool.takeThumbnail('b/4.jpg')?.text()).toBe('b/4.jpg');
    expect(pool.takeThumbnail('b/4.jpg')).toBeUndefined(); // taken once
    expect(pool.takeThumbnail('a/corrupt.jpg')).toBeUndefined();
    pool.close();
  });

  it('never has more than its capacity decoding: the rest wait, in order, and go out as answers come back', async () => {
    const workers = [new FakeWorker(), new FakeWorker()];
    const pool = await startPool(workers, 4);
    const paths = Array.from({ length: 10 }, (_, i) => `c/${i}.jpg`);
    const results = paths.map((p) => pool.decode(file(p), spec));
    const posted = () => workers.flatMap((w) => w.requests.map((r) => r.path));
    expect(posted()).toHaveLength(4);
    workers[1].answer(workers[1].requests[0].id);
    expect(posted()).toHaveLength(5);
    expect(workers[1].requests.map((r) => r.path)).toEqual(['c/1.jpg', 'c/3.jpg', 'c/4.jpg']); // the freed worker gets the next in line
    for (let round = 0; round < 10; round++) {
      for (const w of workers) for (const r of w.requests) w.answer(r.id);
    }
    expect((await Promise.all(results)).map((r) => r.data[0])).toEqual(paths.map((p) => pixelsOf(p).data[0]));
    expect(pool.peakInFlight).toBe(4);
    expect([...posted()].sort()).toEqual([...paths].sort());
    pool.close();
  });

  it('leaves out a worker that cannot start, and decodes in-thread when none can', async () => {
    const broken = new FakeWorker();
    const good = new FakeWorker();
    const pool = await DecodePool.start(
      (i) => {
        const w = [broken, good][i];
        queueMicrotask(() => (i === 0 ? w.crash('Failed to fetch a worker script') : w.emit({ type: 'ready' })));
        return w;
      },
      2,
      { thumbnailSide: 0, capacity: 8 },
    );
    expect(pool.workers).toBe(1);
    expect(broken.terminated).toBe(true);
    pool.close();

    const calls: string[] = [];
    const inThread: EmbedDecoder = {
      decode: (f) => (calls.push(f.path), Promise.resolve(pixelsOf(f.path))),
      takeThumbnail: () => undefined,
      decodeMs: 0,
      decoded: 0,
      workers: 0,
      close: () => undefined,
    };
    const none = await DecodePool.start(
      () => {
        throw new Error('Worker is not defined');
      },
      2,
      { thumbnailSide: 0, capacity: 8, fallback: () => inThread },
    );
    expect(none.workers).toBe(0);
    expect(await none.decode(file('d/1.jpg'), spec)).toEqual(pixelsOf('d/1.jpg'));
    expect(calls).toEqual(['d/1.jpg']);
    none.close();
  });

  it('fails the images of a worker that stops, naming the file and why, and goes on with the others', async () => {
    const workers = [new FakeWorker(), new FakeWorker()];
    const pool = await startPool(workers);
    const results = ['e/1.jpg', 'e/2.jpg', 'e/3.jpg'].map((p) => pool.decode(file(p), spec).then(() => 'ok', (e: Error) => e.message));
    workers[1].crash('out of memory');
    expect(workers[1].terminated).toBe(true);
    expect(pool.workers).toBe(1);
    const next = pool.decode(file('e/4.jpg'), spec);
    expect(workers[0].requests.map((r) => r.path)).toEqual(['e/1.jpg', 'e/3.jpg', 'e/4.jpg']);
    for (const r of workers[0].requests) workers[0].answer(r.id);
    expect(await Promise.all(results)).toEqual([
      'ok',
      'Cannot decode e/2.jpg: its decode worker stopped (out of memory); embed again to retry it',
      'ok',
    ]);
    expect(await next).toEqual(pixelsOf('e/4.jpg'));
    pool.close();
  });

  it('close stops every worker and rejects what is still decoding or waiting', async () => {
    const workers = [new FakeWorker(), new FakeWorker()];
    const pool = await startPool(workers, 2);
    const results = ['f/1.jpg', 'f/2.jpg', 'f/3.jpg'].map((p) => pool.decode(file(p), spec).then(() => 'ok', (e: Error) => e.message));
    pool.close();
    pool.close();
    expect(workers.every((w) => w.terminated)).toBe(true);
    expect(new Set(await Promise.all(results))).toEqual(new Set(['Decoding stopped: the embedding run has ended.']));
    await expect(pool.decode(file('f/4.jpg'), spec)).rejects.toThrow(/Decoding stopped/);
  });
});

describe('embedImages over the pool', () => {
  const card = { id: 'fake', name: 'fake', inputSize: { width: 2, height: 2 } } as unknown as ModelCard;
  /** A stand-in encoder (this test is about order, not inference): each vector is its image's first bytes. */
  const encoder = {
    card,
    featureSize: 3,
    inputSize: { width: 2, height: 2 },
    embed: (images: DecodedImage[]) => Promise.resolve(Float32Array.from(images.flatMap((im) => [im.data[0], im.data[1], im.data[2]]))),
    dispose: () => undefined,
  } as unknown as ImageEncoder;

  async function run(decoder: ImageDecoder, files: DatasetFile[]) {
    const batches: { indices: number[]; embeddings: number[] }[] = [];
    const problems: EmbedProblem[] = [];
    const result = await embedImages({
      encoder,
      decoder,
      files,
      batchSize: 4,
      onBatch: (b) => void batches.push({ indices: b.indices, embeddings: Array.from(b.embeddings) }),
      onProblem: (p) => problems.push(p),
    });
    return { batches, problems, embedded: result.embedded, failed: result.failed };
  }

  it('gives the same batches, vectors and problems, in the same order, as one decoder in order (a corrupt file mid-batch included)', async () => {
    const paths = Array.from({ length: 23 }, (_, i) => (i === 5 ? 'g/corrupt.jpg' : `g/${String(i).padStart(2, '0')}.jpg`));
    const files: DatasetFile[] = paths.map(file);
    files.splice(13, 0, new BrowserDatasetFile('g/empty.jpg', new File([], 'empty.jpg')));
    const inOrder: ImageDecoder = {
      decode: (f) =>
        f.path.includes('corrupt')
          ? Promise.reject(new Error(`Cannot decode ${f.path}: The source image could not be decoded.`))
          : Promise.resolve(pixelsOf(f.path)),
    };
    const expected = await run(inOrder, files);
    expect(expected.problems.map((p) => p.path)).toEqual(['g/corrupt.jpg', 'g/empty.jpg']);

    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 6;
    const workers = [0, 1, 2].map(() => new FakeWorker({ delay: random, fails: () => false }));
    const pool = await startPool(workers, 8);
    const pooled = await run(pool, files);
    pool.close();
    expect(pooled).toEqual(expected);
    expect(pool.peakInFlight).toBeLessThanOrEqual(8);
    // the empty file never reaches a worker (core reports it), the corrupt one does
    expect(workers.flatMap((w) => w.requests.map((r) => r.path))).not.toContain('g/empty.jpg');
  });
});
