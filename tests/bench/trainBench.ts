/**
 * Training benchmark: seconds per epoch in the browser's training worker against the Node
 * runner's loop (the same `HeadTrainer`, the same backend, the same cached embeddings and
 * config), main-thread long tasks while the browser trains, and quality with the default
 * settings on the whole validation set. Writes JSON.
 *
 *   npm run bench:train -- [--epochs 20] [--backend wasm] [--out bench-train.json]
 *
 * Data: ../shared/data/stanford-cars-40 (the full Stanford Cars images are not on these
 * machines, so the engine issue's reference figures, R-Precision 0.139 -> 0.206 on the full
 * train half, are quoted for context, not compared like for like).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { splitClasses } from '../../src/core/data/classSplit';
import { loadDataset } from '../../src/core/data/loadDataset';
import { HeadTrainer, type EpochReport, type TrainingConfig } from '../../src/core/train/trainer';
import { listFolderFiles } from '../../src/cli/nodeFiles';
import { selectBackend } from '../../src/cli/tfBackend';
import { sharedPath } from '../support/shared';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startStudio,
  storedEmbeddings,
  TEST_MODEL,
  TEST_MODEL_URL, revealed } from '../e2e/support/studio';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const epochs = Number(arg('epochs', '20'));
const backend = arg('backend', 'wasm') as 'wasm' | 'cpu';
const out = arg('out', 'bench-train.json');
const screenshot = arg('screenshot', '');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

interface StoredRun {
  config: TrainingConfig;
  history: EpochReport[];
  bestEpoch: number;
  baseline: { rPrecision: number; rPrecisionMacro: number; precisionAt1: number; mapAtR: number };
  summary: { stopReason: string; bestEpoch: number; tuned: StoredRun['baseline'] | null; seconds: number } | null;
  backend: string;
}

async function main(): Promise<void> {
  const data = sharedPath('data', 'stanford-cars-40');
  const server = await startStudio();
  const browser = await launchBrowser();
  try {
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, data);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, backend);
    await embedAndWait(page);

    await (await revealed(page, 'train-setting-maxEpochs')).fill(String(epochs));
    await (await revealed(page, 'train-backend')).selectOption(backend);
    const started = Date.now();
    await page.getByTestId('train-start').click();
    await page.waitForFunction(
      () => ['done', 'failed'].includes(document.querySelector('[data-testid="train-stage"]')?.getAttribute('data-phase') ?? ''),
      undefined,
      { timeout: 60 * 60_000, polling: 250 },
    );
    const browserWall = (Date.now() - started) / 1000;
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    const longTasks = await page.evaluate(
      () => (window as unknown as { __studioLongTasks?: { count: number; longestMs: number; totalMs: number } }).__studioLongTasks,
    );
    const run = await page.evaluate(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('similarity-studio-runs');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const all = open.result.transaction('runs').objectStore('runs').getAll();
            all.onsuccess = () => resolve((all.result as { createdAt: number }[]).sort((a, b) => b.createdAt - a.createdAt)[0]);
            all.onerror = () => reject(all.error);
          };
        }),
    ) as StoredRun;
    const vectors = await storedEmbeddings(page);

    // The same images, labels and split in Node; vectors matched by file name.
    const dataset = await loadDataset(await listFolderFiles(data));
    const split = splitClasses(dataset.classNames.length); // the studio's default split
    const classOf = new Map(dataset.images.map((img) => [path.basename(img.file.path), img.classId]));
    const dim = Object.values(vectors)[0].length;
    const sides = { train: new Set(split.trainClasses), validation: new Set(split.validationClasses) };
    const build = (side: Set<number>) => {
      const rows: number[][] = [];
      const labels: number[] = [];
      for (const [key, v] of Object.entries(vectors).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const file = path.basename(key.split('::')[1].split('|')[0]);
        const c = classOf.get(file);
        if (c !== undefined && side.has(c)) {
          rows.push(v);
          labels.push(c);
        }
      }
      return { embeddings: Float32Array.from(rows.flat()), labels: Int32Array.from(labels) };
    };
    await selectBackend(backend);
    const trainer = new HeadTrainer({ config: run.config, train: build(sides.train), validation: build(sides.validation), dim });
    const nodeStarted = Date.now();
    const state = await trainer.fitAsync();
    const nodeWall = (Date.now() - nodeStarted) / 1000;
    const nodeBest = state.history.find((r) => r.epoch === state.bestEpoch);
    trainer.dispose();

    const browserSeconds = run.history.map((r) => r.seconds);
    const nodeSeconds = state.history.map((r) => r.seconds);
    const result = {
      data: 'stanford-cars-40 (20 training / 20 validation classes, default seeded split)',
      encoder: TEST_MODEL,
      backend,
      epochs,
      config: run.config,
      browserWorker: {
        backend: run.backend,
        epochsRun: run.history.length,
        secondsPerEpochMedian: round(median(browserSeconds), 3),
        secondsPerEpochFirst: round(browserSeconds[0] ?? NaN, 3),
        wallSeconds: round(browserWall, 1),
        stopReason: run.summary?.stopReason ?? null,
        bestEpoch: run.bestEpoch,
        baseline: run.baseline,
        tuned: run.summary?.tuned ?? null,
      },
      nodeRunner: {
        backend: tf.getBackend(),
        epochsRun: state.history.length,
        secondsPerEpochMedian: round(median(nodeSeconds), 3),
        secondsPerEpochFirst: round(nodeSeconds[0] ?? NaN, 3),
        wallSeconds: round(nodeWall, 1),
        bestEpoch: state.bestEpoch,
        tunedRPrecision: nodeBest ? round(nodeBest.rPrecision) : null,
      },
      browserOverNode: round(median(browserSeconds) / median(nodeSeconds), 2),
      mainThreadLongTasksWhileTraining: longTasks
        ? { count: longTasks.count, longestMs: Math.round(longTasks.longestMs), totalMs: Math.round(longTasks.totalMs) }
        : null,
      reference: {
        note: 'Engine issue reference on the full Stanford Cars train half (not available here): R-Precision 0.139 base -> 0.206 tuned.',
        baseRPrecision: 0.139,
        tunedRPrecision: 0.206,
      },
    };
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
