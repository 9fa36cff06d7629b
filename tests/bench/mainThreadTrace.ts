/**
 * The page's main-thread tasks as Chromium's tracing sees them, each with its thread CPU time
 * beside its wall time. A long task (over 50 ms of wall time) on a busy 2-core machine can
 * hold only 30 ms of the main thread's own CPU: the rest of its time the thread waited for a
 * core (workers, other processes). Tracing tells the two apart.
 */
import type { BrowserContext, CDPSession, Page } from 'playwright-core';

export interface TracedTask {
  /** Start, in the page's clock (performance.now() of its current document). */
  startMs: number;
  wallMs: number;
  /** The main thread's CPU time inside the task. */
  cpuMs: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
}

const ALIGN = 'bench:trace-align';
// what a task is at the top of the main thread: a posted task, or a microtask checkpoint run on
// its own (a `scheduler.yield()` continuation shows as the latter, outside any RunTask)
const TASKS = new Set(['ThreadControllerImpl::RunTask', 'BlinkScheduler_PerformMicrotaskCheckpoint']);

/** Top-level tasks over `overMs` of wall time on the thread that made the mark `ALIGN`, in its page's clock. */
export function mainThreadTasks(events: TraceEvent[], markStartMs: number, overMs = 50): TracedTask[] {
  const mark = events.filter((e) => e.name === ALIGN).pop();
  if (!mark) throw new Error(`The trace has no ${ALIGN} mark: was blink.user_timing traced?`);
  const offsetMs = mark.ts / 1000 - markStartMs;
  const runs = events
    .filter((e) => e.ph === 'X' && TASKS.has(e.name) && e.pid === mark.pid && e.tid === mark.tid && (e.dur ?? 0) > overMs * 1000)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const tasks: TracedTask[] = [];
  let endUs = -Infinity;
  for (const e of runs) {
    if (e.ts < endUs) continue; // a task nested in the one before (the scheduler wraps tasks in tasks)
    endUs = e.ts + e.dur!;
    const startMs = e.ts / 1000 - offsetMs;
    // before this document's start: the page before a reload
    if (startMs < 0) continue;
    tasks.push({ startMs, wallMs: e.dur! / 1000, cpuMs: (e.tdur ?? e.dur!) / 1000 });
  }
  return tasks;
}

/** The events of a trace Chromium returned as a stream (its JSON object format). */
async function readTrace(cdp: CDPSession, handle: string): Promise<TraceEvent[]> {
  const chunks: string[] = [];
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send('IO.read', { handle, size: 1 << 22 });
    chunks.push(base64Encoded ? Buffer.from(data, 'base64').toString('utf8') : data);
    if (eof) break;
  }
  await cdp.send('IO.close', { handle });
  const trace = JSON.parse(chunks.join('')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  return Array.isArray(trace) ? trace : (trace.traceEvents ?? []);
}

/** Traces the page's main thread from `start()` until `stop()` (once at a time). */
export class MainThreadTracer {
  private cdp: CDPSession | null = null;

  constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
  ) {}

  async start(): Promise<void> {
    if (this.cdp) throw new Error('The trace is already running');
    this.cdp = await this.context.newCDPSession(this.page);
    // kept in the browser until the end, then read at once: streamed while the phase runs,
    // the trace's serialisation took the cores from the page it measures
    await this.cdp.send('Tracing.start', {
      traceConfig: { includedCategories: ['toplevel', 'blink.user_timing', '__metadata'] },
      transferMode: 'ReturnAsStream',
    });
  }

  /**
   * Ends the trace; the tasks over `overMs` of wall time of the page's current document (by
   * default over 30 ms: a long task's entry can be longer than the task's trace event).
   */
  async stop(overMs = 30): Promise<TracedTask[]> {
    const cdp = this.cdp;
    if (!cdp) throw new Error('The trace was not started');
    const markStartMs = await this.page.evaluate((name) => performance.mark(name).startTime, ALIGN);
    const ended = new Promise<string>((resolve, reject) =>
      cdp.once('Tracing.tracingComplete', (e) => (e.stream ? resolve(e.stream) : reject(new Error('The trace came back without a stream')))),
    );
    await cdp.send('Tracing.end');
    const events = await readTrace(cdp, await ended);
    await cdp.detach();
    this.cdp = null;
    return mainThreadTasks(events, markStartMs, overMs);
  }
}
