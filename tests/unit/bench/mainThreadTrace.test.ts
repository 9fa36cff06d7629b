import { describe, expect, it } from 'vitest';
import { mainThreadTasks } from '../../bench/mainThreadTrace';

const MAIN = { pid: 7, tid: 7 };
const task = (tsUs: number, durUs: number, tdurUs: number, where = MAIN) => ({ name: 'ThreadControllerImpl::RunTask', ph: 'X', ...where, ts: tsUs, dur: durUs, tdur: tdurUs });
// the page marked bench:trace-align at 2,000 ms of its clock, which the trace saw at 10,000,000 µs
const mark = { name: 'bench:trace-align', ph: 'I', ...MAIN, ts: 10_000_000 };

describe("mainThreadTasks (a trace's long tasks with their CPU time, in the page's clock)", () => {
  it('puts each task on the page clock with its wall and CPU time, and keeps only those over the threshold', () => {
    const tasks = mainThreadTasks([task(8_500_000, 80_000, 30_000), task(9_000_000, 20_000, 20_000), mark], 2000);
    expect(tasks).toEqual([{ startMs: 500, wallMs: 80, cpuMs: 30 }]);
  });

  it('counts a task nested in another once, and leaves out other threads and the document before a reload', () => {
    const tasks = mainThreadTasks(
      [
        task(8_500_000, 90_000, 60_000),
        task(8_500_050, 89_900, 59_900), // the scheduler's task inside the same task
        task(8_700_000, 70_000, 70_000, { pid: 7, tid: 9 }), // a worker
        task(7_000_000, 60_000, 60_000), // before this document started (page clock < 0)
        mark,
      ],
      2000,
    );
    expect(tasks).toEqual([{ startMs: 500, wallMs: 90, cpuMs: 60 }]);
  });

  it("counts a scheduler.yield() continuation, which the trace shows as a microtask checkpoint outside any task", () => {
    const checkpoint = { ...task(8_500_000, 80_000, 75_000), name: 'BlinkScheduler_PerformMicrotaskCheckpoint' };
    expect(mainThreadTasks([checkpoint, mark], 2000)).toEqual([{ startMs: 500, wallMs: 80, cpuMs: 75 }]);
  });

  it('says when the trace lacks its alignment mark', () => {
    expect(() => mainThreadTasks([task(1, 60_000, 60_000)], 0)).toThrow(/bench:trace-align/);
  });
});
