/** Busy stretches of a V8 CPU profile (DevTools' .cpuprofile): where a main thread's long tasks went. */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds from the previous sample (the first: from startTime). */
  timeDeltas: number[];
}

export interface BusyStretch {
  /** From the profile's start. */
  startMs: number;
  durationMs: number;
  /** Functions by time spent in them alone, longest first: `name @ file:line`. */
  self: { fn: string; ms: number }[];
  /** Functions by time with what they called, longest first (each counted once per sample). */
  total: { fn: string; ms: number }[];
}

const IDLE = new Set(['(idle)', '(root)']);

function describe(n: CpuProfileNode): string {
  const file = n.callFrame.url.split('/').pop() || '(native)';
  return `${n.callFrame.functionName || '(anonymous)'} @ ${file}:${n.callFrame.lineNumber + 1}`;
}

/**
 * Stretches of busy samples (anything but idle) longer than `overMs`, where a gap of idle
 * time up to `gapMs` does not end a stretch (the sampler's own jitter). Each sample counts for
 * the time until the next one.
 */
export function busyStretches(profile: CpuProfile, opts: { overMs?: number; gapMs?: number; top?: number } = {}): BusyStretch[] {
  const { overMs = 50, gapMs = 2, top = 12 } = opts;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const weight = (i: number) => ((i + 1 < times.length ? times[i + 1] : profile.endTime) - times[i]) / 1000;

  const stretches: { from: number; to: number }[] = [];
  let from = -1;
  let lastBusy = -1;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const busy = node !== undefined && !IDLE.has(node.callFrame.functionName);
    if (!busy) continue;
    if (from >= 0 && (times[i] - (times[lastBusy] + weight(lastBusy) * 1000)) / 1000 > gapMs) {
      stretches.push({ from, to: lastBusy });
      from = -1;
    }
    if (from < 0) from = i;
    lastBusy = i;
  }
  if (from >= 0) stretches.push({ from, to: lastBusy });

  const out: BusyStretch[] = [];
  for (const { from, to } of stretches) {
    const durationMs = (times[to] - times[from]) / 1000 + weight(to);
    if (durationMs <= overMs) continue;
    const self = new Map<string, number>();
    const total = new Map<string, number>();
    for (let i = from; i <= to; i++) {
      const node = byId.get(profile.samples[i]);
      if (!node || IDLE.has(node.callFrame.functionName)) continue;
      const w = weight(i);
      self.set(describe(node), (self.get(describe(node)) ?? 0) + w);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id)!;
        if (IDLE.has(n.callFrame.functionName)) continue;
        const name = describe(n);
        if (seen.has(name)) continue;
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + w);
      }
    }
    const rank = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([fn, ms]) => ({ fn, ms: Math.round(ms * 10) / 10 }));
    out.push({ startMs: Math.round((times[from] - profile.startTime) / 1000), durationMs: Math.round(durationMs * 10) / 10, self: rank(self), total: rank(total) });
  }
  return out.sort((a, b) => b.durationMs - a.durationMs);
}
