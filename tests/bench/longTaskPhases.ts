/**
 * Main-thread long tasks per step of the person's path, from the page's one monitor
 * (`window.__studioLongTaskLog`, src/app/longTasks.ts): a phase is a window of page time,
 * from its action's start until it is done and the page has been quiet for `settleMs`.
 * Each long task comes with the scripts Chromium attributes its frame to.
 */
import os from 'node:os';
import type { Page } from 'playwright-core';
import type { LongTaskLog, SlowFrameScript } from '../../src/app/longTasks';
import type { MainThreadTracer, TracedTask } from './mainThreadTrace';

export interface PhaseLongTasks {
  phase: string;
  /** Page time the window covered. */
  wallMs: number;
  supported: boolean;
  count: number;
  longestMs: number;
  totalMs: number;
  /**
   * The five longest, each with the scripts that ran in it (longest first) and, when the
   * phase was traced, the main thread's own CPU time in it.
   */
  longest: { startMs: number; durationMs: number; cpuMs?: number | null; scripts: string[] }[];
  /**
   * When the phase was traced: how many of its long tasks held over 50 ms of the main
   * thread's CPU (the others mostly waited for a core), and how many the trace did not find.
   */
  overFiftyMsOfCpu?: number;
  cpuUnknown?: number;
  /** 1-minute load average at the end: long tasks are inflated on a busy machine. */
  loadAverage: number;
}

const round = (x: number) => Math.round(x);

/** performance.now() in the page. */
export function pageNow(page: Page): Promise<number> {
  return page.evaluate(() => performance.now());
}

function describeScript(s: SlowFrameScript): string {
  const file = s.sourceURL.split('/').pop() || '(inline)';
  return `${round(s.durationMs)} ms ${s.invoker || '?'} → ${s.sourceFunctionName || '(anonymous)'} @ ${file}:${s.sourceCharPosition}`;
}

/** The traced task that is this long task (same start, within a few ms). */
function tracedAs(traced: TracedTask[], startMs: number): TracedTask | undefined {
  return traced.find((t) => Math.abs(t.startMs - startMs) < 4);
}

/** The long tasks that started in [fromMs, toMs) of the current page (with their CPU time when `traced` is given). */
export async function longTasksBetween(page: Page, phase: string, fromMs: number, toMs: number, traced?: TracedTask[]): Promise<PhaseLongTasks> {
  const log = (await page.evaluate(() => (window as unknown as { __studioLongTaskLog?: unknown }).__studioLongTaskLog ?? null)) as LongTaskLog | null;
  if (!log) throw new Error('The page has no window.__studioLongTaskLog: is it the studio, built from this tree?');
  const inside = log.entries.filter((e) => e.startMs >= fromMs && e.startMs < toMs);
  const longest = [...inside]
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, 5)
    .map((t) => ({
      startMs: round(t.startMs),
      durationMs: round(t.durationMs),
      ...(traced ? { cpuMs: tracedAs(traced, t.startMs) ? round(tracedAs(traced, t.startMs)!.cpuMs) : null } : {}),
      scripts: log.scripts
        .filter((s) => s.startMs < t.startMs + t.durationMs && s.startMs + s.durationMs > t.startMs)
        .sort((a, b) => b.durationMs - a.durationMs)
        .slice(0, 3)
        .map(describeScript),
    }));
  return {
    phase,
    wallMs: round(toMs - fromMs),
    supported: log.supported,
    count: inside.length,
    longestMs: round(Math.max(0, ...inside.map((e) => e.durationMs))),
    totalMs: round(inside.reduce((a, e) => a + e.durationMs, 0)),
    longest,
    ...(traced
      ? {
          overFiftyMsOfCpu: inside.filter((e) => (tracedAs(traced, e.startMs)?.cpuMs ?? 0) > 50).length,
          cpuUnknown: inside.filter((e) => !tracedAs(traced, e.startMs)).length,
        }
      : {}),
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/**
 * Runs `action` (one step of the path) and returns its long tasks: those that started from
 * the action's start until `settleMs` after it ended; traced by `tracer` when given.
 */
export async function measurePhase<T>(
  page: Page,
  phase: string,
  action: () => Promise<T>,
  settleMs = 1000,
  tracer?: MainThreadTracer,
): Promise<{ result: T; longTasks: PhaseLongTasks }> {
  await tracer?.start();
  const from = await pageNow(page);
  const result = await action();
  await page.waitForTimeout(settleMs);
  const to = await pageNow(page);
  const traced = await tracer?.stop();
  return { result, longTasks: await longTasksBetween(page, phase, from, to, traced) };
}
