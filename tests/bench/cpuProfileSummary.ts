/**
 * What ran in the long stretches of a main-thread CPU profile (a DevTools .cpuprofile, as
 * `npm run bench:reload -- --cpu-profile DIR` writes): every stretch of busy samples over
 * `--over` ms (default 50), with the functions that took its time (self, and total with
 * what they called), JSON out.
 *
 *   npx tsx tests/bench/cpuProfileSummary.ts FILE.cpuprofile [--over 50] [--top 12]
 */
import { readFileSync } from 'node:fs';
import { busyStretches, type CpuProfile } from './cpuProfileStretches';

const file = process.argv[2];
if (!file) throw new Error('usage: cpuProfileSummary.ts FILE.cpuprofile [--over 50] [--top 12]');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
console.log(JSON.stringify(busyStretches(profile, { overMs: arg('over', 50), top: arg('top', 12) }), null, 2));
