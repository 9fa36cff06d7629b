/**
 * Where the page's start goes, function by function: a V8 CPU profile (CDP Profiler) of a
 * reload on a kept profile, summed as self time per function, plus the time inside each
 * main-thread long task split by the top-level function it ran under. Built without
 * minification so the names are the source's. For `--step drop` it drops the folder
 * (built as in bench:reload) instead of reloading, for `--step embed` it clicks Embed.
 *
 *   npx tsx tests/bench/startProfile.ts --profile DIR --port N [--step reload|drop|embed] [--top 40] [--after 1500]
 *
 * The profile folder must hold a session made by `npm run bench:reload` with the same
 * --profile and --port (IndexedDB belongs to the origin). JSON on stdout.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { buildFullScaleDevkit } from '../../src/cli/fullScaleDataset';
import { sharedPath } from '../support/shared';
import { dropFolder, launchBrowser, msUntilUsable, serveModelAt, TEST_MODEL, TEST_MODEL_URL } from '../e2e/support/studio';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const keptProfile = arg('profile', '');
const port = Number(arg('port', '0'));
const step = arg('step', 'reload');
const top = Number(arg('top', '40'));
// how long the profile goes on after the step (a reload's search gets ready seconds after it is usable)
const afterMs = Number(arg('after', '1500'));
if (!keptProfile || !port) throw new Error('--profile DIR and --port N are required (a session made by npm run bench:reload)');
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const where = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} @ ${n.callFrame.url.split('/').pop() || '(native)'}:${n.callFrame.lineNumber + 1}`;

/** Self time per function, and per long task (samples within 50+ ms runs of non-idle samples) the functions under each task's stack. */
function summarise(p: CpuProfile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const idle = (n: ProfileNode) => ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName);
  // runs of busy samples = tasks (approximately: gaps of idle samples separate them)
  const tasks: { startMs: number; ms: number; frames: Map<string, number> }[] = [];
  let t = p.startTime;
  let current: { startMs: number; ms: number; frames: Map<string, number> } | null = null;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    t += p.timeDeltas[i];
    const node = byId.get(p.samples[i])!;
    const key = where(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = where(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
    if (idle(node) && node.callFrame.functionName === '(idle)') {
      if (current && current.ms >= 50) tasks.push(current);
      current = null;
      continue;
    }
    current ??= { startMs: (t - p.startTime) / 1000, ms: 0, frames: new Map() };
    current.ms += dt;
    for (const k of seen) current.frames.set(k, (current.frames.get(k) ?? 0) + dt);
  }
  if (current && current.ms >= 50) tasks.push(current);
  const sorted = (m: Map<string, number>, n: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${Math.round(v * 10) / 10} ms ${k}`);
  return {
    selfMs: sorted(self, top),
    inclusiveMs: sorted(inclusive, top),
    busyRuns: tasks.map((x) => ({ startMs: Math.round(x.startMs), ms: Math.round(x.ms), under: sorted(x.frames, 25) })),
  };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'start-profile-'));
const outDir = path.join(work, 'dist');
try {
  await build({ root: projectRoot, configFile: path.join(projectRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, minify: false } });
  const server = await preview({ root: projectRoot, configFile: path.join(projectRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir }, preview: { port, strictPort: true, host: '127.0.0.1' } });
  const url = `http://127.0.0.1:${port}/`;
  const folder = path.join(work, 'stanford_cars');
  if (step === 'drop') await buildFullScaleDevkit(sharedPath('data', 'stanford-cars-devkit'), sharedPath('data', 'stanford-cars-40', 'cars_train'), folder);
  const browser = await launchBrowser(keptProfile);
  try {
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    const { page } = browser;
    // the page's warnings and errors, on stderr
    page.on('console', (m) => (m.type() === 'warning' || m.type() === 'error') && console.error(`[page ${m.type()}] ${m.text()}`));
    await page.goto(url);
    await msUntilUsable(page, 120_000).catch(() => undefined);
    await page.waitForTimeout(2000);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    if (step === 'reload') {
      await page.reload();
      await msUntilUsable(page, 120_000);
      await page.waitForTimeout(afterMs);
    } else if (step === 'drop') {
      await dropFolder(browser, folder);
      await page.waitForFunction(() => /Reading folder|Detecting layout/.test(document.querySelector('[data-testid="dataset-panel"] .panel-status')?.textContent ?? ''), undefined, { timeout: 60_000, polling: 'raf' });
      await page.getByTestId('dataset-images').waitFor({ timeout: 300_000 });
      await page.waitForTimeout(1500);
    } else if (step === 'embed') {
      await page.getByTestId('embed-start').click();
      await page.getByTestId('embed-result').or(page.getByTestId('embed-error')).waitFor({ timeout: 600_000 });
      await page.waitForTimeout(1500);
    }
    const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
    const log = (await page.evaluate(() => (window as unknown as { __studioLongTaskLog?: { entries: { startMs: number; durationMs: number }[] } }).__studioLongTaskLog?.entries ?? [])) as {
      startMs: number;
      durationMs: number;
    }[];
    console.log(JSON.stringify({ step, loadAverage: os.loadavg(), longTasks: log.map((e) => [Math.round(e.startMs), Math.round(e.durationMs)]), ...summarise(profile) }, null, 2));
  } finally {
    await browser.context.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(path.join(work, 'stanford_cars-sources'), { recursive: true, force: true });
}
