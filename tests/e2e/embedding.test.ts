import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../support/shared';
import {
  chooseTestEncoder,
  revealed,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startStudio,
  storedEmbeddings,
  textOf,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer,
} from './support/studio';
import { addCarImages, tempFolder } from './support/datasets';
import type { InPageRun } from './support/embedInPage';
import type { EmbedEvent, EmbedOptions } from '../../src/workers/embedProtocol';
import { decodePoolSize } from '../../src/workers/decodePool';

/**
 * A small class-folders dataset with every kind of bad input among good images: a corrupt
 * JPEG, a text file, system files (.DS_Store, Thumbs.db, __MACOSX/), an empty class folder
 * and a class of one image.
 */
/**
 * The decode pool's default size on WASM in this page (decodePoolSize, unit-tested): the cores
 * WASM's threads (one per core, at most 8, when cross-origin isolated; else one) leave free.
 */
async function defaultWasmPool(page: Browser['page']): Promise<number> {
  const { cores, isolated } = await page.evaluate(() => ({ cores: navigator.hardwareConcurrency, isolated: crossOriginIsolated }));
  return decodePoolSize(cores, isolated ? Math.min(8, cores) : 1);
}

function brokenDataset(): string {
  const root = addCarImages(tempFolder('broken'), 3, 0, 4);
  const [first, second] = readdirSync(root).sort();
  writeFileSync(path.join(root, first, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
  writeFileSync(path.join(root, second, 'notes.txt'), 'not an image');
  writeFileSync(path.join(root, '.DS_Store'), 'x');
  writeFileSync(path.join(root, first, 'Thumbs.db'), 'x');
  mkdirSync(path.join(root, '__MACOSX', first), { recursive: true });
  writeFileSync(path.join(root, '__MACOSX', first, '._broken.jpg'), 'x');
  mkdirSync(path.join(root, 'Empty Class'));
  mkdirSync(path.join(root, 'Lonely Class'));
  copyFileSync(path.join(root, second, readdirSync(path.join(root, second)).sort()[0]), path.join(root, 'Lonely Class', 'only.jpg'));
  return root;
}

/** CSV annotations with a file listed twice, a box of zero area and one outside its image. */
function badAnnotations(): string {
  const root = addCarImages(tempFolder('bad-annotations'), 2, 0, 2);
  const [a, b] = readdirSync(root).sort();
  const [a1, a2] = readdirSync(path.join(root, a)).sort();
  const [b1, b2] = readdirSync(path.join(root, b)).sort();
  writeFileSync(path.join(root, 'names.csv'), `${a}\n${b}\n`);
  writeFileSync(
    path.join(root, 'anno_train.csv'),
    [`${a1},1,1,60,40,1`, `${a2},10,10,10,50,1`, `${a1},1,1,60,40,1`, `${b1},-5,2,80,60,2`, `${b2},1,1,5000,4000,2`].join('\n') + '\n',
  );
  return root;
}

describe('embedding in the worker, cached in IndexedDB (real Chromium, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  let served: { requests: string[] };
  const cars40 = sharedPath('data', 'stanford-cars-40');
  const temp: string[] = [];

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    served = await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const t of temp) rmSync(t, { recursive: true, force: true });
  });

  it('downloads and stores the model, embeds 1,619 images and shows the baseline', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    const started = Date.now();
    const result = await embedAndWait(page);
    const seconds = (Date.now() - started) / 1000;
    expect(result).toEqual({ embedded: 1619, cached: 0, failed: 0 });
    expect(served.requests).toEqual(['model.json', 'weights.bin']);
    expect(await textOf(page, 'encoder-from')).toBe('download (now stored)');
    expect(await textOf(page, 'backend-running')).toMatch(/^Running on wasm/);
    expect(await textOf(page, 'baseline-on')).toMatch(/^[\d,]+ images of 20 classes$/);
    const rp = Number((await textOf(page, 'baseline-rprecision')).replace('%', ''));
    expect(rp).toBeGreaterThan(5); // chance on 20 classes is about 5%
    expect(await page.getByTestId('cache-count').first().textContent()).toBe('1,619');
    // the cache panel's payload is counted, not guessed: 256 float32 per vector plus the UTF-16 keys
    const keys = Object.keys(await storedEmbeddings(page));
    const payload = keys.reduce((sum, k) => sum + 256 * 4 + k.length * 2, 0);
    expect(Number(await page.getByTestId('cache-bytes').first().getAttribute('data-bytes'))).toBe(payload);
    // and the browser's own total is shown (with its IndexedDB share where Chromium reports it)
    const usage = page.getByTestId('cache-usage');
    await expect.poll(async () => Number(await usage.getAttribute('data-usage')), { timeout: 10_000 }).toBeGreaterThan(0);
    const idb = await usage.getAttribute('data-indexeddb');
    if (idb) expect(Number(idb)).toBeGreaterThan(0);
    console.log(`[e2e] cache: payload ${payload} B counted; browser usage ${await usage.getAttribute('data-usage')} B, IndexedDB ${idb || 'not reported'}`);
    console.log(`[e2e] embed 1,619 on wasm: ${seconds.toFixed(1)} s wall, ${await textOf(page, 'embed-speed')}`);
  });

  it('after a reload embeds nothing again and shows the baseline from the cache, model read offline', async () => {
    const { page } = browser;
    const baseline = await textOf(page, 'baseline-rprecision');
    await page.reload();
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    const result = await embedAndWait(page);
    expect(result).toEqual({ embedded: 0, cached: 1619, failed: 0 });
    expect(await textOf(page, 'embed-missing')).toBe('0');
    expect(await page.getByTestId('baseline').locator('h3').textContent()).toContain('(from the cache)');
    expect(await textOf(page, 'baseline-rprecision')).toBe(baseline);
    expect(await textOf(page, 'encoder-from')).toBe('browser storage (offline)');
    expect(served.requests).toEqual(['model.json', 'weights.bin']); // not downloaded again
  });

  it('accounts for every unused file and folder of a bad folder, decode failures included after embedding', async () => {
    const { page } = browser;
    const folder = brokenDataset();
    temp.push(folder);
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-layout')).toBe('one folder per class');
    expect(await textOf(page, 'dataset-images')).toBe('14');
    expect(await textOf(page, 'dataset-classes')).toBe('4');
    const lines = async () => (await page.getByTestId('dataset-problems').locator('li').allInnerTexts()).map((t) => t.trim());
    const [first, second] = readdirSync(folder).filter((d) => !d.startsWith('.') && d !== '__MACOSX').sort();
    const before = [
      '.DS_Store, Thumbs.db, __MACOSX/: 3 system files ignored.',
      `${second}/notes.txt — Not an image (.txt); ignored.`,
      'Empty Class — Class folder "Empty Class" is empty; left out.',
      'Lonely Class/only.jpg — Class "Lonely Class" has a single image: it is evaluated as a distractor, never a query.',
    ];
    expect(await lines()).toEqual(before);
    expect(await textOf(page, 'dataset-problem-count')).toBe('4');
    expect(await textOf(page, 'dataset-problem-summary')).toBe('2 files or folders left out · 3 system files ignored · 1 note');
    await chooseTestEncoder(page, 'wasm');
    const result = await embedAndWait(page);
    expect(result).toEqual({ embedded: 13, cached: 0, failed: 1 });
    // the pool sized from the machine: on WASM, the cores its threads leave free (on 2 cores none: decoding in the embedding worker)
    const pool = await defaultWasmPool(page);
    expect(await textOf(page, 'embed-decode')).toMatch(pool === 0 ? /ms\/image · in the embedding worker$/ : new RegExp(`ms/image · ${pool} decode workers?$`));
    expect(await page.getByTestId('embed-problems').innerText()).toMatch(/broken\.jpg/);
    expect(await lines()).toEqual([...before, `${first}/broken.jpg — Could not be decoded (The source image could not be decoded); left out.`]);
    expect(await textOf(page, 'dataset-problem-count')).toBe('5');
    expect(await textOf(page, 'dataset-problem-summary')).toBe(
      '2 files or folders left out · 1 image could not be decoded · 3 system files ignored · 1 note',
    );
    const stored = Object.keys(await storedEmbeddings(page));
    expect(stored.filter((k) => k.includes('broken.jpg'))).toEqual([]);
  });

  it('reports a file listed twice, a zero-area box and boxes outside their image, each with its row (past the right or bottom edge once decoded)', async () => {
    const { page } = browser;
    const folder = badAnnotations();
    temp.push(folder);
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-layout')).toBe('CSV labels');
    expect(await textOf(page, 'dataset-images')).toBe('4');
    const [a, b] = readdirSync(folder).filter((d) => !d.endsWith('.csv')).sort();
    const [a1, a2] = readdirSync(path.join(folder, a)).sort();
    const [b1] = readdirSync(path.join(folder, b)).sort();
    const lines = (await page.getByTestId('dataset-problems').locator('li').allInnerTexts()).map((t) => t.trim());
    expect(lines).toEqual([
      `${a}/${a2} — Row 2 of anno_train.csv: the box (10, 10)–(10, 50) has zero area; box skipped, the whole image is used.`,
      `${a}/${a1} — Row 3 of anno_train.csv lists ${a}/${a1} again (first: Row 1 of anno_train.csv); kept once.`,
      `${b}/${b1} — Row 4 of anno_train.csv: the box (-5, 2)–(80, 60) lies outside the image; clamped to (0, 2)–(80, 60).`,
    ]);
    expect(await textOf(page, 'dataset-problem-summary')).toBe('3 notes');

    // the image's size is known only once decoded: cropping to the boxes finds the one past its edge
    const [b2] = readdirSync(path.join(folder, b)).sort().slice(1);
    const { width, height } = await sharp(path.join(folder, b, b2)).metadata();
    const pastEdge = `${b}/${b2} — Row 5 of anno_train.csv: the box (1, 1)–(5000, 4000) lies outside the ${width}×${height} image; clamped to (1, 1)–(${width}, ${height}).`;
    await chooseTestEncoder(page, 'wasm');
    const crop = await revealed(page, 'embed-crop');
    await crop.check();
    expect(await embedAndWait(page)).toEqual({ embedded: 4, cached: 0, failed: 0 });
    const after = async () => (await page.getByTestId('dataset-problems').locator('li').allInnerTexts()).map((t) => t.trim());
    expect((await after()).slice(3)).toEqual([pastEdge]);
    expect(await textOf(page, 'dataset-problem-summary')).toBe('4 notes');
    // kept in the saved session: after a reload (nothing decoded again) the line is still there
    await page.reload();
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await page.getByTestId('dataset-problem-summary').waitFor();
    expect((await after()).slice(3)).toEqual([pastEdge]);
  });

  it('decodes in a pool of workers with the same vectors, thumbnails and problem report, in the same order, as in the embedding worker (the images sent in one message or in slices)', async () => {
    const { page } = browser;
    // a corrupt JPEG in the middle of the second batch (3 a batch), an empty file in the fifth
    const folder = addCarImages(tempFolder('pool'), 3, 0, 4);
    temp.push(folder);
    const [first, , third] = readdirSync(folder).sort();
    writeFileSync(path.join(folder, first, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
    writeFileSync(path.join(folder, third, 'empty.jpg'), '');
    await page.goto(server.url);
    await chooseFolderInput(page, folder);
    const options: EmbedOptions = { backend: 'wasm', batchSize: 3, cropToBox: false, validationClasses: [] };
    const runs: Record<string, InPageRun> = {};
    const variants = [['in the embedding worker', 0], ['pool sized from the machine', undefined], ['pool of 3', 3], ['pool of 3, the images sent in slices of 5', 3, 5]] as const;
    for (const [name, decodeWorkers, imagesPerMessage] of variants) {
      // slices (as the page sends a large folder): joined out of order, the problem report's order would differ
      runs[name] = await embedInPage(page, { ...options, decodeWorkers }, undefined, imagesPerMessage);
    }
    const today = runs['in the embedding worker'];
    const paths = (await inPage<'imagesOf'>(page, 'imagesOf', 'folder')).map((i) => i.path);
    expect(paths.indexOf(`${first}/broken.jpg`)).toBe(4);
    const problems = (r: InPageRun) => r.events.filter((e) => e.type === 'problem').map((e) => ({ path: e.path, message: e.message }));
    expect(problems(today)).toEqual([
      { path: `${first}/broken.jpg`, message: `Cannot decode ${first}/broken.jpg: The source image could not be decoded.` },
      { path: `${third}/empty.jpg`, message: 'empty file (0 bytes)' },
    ]);
    const done = (r: InPageRun) => r.events.find((e): e is Extract<EmbedEvent, { type: 'embed-done' }> => e.type === 'embed-done')!;
    expect(done(today)).toMatchObject({ embedded: 12, failed: 2, cancelled: false, decodeWorkers: 0 });
    expect(Object.keys(today.vectors)).toHaveLength(12);
    expect(today.thumbnails).toHaveLength(12);
    for (const [name, run] of Object.entries(runs)) {
      expect(problems(run), name).toEqual(problems(today));
      expect(done(run).embedded, name).toBe(12);
      expect(done(run).failed, name).toBe(2);
      // bit for bit: the same decoder code, only on another thread
      expect(run.vectors, name).toEqual(today.vectors);
      expect([...run.thumbnails].sort(), name).toEqual([...today.thumbnails].sort());
    }
    expect(done(runs['pool sized from the machine']).decodeWorkers).toBe(await defaultWasmPool(page));
    expect(done(runs['pool of 3']).decodeWorkers).toBe(3);
  });

  it('cancelling stops the decode workers with the run, keeping what was embedded', async () => {
    const { page } = browser;
    const folder = addCarImages(tempFolder('pool-cancel'), 4, 0, 10);
    temp.push(folder);
    await page.goto(server.url);
    await chooseFolderInput(page, folder);
    // the embedding and decode workers the browser runs, nested ones included, seen through the
    // DevTools protocol (not the WASM backend's own thread workers, which live with their worker);
    // a worker's URL is known only once it has loaded, and workers of earlier tests may still be closing
    const cdp = await browser.context.browser()!.newBrowserCDPSession();
    const urls = new Map<string, string>();
    const startedHere = { embed: new Set<string>(), decode: new Set<string>() };
    const earlier = new Set<string>();
    let watching = false;
    const seen = (info: { targetId: string; type: string; url: string }) => {
      if (info.type !== 'worker') return;
      urls.set(info.targetId, info.url);
      if (!watching) earlier.add(info.targetId);
      if (earlier.has(info.targetId)) return;
      if (/decodeWorker/.test(info.url)) startedHere.decode.add(info.targetId);
      if (/embedWorker/.test(info.url)) startedHere.embed.add(info.targetId);
    };
    const alive = (ids: Set<string>) => [...ids].filter((id) => urls.has(id)).length;
    cdp.on('Target.targetCreated', (e) => seen(e.targetInfo));
    cdp.on('Target.targetInfoChanged', (e) => seen(e.targetInfo));
    cdp.on('Target.targetDestroyed', (e) => urls.delete(e.targetId));
    await cdp.send('Target.setDiscoverTargets', { discover: true });
    watching = true;
    const run = await embedInPage(page, { backend: 'wasm', batchSize: 2, cropToBox: false, validationClasses: [], decodeWorkers: 3 }, 4);
    const done = run.events.find((e) => e.type === 'embed-done');
    expect(done).toMatchObject({ cancelled: true, failed: 0 });
    const embedded = (done as Extract<EmbedEvent, { type: 'embed-done' }>).embedded;
    expect(embedded).toBeGreaterThanOrEqual(4);
    expect(embedded).toBeLessThan(40);
    expect(Object.keys(run.vectors)).toHaveLength(embedded);
    // the job's embedding worker and its 3 decode workers were seen
    expect(startedHere.embed.size).toBe(1);
    expect(startedHere.decode.size).toBe(3);
    // the embedding worker under test is still running; its decode workers are gone
    await expect.poll(() => alive(startedHere.decode), { timeout: 10_000 }).toBe(0);
    expect(alive(startedHere.embed)).toBe(1);
    await inPage<'stopWorker'>(page, 'stopWorker');
    await expect.poll(() => alive(startedHere.embed), { timeout: 10_000 }).toBe(0);
    await cdp.detach();
  });
});

/** The page-side helpers, as Vite serves them to the page. */
const IN_PAGE = '/tests/e2e/support/embedInPage.ts';
type InPage = typeof import('./support/embedInPage');

/** Puts the folder's files in a hidden file input of the page (id "folder"), for embedInPage. */
async function chooseFolderInput(page: Browser['page'], folder: string): Promise<void> {
  await page.evaluate(() => {
    document.getElementById('folder')?.remove();
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.webkitdirectory = true;
    input.id = 'folder';
    input.hidden = true;
    document.body.append(input);
  });
  await page.setInputFiles('#folder', folder);
}

/**
 * Calls a function of tests/e2e/support/embedInPage.ts in the page, as Vite serves it there
 * (a string, so the test runner does not rewrite the page's import()).
 */
function inPage<K extends keyof InPage>(page: Browser['page'], name: K, ...args: unknown[]): Promise<Awaited<ReturnType<InPage[K]>>> {
  return page.evaluate(`import(${JSON.stringify(IN_PAGE)}).then((m) => m.${name}(...${JSON.stringify(args)}))`);
}

/** Embeds the hidden input's files in a fresh embedding worker of the page. */
async function embedInPage(page: Browser['page'], options: EmbedOptions, cancelAfter?: number, imagesPerMessage?: number): Promise<InPageRun> {
  const images = `(await import(${JSON.stringify(IN_PAGE)})).imagesOf('folder')`;
  return page.evaluate(
    `(async () => (await import(${JSON.stringify(IN_PAGE)})).embedInWorker(${JSON.stringify(TEST_MODEL_URL)}, ${images}, ${JSON.stringify(options)}, ${JSON.stringify(cancelAfter ?? null)} ?? undefined, ${JSON.stringify(imagesPerMessage ?? null)} ?? undefined))()`,
  );
}
