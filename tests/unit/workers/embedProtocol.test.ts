import { describe, expect, it } from 'vitest';
import { EmbedClient, EmbedJobError, type WorkerLike } from '../../../src/workers/embedClient';
import {
  ImagesSentAhead,
  isTerminalEvent,
  requestProblem,
  TERMINAL_EVENT,
  type EmbedEvent,
  type EmbedImage,
  type EmbedOptions,
  type EmbedRequest,
} from '../../../src/workers/embedProtocol';

/** A worker stand-in: records requests and lets the test post events back. */
class FakeWorker implements WorkerLike {
  requests: EmbedRequest[] = [];
  private listeners: ((e: MessageEvent<EmbedEvent>) => void)[] = [];
  terminated = false;
  postMessage(message: EmbedRequest): void {
    this.requests.push(structuredClone(message));
  }
  addEventListener(type: 'message' | 'error', listener: (e: never) => void): void {
    if (type === 'message') this.listeners.push(listener as (e: MessageEvent<EmbedEvent>) => void);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(event: EmbedEvent): void {
    for (const l of this.listeners) l({ data: structuredClone(event) } as MessageEvent<EmbedEvent>);
  }
}

const encoder = { kind: 'url', url: 'https://example.test/model.json' } as const;
const options: EmbedOptions = { backend: 'wasm', batchSize: 8, cropToBox: false, validationClasses: [1] };

describe('embed worker protocol', () => {
  it('validates requests and lists what is valid when one is not', () => {
    expect(requestProblem({ type: 'probe-backends', jobId: 'a' })).toBeNull();
    expect(requestProblem({ type: 'embed', jobId: 'a', encoder, images: [], options: { ...options } })).toBeNull();
    expect(requestProblem({ type: 'embed', jobId: 'a', encoder, images: [], options: { ...options, backend: 'metal' } })).toMatch(
      /backend must be 'auto' or one of webgpu, webgl, wasm, cpu/,
    );
    expect(requestProblem({ type: 'embed', jobId: 'a', encoder, images: [], options: { ...options, batchSize: 0 } })).toMatch(/batchSize/);
    expect(requestProblem({ type: 'embed', jobId: 'a', encoder, images: [], options: { ...options, decodeWorkers: 0 } })).toBeNull();
    expect(requestProblem({ type: 'embed', jobId: 'a', encoder, images: [], options: { ...options, decodeWorkers: 1.5 } })).toMatch(
      /decodeWorkers must be an integer from 0 to 32, or left out for one per core \(got 1.5\)/,
    );
    expect(requestProblem({ type: 'explode', jobId: 'a' })).toMatch(/unknown request type "explode"; expected/);
    expect(requestProblem({ type: 'cancel' })).toMatch(/jobId/);
    expect(requestProblem(null)).toMatch(/object/);
  });

  it('ends every request type with exactly one terminal event, or error', () => {
    expect(TERMINAL_EVENT).toEqual({ 'probe-backends': 'backends', benchmark: 'benchmark-done', embed: 'embed-done', 'export-model': 'model-exported' });
    expect(isTerminalEvent({ type: 'model-exported', jobId: 'a', files: [], savedTo: null })).toBe(true);
    const exportRequest = { type: 'export-model', jobId: 'a', encoder, weights: {}, readme: {} };
    expect(requestProblem(exportRequest)).toBeNull();
    expect(requestProblem({ ...exportRequest, weights: undefined })).toBe('export-model needs the head weights');
    expect(requestProblem({ ...exportRequest, saveTo: 'localstorage://x' })).toBe('saveTo must be an indexeddb:// URL (got "localstorage://x")');
    expect(isTerminalEvent({ type: 'progress', jobId: 'a', done: 1, total: 2, imagesPerSecond: 1, etaSeconds: 1, decodeMsPerImage: 1, decodeWorkers: 1 })).toBe(false);
    expect(isTerminalEvent({ type: 'error', jobId: 'a', code: 'quota', message: 'full' })).toBe(true);
    expect(isTerminalEvent({ type: 'backends', jobId: 'a', backends: [] })).toBe(true);
  });
});

describe('EmbedClient', () => {
  it('starts the worker on first use only, and routes events to their own job', async () => {
    let created = 0;
    const fake = new FakeWorker();
    const client = new EmbedClient(() => {
      created += 1;
      return fake;
    });
    expect(created).toBe(0);
    const seenA: string[] = [];
    const seenB: string[] = [];
    const a = client.probeBackends({ onEvent: (e) => seenA.push(e.type) });
    const b = client.embed(encoder, [], { ...options }, { onEvent: (e) => seenB.push(e.type) });
    expect(created).toBe(1);
    const [ra, rb] = fake.requests;
    expect(ra.type).toBe('probe-backends');
    expect(rb.type).toBe('embed');
    expect(ra.jobId).not.toBe(rb.jobId);

    fake.emit({ type: 'cache-checked', jobId: rb.jobId, total: 0, cached: 0, missing: 0, readMs: 1 });
    fake.emit({ type: 'backends', jobId: ra.jobId, backends: [{ name: 'wasm', available: true }] });
    const done: EmbedEvent = {
      type: 'embed-done', jobId: rb.jobId, embedded: 0, cached: 0, failed: 0, cancelled: false, seconds: 0, imagesPerSecond: 0, decodeMsPerImage: 0, decodeWorkers: 0,
    };
    fake.emit(done);
    expect((await a).backends[0].name).toBe('wasm');
    expect(await b).toEqual(done);
    expect(seenA).toEqual(['backends']);
    expect(seenB).toEqual(['cache-checked', 'embed-done']);
  });

  it('sends cancel when the signal aborts and still waits for the worker to finish the job', async () => {
    const fake = new FakeWorker();
    const client = new EmbedClient(() => fake);
    const controller = new AbortController();
    const job = client.embed(encoder, [], { ...options }, { signal: controller.signal });
    const jobId = fake.requests[0].jobId;
    controller.abort();
    expect(fake.requests[1]).toEqual({ type: 'cancel', jobId });
    let settled = false;
    void job.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    fake.emit({ type: 'embed-done', jobId, embedded: 3, cached: 0, failed: 0, cancelled: true, seconds: 1, imagesPerSecond: 3, decodeMsPerImage: 1, decodeWorkers: 1 });
    expect((await job).cancelled).toBe(true);
  });

  it('rejects with the worker error, code kept', async () => {
    const fake = new FakeWorker();
    const client = new EmbedClient(() => fake);
    const job = client.embed(encoder, [], { ...options });
    fake.emit({ type: 'error', jobId: fake.requests[0].jobId, code: 'quota', message: 'Browser storage is full' });
    const err = await job.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbedJobError);
    expect((err as EmbedJobError).event.code).toBe('quota');
  });

  it('sends a large embed in slices, one task each, that the worker joins back in order', async () => {
    const fake = new FakeWorker();
    const client = new EmbedClient(() => fake, 2);
    const images: EmbedImage[] = Array.from({ length: 5 }, (_, i) => ({ path: `c/${i}.jpg`, file: null, size: i, lastModified: 0, classId: i % 2 }));
    const job = client.embed(encoder, images, { ...options });
    // the first slice goes at once, the next one only in a later task
    expect(fake.requests.map((r) => r.type)).toEqual(['embed-images']);
    await expect.poll(() => fake.requests.length).toBe(3);
    expect(fake.requests.map((r) => r.type)).toEqual(['embed-images', 'embed-images', 'embed']);
    const jobId = fake.requests[2].jobId;
    expect(fake.requests.every((r) => r.jobId === jobId)).toBe(true);
    const ahead = new ImagesSentAhead();
    for (const r of fake.requests) {
      if (r.type === 'embed-images') ahead.add(r.jobId, r.images);
      if (r.type === 'embed') expect(ahead.take(r.jobId, r.images).map((i) => i.path)).toEqual(images.map((i) => i.path));
    }
    expect(ahead.take(jobId, [])).toEqual([]); // taken once
    fake.emit({ type: 'embed-done', jobId, embedded: 5, cached: 0, failed: 0, cancelled: false, seconds: 1, imagesPerSecond: 5, decodeMsPerImage: 1, decodeWorkers: 1 });
    expect((await job).embedded).toBe(5);
  });

  it('a cancel while the slices are being sent stops sending and tells the worker to drop them', async () => {
    const fake = new FakeWorker();
    const client = new EmbedClient(() => fake, 2);
    const controller = new AbortController();
    const images: EmbedImage[] = Array.from({ length: 7 }, (_, i) => ({ path: `${i}.jpg`, file: null, size: i, lastModified: 0, classId: 0 }));
    const job = client.embed(encoder, images, { ...options }, { signal: controller.signal });
    controller.abort();
    await expect(job).rejects.toThrow(/aborted/i);
    expect(fake.requests.map((r) => r.type)).toEqual(['embed-images', 'cancel']);
  });
});
