/**
 * CPU time of a Chromium started on one profile, per process kind and thread, from /proc
 * (Linux only): a cheap profile of where a run's CPU goes, without the profiler's own cost.
 *
 * Thread names are Chromium's own (`DedicatedWorker` for a worker's thread and for each WASM
 * thread, `ThreadPoolForeg…` for the pool that decodes images and encodes canvases, `chromium`
 * for a process's main thread, …); processes are the browser, renderer, gpu-process and the
 * utility sub-types (the storage service holds IndexedDB).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

export interface ThreadCpu {
  process: string;
  thread: string;
  tid: number;
  seconds: number;
}

function processKind(cmdline: string): string {
  // Chromium rewrites its command line (one string, spaces between the arguments)
  const args = cmdline.split(/[\0 ]/);
  const type = args.find((a) => a.startsWith('--type='))?.slice(7);
  if (!type) return 'browser';
  if (type === 'utility') return `utility:${args.find((a) => a.startsWith('--utility-sub-type='))?.slice(19).split('.').pop() ?? '?'}`;
  return type;
}

const cpuOf = (stat: string) => {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS };
};

/** Every thread of the Chromium processes started with `--user-data-dir=<profile>` and their descendants. */
export function chromiumThreads(profile: string): ThreadCpu[] {
  const parent = new Map<number, number>();
  const roots = new Set<number>();
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  for (const pid of pids) {
    try {
      parent.set(pid, cpuOf(readFileSync(`/proc/${pid}/stat`, 'utf8')).parent);
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--user-data-dir=${profile}`)) roots.add(pid);
    } catch {
      // the process ended while we looked
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (roots.has(p)) return true;
    return false;
  };
  const threads: ThreadCpu[] = [];
  for (const pid of pids.filter(inTree)) {
    try {
      const kind = processKind(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
        try {
          const thread = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          threads.push({ process: kind, thread, tid, seconds: cpuOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')).seconds });
        } catch {
          // the thread ended while we looked
        }
      }
    } catch {
      // the process ended while we looked
    }
  }
  return threads;
}

/** CPU seconds per thread between two snapshots (threads started in between count from 0; ended ones are lost). */
export function threadDelta(before: ThreadCpu[], after: ThreadCpu[]): ThreadCpu[] {
  const was = new Map(before.map((t) => [t.tid, t.seconds]));
  return after.map((t) => ({ ...t, seconds: t.seconds - (was.get(t.tid) ?? 0) })).filter((t) => t.seconds > 0);
}

/**
 * ms of CPU per image by `process/thread` name, busiest first; threads of one name are summed,
 * except DedicatedWorker threads, listed one by one (busiest first) as they are different
 * workers: the embedding worker, its WASM threads, the decode workers.
 */
export function cpuMsPerImageByThread(delta: ThreadCpu[], images: number): Record<string, number> {
  const sums = new Map<string, number>();
  const workers = delta.filter((t) => t.thread.startsWith('DedicatedWorker')).sort((a, b) => b.seconds - a.seconds);
  workers.forEach((t, i) => sums.set(`${t.process}/DedicatedWorker #${i + 1}`, t.seconds));
  for (const t of delta) {
    if (t.thread.startsWith('DedicatedWorker')) continue;
    const key = `${t.process}/${t.thread}`;
    sums.set(key, (sums.get(key) ?? 0) + t.seconds);
  }
  const out: Record<string, number> = {};
  for (const [k, s] of [...sums].sort((a, b) => b[1] - a[1])) {
    const ms = (s * 1000) / images;
    if (ms >= 0.05) out[k] = Math.round(ms * 100) / 100;
  }
  return out;
}

export const totalSeconds = (threads: ThreadCpu[]) => threads.reduce((s, t) => s + t.seconds, 0);
