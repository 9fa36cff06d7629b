let warming: Promise<void> | null = null;

/**
 * Resolves once ICU's data is loaded for this page, by a short-lived worker (ICU's data is
 * shared by the page's threads; see icuWarmupWorker.ts), and marks `studio:icu-ready`. Code
 * that makes Intl objects as it loads waits for it. Never rejects: without workers, or if the
 * worker fails or is slow, it resolves anyway and the main thread loads ICU itself, as it
 * would have.
 */
export function icuReady(): Promise<void> {
  warming ??= new Promise<void>((resolve) => {
    let worker: Worker | null = null;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      worker?.terminate();
      performance.mark('studio:icu-ready');
      resolve();
    };
    const timer = setTimeout(done, 3000);
    if (typeof Worker === 'undefined') return done();
    try {
      worker = new Worker(new URL('./icuWarmupWorker.ts', import.meta.url), { type: 'module', name: 'icu-warmup' });
      worker.onmessage = done;
      worker.onerror = done;
    } catch {
      done();
    }
  });
  return warming;
}
