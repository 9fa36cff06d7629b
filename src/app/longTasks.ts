/**
 * Main-thread long tasks (over 50 ms), measured with a PerformanceObserver('longtask') for
 * the whole page, from its start (buffered entries included), and counted apart while
 * training (`start`/`stop`: what the Training panel shows).
 *
 * Published for tests and benchmarks: `window.__studioLongTasks` (the training window) and
 * `window.__studioLongTaskLog` (every long task since the page started, with the scripts
 * Chromium's long-animation-frame entries attribute the slow frames to), which a benchmark
 * cuts into the person's steps by time.
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

/** One long task: when it started and how long it ran (ms, page time). */
export interface LongTaskEntry {
  startMs: number;
  durationMs: number;
  /** What the longtask entry says ran it ('self', 'same-origin-descendant', …). */
  name: string;
}

/** A script a slow frame spent its time in (Chromium's long-animation-frame attribution). */
export interface SlowFrameScript {
  startMs: number;
  durationMs: number;
  /** What called it: 'DOMWindow.onmessage', 'Response.json.then', 'TimerHandler:setTimeout', … */
  invoker: string;
  sourceURL: string;
  sourceFunctionName: string;
  sourceCharPosition: number;
}

export interface LongTaskLog {
  supported: boolean;
  /** Long tasks since the page started (the first `limit` kept; `count` counts them all). */
  entries: LongTaskEntry[];
  count: number;
  /** Scripts of slow frames (over 50 ms), the 2,000 first kept. */
  scripts: SlowFrameScript[];
}

declare global {
  interface Window {
    __studioLongTasks?: LongTaskStats;
    __studioLongTaskLog?: LongTaskLog;
  }
}

const KEPT = 2000;
const supports = (type: string) => typeof PerformanceObserver !== 'undefined' && (PerformanceObserver.supportedEntryTypes ?? []).includes(type);

interface ScriptTiming {
  startTime: number;
  duration: number;
  invoker?: string;
  sourceURL?: string;
  sourceFunctionName?: string;
  sourceCharPosition?: number;
}

export class LongTaskMonitor {
  readonly stats: LongTaskStats;
  readonly log: LongTaskLog;
  private readonly listeners = new Set<(s: LongTaskStats) => void>();
  private tasks: PerformanceObserver | null = null;

  constructor() {
    const supported = supports('longtask');
    this.stats = { supported, observing: false, count: 0, longestMs: 0, totalMs: 0, since: 0 };
    this.log = { supported, entries: [], count: 0, scripts: [] };
    if (typeof window !== 'undefined') {
      window.__studioLongTasks = this.stats;
      window.__studioLongTaskLog = this.log;
    }
    if (supported) {
      this.tasks = new PerformanceObserver((list) => this.record(list.getEntries()));
      this.tasks.observe({ type: 'longtask', buffered: true });
    }
    if (supports('long-animation-frame')) {
      const frames = new PerformanceObserver((list) => {
        for (const frame of list.getEntries() as (PerformanceEntry & { scripts?: ScriptTiming[] })[]) {
          for (const s of frame.scripts ?? []) {
            if (this.log.scripts.length >= KEPT) break;
            this.log.scripts.push({
              startMs: s.startTime,
              durationMs: s.duration,
              invoker: s.invoker ?? '',
              sourceURL: s.sourceURL ?? '',
              sourceFunctionName: s.sourceFunctionName ?? '',
              sourceCharPosition: s.sourceCharPosition ?? -1,
            });
          }
        }
      });
      frames.observe({ type: 'long-animation-frame', buffered: true });
    }
  }

  /** Starts counting the training window from zero. */
  start(): void {
    this.flush();
    Object.assign(this.stats, { observing: this.stats.supported, count: 0, longestMs: 0, totalMs: 0, since: performance.now() });
    this.notify();
  }

  stop(): void {
    // entries still queued belong to the run
    this.flush();
    if (this.stats.observing) {
      this.stats.observing = false;
      this.notify();
    }
  }

  subscribe(listener: (s: LongTaskStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private flush(): void {
    const pending = this.tasks?.takeRecords() ?? [];
    if (pending.length) this.record(pending);
  }

  private record(entries: PerformanceEntry[]): void {
    let counted = false;
    for (const entry of entries) {
      this.log.count += 1;
      if (this.log.entries.length < KEPT) this.log.entries.push({ startMs: entry.startTime, durationMs: entry.duration, name: entry.name });
      if (this.stats.observing && entry.startTime >= this.stats.since) {
        this.stats.count += 1;
        this.stats.totalMs += entry.duration;
        this.stats.longestMs = Math.max(this.stats.longestMs, entry.duration);
        counted = true;
      }
    }
    if (counted) this.notify();
  }

  private notify(): void {
    const copy = { ...this.stats };
    for (const l of this.listeners) l(copy);
  }
}

/** The page's one monitor. */
export const longTasks = new LongTaskMonitor();
