import type { Page } from 'playwright-core';
import type { BareResult } from '../../src/workers/bench/bareEncoderWorker';
import type { BackendName } from '../../src/workers/embedProtocol';

/**
 * The bare encoder (src/workers/bench/bareEncoderWorker.ts) on every JPEG under `folder`
 * (sorted by path), in a worker of the page: images decoded first, inference timed alone.
 */
export async function bareEncoderRun(
  page: Page,
  folder: string,
  opts: { modelUrl: string; batchSize: number; backend: BackendName; thumbnailSide?: number },
  /** Called once the model is loaded and once every image is decoded, before inference (to measure the phases apart). */
  phases?: { loaded?: () => void | Promise<void>; decoded?: () => void | Promise<void> },
): Promise<BareResult> {
  await page.evaluate(() => {
    document.getElementById('bench-files')?.remove();
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.webkitdirectory = true;
    input.id = 'bench-files';
    input.hidden = true;
    document.body.append(input);
  });
  await page.setInputFiles('#bench-files', folder);
  await page.evaluate(
    ({ modelUrl, batchSize, backend, thumbnailSide, pauses }) => {
      const input = document.getElementById('bench-files') as HTMLInputElement;
      const files = Array.from(input.files ?? [])
        .filter((f) => /\.jpe?g$/i.test(f.name))
        .sort((a, b) => a.webkitRelativePath.localeCompare(b.webkitRelativePath));
      const worker = new Worker('/src/workers/bench/bareEncoderWorker.ts', { type: 'module' });
      // the worker's answers, in order, and who waits for the next (no named local functions
      // in here: tsx's __name helper does not exist in the page)
      const bare = { worker, answers: [] as unknown[], waiting: [] as ((a: unknown) => void)[] };
      (window as unknown as { __bare: typeof bare }).__bare = bare;
      worker.onerror = (e) => (bare.waiting.length ? bare.waiting.shift()!({ ok: false, error: e.message }) : bare.answers.push({ ok: false, error: e.message }));
      worker.onmessage = (e) => (bare.waiting.length ? bare.waiting.shift()!(e.data) : bare.answers.push(e.data));
      worker.postMessage({ modelUrl, files, batchSize, backend, thumbnailSide, pauses });
    },
    { ...opts, pauses: phases !== undefined },
  );
  type Answer = { ok?: boolean; result?: BareResult; error?: string; phase?: 'loaded' | 'decoded' };
  for (;;) {
    const answer = (await page.evaluate(() => {
      const bare = (window as unknown as { __bare: { answers: unknown[]; waiting: ((a: unknown) => void)[] } }).__bare;
      return bare.answers.length ? bare.answers.shift() : new Promise<unknown>((r) => bare.waiting.push(r));
    })) as Answer;
    if (answer.phase) {
      await phases?.[answer.phase]?.();
      await page.evaluate(() => (window as unknown as { __bare: { worker: Worker } }).__bare.worker.postMessage('go'));
      continue;
    }
    await page.evaluate(() => (window as unknown as { __bare: { worker: Worker } }).__bare.worker.terminate());
    if (!answer.ok) throw new Error(answer.error);
    return answer.result!;
  }
}
