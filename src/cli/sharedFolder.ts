import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The project root (the folder holding package.json); this file is src/cli/sharedFolder.ts. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The read-only shared folder beside the project (data, models, fixtures). Tests and
 * benchmarks read it from `../shared`; SHARED_DIR overrides. Fails with a message that
 * says where it looked, instead of an obscure ENOENT deep inside a test.
 */
export function sharedDir(): string {
  const dir = process.env.SHARED_DIR
    ? path.resolve(process.env.SHARED_DIR)
    : path.resolve(projectRoot, '..', 'shared');
  if (!existsSync(dir)) {
    throw new Error(
      `The shared test data folder is missing: looked for ${dir}. ` +
        `Tests need ../shared beside the project (data/, models/, fixtures/); ` +
        `set SHARED_DIR to use another place.`,
    );
  }
  return dir;
}

/** A path inside the shared folder, checked to exist. */
export function sharedPath(...parts: string[]): string {
  const p = path.join(sharedDir(), ...parts);
  if (!existsSync(p)) {
    throw new Error(`Missing from the shared folder: ${p}`);
  }
  return p;
}
