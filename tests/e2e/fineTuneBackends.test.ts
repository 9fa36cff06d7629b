import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, serveModelAt, startStudio, TEST_MODEL, TEST_MODEL_URL, type Browser, type StudioServer } from './support/studio';

type Result = { backend: string; formulation: string; losses: number[] };

describe('training and evaluation in the browser: WebGPU (SwiftShader) and WASM', () => {
  let server: StudioServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('retrieval metrics run on webgpu (no synchronous read): the hand-computed numbers, ties by lower index, as on wasm, no tensor left', async () => {
    const { page } = browser;
    await page.goto(`${server.url}tests/e2e/support/fineTune.html`);
    const run = (backend: string) =>
      page.evaluate(`new Promise((resolve, reject) => {
        const worker = new Worker('/tests/e2e/support/evaluationWorker.ts', { type: 'module' });
        worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.result));
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ backend: ${JSON.stringify(backend)} });
      })`) as Promise<Record<string, unknown> & { backend: string; leaked: number }>;
    const webgpu = await run('webgpu');
    const wasm = await run('wasm');
    expect(webgpu.backend).toBe('webgpu');
    expect(webgpu).toMatchObject({
      hand: { queryCount: 6, skippedQueries: 1, precisionAt1: 5 / 6 },
      same: { rPrecision: 0.25 },
      leaked: 0,
    });
    const hand = webgpu.hand as { rPrecision: number; rPrecisionMacro: number; mapAtR: number };
    expect(hand.rPrecision).toBeCloseTo(9 / 14, 12);
    expect(hand.rPrecisionMacro).toBeCloseTo(11 / 18, 12);
    expect(hand.mapAtR).toBeCloseTo(11 / 18, 12);
    expect(webgpu.fromTensor).toEqual(webgpu.fromValues);
    expect({ ...webgpu, backend: 'wasm' }).toEqual(wasm);
  });

  it('a few joint steps (tiny batches) give the same losses on webgpu (the layers\' own conv gradients) and wasm (primitives)', async () => {
    const { page } = browser;
    // a bare page: the studio itself would start its own workers and WebGPU device
    await page.goto(`${server.url}tests/e2e/support/fineTune.html`);
    // in a module worker, as the studio trains; a string, so that vitest leaves the page's code alone
    const run = (backend: string) =>
      page.evaluate(`new Promise((resolve, reject) => {
        const worker = new Worker('/tests/e2e/support/fineTuneWorker.ts', { type: 'module' });
        worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.result));
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ backend: ${JSON.stringify(backend)}, url: ${JSON.stringify(TEST_MODEL_URL)} });
      })`) as Promise<Result>;
    const webgpu = await run('webgpu');
    const wasm = await run('wasm');
    console.info(`[e2e] fine-tune losses webgpu ${webgpu.losses.map((v) => v.toFixed(5)).join(' ')}; wasm ${wasm.losses.map((v) => v.toFixed(5)).join(' ')}`);
    expect(webgpu).toMatchObject({ backend: 'webgpu', formulation: 'layers' });
    expect(wasm).toMatchObject({ backend: 'wasm', formulation: 'primitives' });
    expect(webgpu.losses).toHaveLength(4);
    webgpu.losses.forEach((v, i) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(v - wasm.losses[i]), `loss ${i}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(v)));
    });
  });
});
