#!/usr/bin/env node
// Runs before `npm start` and `npm test` so that the README's two commands work on a fresh
// machine: installs the npm packages from the lockfile when they are missing or stale, and,
// with --browser, Debian's Chromium for the end-to-end tests. Plain Node only: it runs
// before any dependency exists.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function run(command) {
  console.log(`[setup] ${command}`);
  execSync(command, { stdio: 'inherit' });
}

function npmPackagesAreCurrent() {
  const installed = 'node_modules/.package-lock.json';
  if (!existsSync(installed)) return false;
  return statSync(installed).mtimeMs >= statSync('package-lock.json').mtimeMs;
}

if (!npmPackagesAreCurrent()) run('npm ci --no-audit --no-fund');

if (process.argv.includes('--browser') && !existsSync(CHROMIUM)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium');
  } else {
    console.error(
      `[setup] The browser tests need Debian's Chromium at ${CHROMIUM}.\n` +
        `        Install it with: sudo apt-get install -y chromium\n` +
        `        (or set CHROMIUM_PATH to another Chromium build).`,
    );
    process.exit(1);
  }
}
