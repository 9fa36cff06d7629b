/**
 * Main-thread long tasks (over 50 ms) while training, measured with a
 * PerformanceObserver('longtask'). The figures are also published on
 * `window.__studioLongTasks` for tests and benchmarks.
 */
export interface LongTaskStats {
  supported: boolean;
  observing: boolean;
  count: number;
  longestMs: number;
  totalMs: number;
  /** performance.now() when measuring (re)started. */
  since: number;
}

declare global {
  interface Window {
    __studioLongTasks?: LongTaskStats;
  }
}

export class LongTaskMonitor {
  readonly stats: LongTaskStats;
  private observer: PerformanceObserver | null = null;
  private readonly listeners = new Set<(s: LongTaskStats) => void>();

  constructor() {
    const supported =
      typeof PerformanceObserver !== 'undefined' && (PerformanceObserver.supportedEntryTypes ?? []).includes('longtask');
    this.stats = { supported, observing: false, count: 0, longestMs: 0, totalMs: 0, since: 0 };
    if (typeof window !== 'undefined') window.__studioLongTasks = this.stats;
  }

  /** Starts counting from zero. */
  start(): void {
    this.stop();
    Object.assign(this.stats, { observing: this.stats.supported, count: 0, longestMs: 0, totalMs: 0, since: performance.now() });
    if (this.stats.supported) {
      this.observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          this.stats.count += 1;
          this.stats.totalMs += entry.duration;
          this.stats.longestMs = Math.max(this.stats.longestMs, entry.duration);
        }
        this.notify();
      });
      this.observer.observe({ type: 'longtask' });
    }
    this.notify();
  }

  stop(): void {
    if (this.observer) {
      // entries still queued belong to the run
      const pending = this.observer.takeRecords();
      for (const entry of pending) {
        this.stats.count += 1;
        this.stats.totalMs += entry.duration;
        this.stats.longestMs = Math.max(this.stats.longestMs, entry.duration);
      }
      this.observer.disconnect();
      this.observer = null;
    }
    if (this.stats.observing) {
      this.stats.observing = false;
      this.notify();
    }
  }

  subscribe(listener: (s: LongTaskStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    const copy = { ...this.stats };
    for (const l of this.listeners) l(copy);
  }
}

/** The page's one monitor. */
export const longTasks = new LongTaskMonitor();
