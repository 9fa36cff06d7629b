import type { Page } from 'playwright-core';
import type { BareResult } from '../../src/workers/bench/bareEncoderWorker';
import type { BackendName } from '../../src/workers/embedProtocol';

/**
 * The bare encoder (src/workers/bench/bareEncoderWorker.ts) on every JPEG under `folder`
 * (sorted by path), in a worker of the page: images decoded first, inference timed alone.
 */
export async function bareEncoderRun(page: Page, folder: string, opts: { modelUrl: string; batchSize: number; backend: BackendName }): Promise<BareResult> {
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
  return page.evaluate(
    ({ modelUrl, batchSize, backend }) =>
      new Promise<BareResult>((resolve, reject) => {
        const input = document.getElementById('bench-files') as HTMLInputElement;
        const files = Array.from(input.files ?? [])
          .filter((f) => /\.jpe?g$/i.test(f.name))
          .sort((a, b) => a.webkitRelativePath.localeCompare(b.webkitRelativePath));
        const worker = new Worker('/src/workers/bench/bareEncoderWorker.ts', { type: 'module' });
        worker.onerror = (e) => reject(new Error(e.message));
        worker.onmessage = (e) => {
          worker.terminate();
          if (e.data.ok) resolve(e.data.result);
          else reject(new Error(e.data.error));
        };
        worker.postMessage({ modelUrl, files, batchSize, backend });
      }),
    opts,
  );
}
