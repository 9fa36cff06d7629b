import { lazy, Suspense, useCallback, useDeferredValue, useEffect, useMemo, useRef } from 'react';
import { splitClasses } from '../core/data/classSplit';
import { withEmbeddingNotes } from '../core/data/dataset';
import { BrowserDatasetFile } from '../workers/browserFile';
import { nextTask } from '../workers/nextTask';
import type { EmbedEvent } from '../workers/embedProtocol';
import { CachePanel } from './cache/CachePanel';
import { DatasetPanel } from './dataset/DatasetPanel';
import { looksLikeModelFolder, readPicked, type PickedFolder } from './dataset/folderFiles';
import { loadFolder, onReading } from './dataset/useDatasetLoader';
import { useFolderDrop } from './dataset/useFolderDrop';
import { embedClient } from './embedClientInstance';
import { EmbeddingPanel, type EmbedSettings } from './embedding/EmbeddingPanel';
import { describeChoice, encoderSource, type EncoderChoice } from './encoder/encoderChoice';
import { EncoderPanel } from './encoder/EncoderPanel';
import type { ActiveHead } from './export/HeadPanel';
import { formatCount, formatPercent } from './format';
import { session, splitKey, useSession } from './session/sessionStore';
import { Step, type StepState } from './shell/Step';
import { isLive } from './training/trainRunState';
import { topBlocksOf } from './training/trainingSettings';
import { icuReady } from '../workers/icuWarmup';

// Steps 4 and 5 (charts, exports, search, map) are chunks of their own, evaluated apart from
// the first bundle: the page's first task evaluates less. The charts' library makes Intl
// objects as it loads, so its chunk waits for ICU's data (loaded by a worker).
const trainingChunk = icuReady().then(() => import('./training/TrainingPanel'));
const similarityChunk = import('./search/SimilaritySection');
// both are memo components: an embedding's progress (several events a second) re-renders the
// first steps only, as long as their props stay stable (no inline functions here)
const TrainingSection = lazy(() => trainingChunk.then((m) => ({ default: m.TrainingSection })));
const SimilaritySection = lazy(() => similarityChunk.then((m) => ({ default: m.SimilaritySection })));

function chooseEncoder(c: EncoderChoice): void {
  session.set((s) => ({
    encoder: c,
    loadedEncoder: null,
    embedded: null,
    backends: { ...s.backends, error: null, timings: [] },
  }));
  session.dispatchJob({ type: 'encoder-changed' });
}

function onFolder(folder: Promise<PickedFolder> | PickedFolder): void {
  void loadFolder(folder, (f) => {
    if (!looksLikeModelFolder(f)) return false;
    chooseEncoder({ kind: 'files', folder: f });
    return true;
  });
}

function onWorkerEvent(event: EmbedEvent): void {
  session.dispatchJob({ type: 'event', event });
  if (event.type === 'model-ready') {
    session.set((s) => ({ loadedEncoder: event.encoder, backends: { ...s.backends, error: null } }));
  }
  if (event.type === 'backend-chosen') {
    session.set((s) => ({ backends: { ...s.backends, running: { backend: event.backend, adapter: event.adapter, threads: event.threads, reason: event.reason } } }));
  }
  if (event.type === 'benchmark-figure') {
    session.set((s) => ({ backends: { ...s.backends, timings: [...s.backends.timings.filter((t) => t.name !== event.timing.name), event.timing] } }));
  }
  if (event.type === 'embed-done' || event.type === 'error') addEmbeddingNotes();
  if (event.type === 'embed-done' && !event.cancelled) {
    session.set((s) => {
      if (!s.loadedEncoder) return {};
      const metrics = s.job.metrics ? { ...s.job.metrics, fromCacheOnly: undefined } : null;
      if (metrics) delete metrics.fromCacheOnly;
      return {
        embedded: {
          encoder: s.loadedEncoder,
          metrics,
          embedded: event.embedded,
          cached: event.cached,
          failed: event.failed,
          problems: s.job.problems,
          splitKey: splitKey(s.split),
        },
      };
    });
  }
}

/** The notes of the run that ended join the dataset's report (and so the saved manifest). */
function addEmbeddingNotes(): void {
  session.set((s) => {
    if (s.dataset.phase !== 'ready' || s.job.notes.length === 0) return {};
    const dataset = withEmbeddingNotes(s.dataset.loaded.dataset, s.job.notes);
    return dataset === s.dataset.loaded.dataset ? {} : { dataset: { phase: 'ready', loaded: { ...s.dataset.loaded, dataset } } };
  });
}

async function detect(): Promise<void> {
  try {
    const r = await embedClient.probeBackends();
    session.set((s) => ({ backends: { ...s.backends, statuses: r.backends, error: null } }));
  } catch (e) {
    session.set((s) => ({ backends: { ...s.backends, error: e instanceof Error ? e.message : String(e) } }));
  }
}

async function measure(): Promise<void> {
  const { encoder, embedSettings } = session.get();
  const source = encoderSource(encoder);
  if (!source) return;
  session.set((s) => ({ backends: { ...s.backends, measuring: true, timings: [], error: null } }));
  try {
    const probe = await embedClient.probeBackends();
    session.set((s) => ({ backends: { ...s.backends, statuses: probe.backends } }));
    await embedClient.benchmark(source, Math.min(embedSettings.batchSize, 8), { onEvent: onWorkerEvent });
    session.set((s) => ({ cacheVersion: s.cacheVersion + 1 }));
  } catch (e) {
    session.set((s) => ({ backends: { ...s.backends, error: e instanceof Error ? e.message : String(e) } }));
  } finally {
    session.set((s) => ({ backends: { ...s.backends, measuring: false } }));
    session.dispatchJob({ type: 'timing-ended' });
  }
}

function setEmbedSettings(next: EmbedSettings): void {
  session.set((s) => (next.cropToBox === s.embedSettings.cropToBox ? { embedSettings: next } : { embedSettings: next, embedded: null }));
}

// stable props: the training and use sections re-render only when their own inputs change
const setHead = (head: ActiveHead | null) => session.set({ head });
const setChosenRun = (chosenRunId: string | null) => session.set({ chosenRunId });

export function App() {
  const s = useSession((x) => x);
  // The first render of every step (a restored session of 16,185 images: 60-120 ms at once) is
  // rendered as a transition, in slices between which the page stays responsive; until it is
  // committed the page still says it is opening the session.
  const opening = useDeferredValue(s.phase === 'restoring');
  const abort = useRef<AbortController | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const dragging = useFolderDrop(onFolder, onReading);

  const loaded = s.dataset.phase === 'ready' ? s.dataset.loaded : null;
  const split = useMemo(() => {
    if (!loaded || loaded.dataset.classNames.length < 2) return null;
    return splitClasses(loaded.dataset.classNames.length, s.split);
  }, [loaded, s.split]);
  const source = useMemo(() => encoderSource(s.encoder), [s.encoder]);
  const embedRunning = s.job.phase === 'running';
  // Steps 4 and 5 follow the store a render behind the first steps: their re-render (tens of
  // ms with 16,185 images) is a transition between clicks and worker messages, not part of them
  const sectionInputs = useMemo(
    () => ({ loaded, split, encoder: s.loadedEncoder, encoderSource: source, embeddingRunning: embedRunning, head: s.head }),
    [loaded, split, s.loadedEncoder, source, embedRunning, s.head],
  );
  const training = useDeferredValue(sectionInputs);
  const similarity = useDeferredValue(
    useMemo(
      () => ({ ...sectionInputs, backend: s.backend, cropToBox: s.embedSettings.cropToBox, onHead: setHead, chosenRunId: s.chosenRunId, onChosenRun: setChosenRun }),
      [sectionInputs, s.backend, s.embedSettings.cropToBox, s.chosenRunId],
    ),
  );
  const canStart = !loaded ? 'Drop a dataset first.' : !split ? 'The dataset needs at least two classes.' : !source ? 'Choose an encoder.' : null;

  // a mark for the person's-path benchmark: the page is usable (restored, or fresh)
  useEffect(() => {
    if (opening) return;
    document.documentElement.dataset.session = s.restoredAt !== null ? 'restored' : 'fresh';
    if (s.restoredAt !== null) document.documentElement.dataset.restoredMs = String(Math.round(s.restoredAt));
  }, [opening, s.restoredAt]);

  const startEmbedding = useCallback(async () => {
    if (!loaded || !split || !source) return;
    const controller = new AbortController();
    abort.current = controller;
    session.dispatchJob({ type: 'start' });
    if (!session.get().backends.statuses) void detect();
    // the click renders the job as started; listing 16,185 images for the worker is a task of its own
    await nextTask();
    // Only the File references travel (structured clone of a File does not copy its bytes);
    // a restored manifest has none: the worker then reads the cache, and asks for the folder
    // only if an image is not embedded yet.
    const images = loaded.dataset.images.map((img) => ({
      path: img.file.path,
      file: img.file instanceof BrowserDatasetFile ? img.file.file : null,
      size: img.file.size,
      lastModified: img.file.lastModified,
      classId: img.classId,
      bbox: img.bbox,
      boxSource: img.boxSource,
    }));
    const { backend, embedSettings, trainForm } = session.get();
    // fine-tuning the top wanted: the embed step also caches the cut maps it trains from
    const topBlocks = topBlocksOf(trainForm);
    try {
      await embedClient.embed(
        source,
        images,
        {
          backend,
          batchSize: embedSettings.batchSize,
          cropToBox: embedSettings.cropToBox,
          validationClasses: split.validationClasses,
          ...(topBlocks > 0 ? { topBlocks } : {}),
        },
        { signal: controller.signal, onEvent: onWorkerEvent },
      );
    } catch (e) {
      session.dispatchJob({ type: 'client-error', message: e instanceof Error ? e.message : String(e) });
    } finally {
      abort.current = null;
      session.set((x) => ({ cacheVersion: x.cacheVersion + 1 }));
    }
  }, [loaded, split, source]);

  if (opening) {
    return (
      <div className="app">
        <p className="hint" data-testid="session-restoring">
          Opening your last session…
        </p>
      </div>
    );
  }

  const job = s.job;
  const images = loaded?.dataset.images.length ?? 0;
  const classes = loaded?.dataset.classNames.length ?? 0;

  const dataState: StepState =
    s.dataset.phase === 'ready' ? 'done' : s.dataset.phase === 'failed' ? 'failed' : s.dataset.phase === 'empty' ? 'ready' : 'running';
  const dataLine =
    s.dataset.phase === 'ready'
      ? `${formatCount(images)} images · ${formatCount(classes)} classes · ${s.dataset.loaded.folderName || 'dropped files'}${
          s.filesConnected ? '' : ' (from your last session; the image files are not connected)'
        }`
      : s.dataset.phase === 'failed'
        ? 'That folder could not be read as a dataset: see why below.'
        : s.dataset.phase === 'empty'
          ? 'Drop a folder of labelled images: a Stanford Cars devkit, one folder per class, or CSV labels.'
          : 'Reading the folder…';

  const encoderState: StepState = job.error?.code === 'model' ? 'failed' : s.loadedEncoder ? 'done' : 'ready';
  const encoderLine = s.loadedEncoder
    ? `${s.loadedEncoder.name} · ${s.loadedEncoder.featureSize} features`
    : `${describeChoice(s.encoder)} — loads when you embed.`;

  const embedDone = job.phase === 'done' && !job.result?.cancelled;
  const embedState: StepState = !loaded ? 'waiting' : embedRunning ? 'running' : job.phase === 'failed' ? 'failed' : embedDone ? 'done' : 'ready';
  const embedLine = !loaded
    ? 'Waiting for a dataset.'
    : embedRunning
      ? job.stage
      : embedDone
        ? `${formatCount(job.cache?.total ?? images)} images embedded${job.metrics ? ` · baseline R-Precision ${formatPercent(job.metrics.rPrecision)}` : ''}`
        : job.phase === 'failed'
          ? 'Embedding stopped: see why below.'
          : `Turn every image into ${s.loadedEncoder ? `${s.loadedEncoder.featureSize} numbers` : 'a list of numbers'} with the encoder (cached: done once).`;

  const train = s.train;
  const trainLive = isLive(train);
  const lastEpoch = train.history[train.history.length - 1]?.epoch ?? 0;
  const trainState: StepState = !s.loadedEncoder || !loaded ? 'waiting' : trainLive ? 'running' : train.phase === 'failed' ? 'failed' : train.phase === 'done' ? 'done' : 'ready';
  const trainLine = trainState === 'waiting'
    ? 'Waiting for the embeddings.'
    : trainLive
      ? `${train.stage}${lastEpoch ? ` (epoch ${lastEpoch})` : ''}`
      : train.phase === 'done' && train.summary
        ? `${train.stage} Best epoch ${train.summary.bestEpoch}.`
        : 'Train a small head on the training classes; it is measured on classes it never sees.';

  const useState: StepState = s.head ? 'ready' : 'waiting';
  const useLine = s.head ? `Using ${s.head.label}.` : 'Waiting for a trained head (or load one below).';

  return (
    <div className={`app${dragging ? ' dragging' : ''}`}>
      <header className="app-header">
        <h1>Similarity Studio</h1>
        <p>Turn a pretrained image encoder into a similarity search for classes it has never seen — in your browser.</p>
      </header>
      {dragging && <div className="drop-overlay">Drop a dataset folder (or a model folder)</div>}
      {s.restoreProblem && (
        <p className="error" role="alert" data-testid="session-problem">
          {s.restoreProblem}
        </p>
      )}
      <main className="steps">
        <Step
          n={1}
          id="data"
          title="Data"
          state={dataState}
          line={dataLine}
          action={
            s.dataset.phase === 'empty' ? undefined : (
              <button type="button" onClick={() => picker.current?.click()}>
                Choose another folder…
              </button>
            )
          }
        >
          <input
            ref={picker}
            type="file"
            hidden
            data-testid="dataset-picker"
            webkitdirectory=""
            multiple
            onChange={(e) => {
              if (e.target.files && e.target.files.length > 0) onFolder(readPicked(e.target.files));
              e.target.value = '';
            }}
          />
          {s.dataset.phase === 'empty' ? (
            <div className="drop-zone" data-testid="drop-zone">
              <h2>Drop a folder here</h2>
              <p>
                A <strong>dataset folder</strong>: the Stanford Cars devkit as downloaded, one folder of images per class, or
                images with CSV labels (anno_train.csv, names.csv). Or a <strong>model folder</strong> (model.json and its weight
                files) to use your own encoder.
              </p>
              <button type="button" className="primary" onClick={() => picker.current?.click()}>
                Choose a dataset folder…
              </button>
            </div>
          ) : (
            <DatasetPanel
              state={s.dataset}
              split={split}
              splitSettings={s.split}
              onSplitSettings={(v) => session.set({ split: v })}
              decodeFailures={job.problems}
              decodeFailureCount={job.problemCount}
              filesConnected={s.filesConnected}
              folderHandle={s.folderHandle}
              onReconnected={onFolder}
            />
          )}
        </Step>

        <Step n={2} id="encoder" title="Encoder" state={encoderState} line={encoderLine}>
          <EncoderPanel
            choice={s.encoder}
            onChoice={chooseEncoder}
            backend={s.backend}
            onBackend={(backend) => session.set({ backend })}
            backends={s.backends}
            loaded={s.loadedEncoder}
            onDetect={() => void detect()}
            onMeasure={() => void measure()}
            error={job.error?.code === 'model' ? job.error.message : null}
          />
        </Step>

        <Step
          n={3}
          id="embed"
          title="Embed"
          state={embedState}
          line={<span data-testid="embed-step-line">{embedLine}</span>}
          action={
            embedRunning ? (
              <button type="button" onClick={() => abort.current?.abort()} data-testid="embed-cancel">
                Cancel
              </button>
            ) : (
              <button type="button" className={embedDone ? '' : 'primary'} disabled={canStart !== null} onClick={() => void startEmbedding()} data-testid="embed-start">
                {embedDone ? 'Embed again' : loaded ? `Embed ${formatCount(images)} images` : 'Embed'}
              </button>
            )
          }
        >
          <EmbeddingPanel view={job} settings={s.embedSettings} onSettings={setEmbedSettings} canStart={canStart} />
          <details className="advanced">
            <summary>Storage: cached embeddings and models</summary>
            <CachePanel refreshKey={s.cacheVersion} />
          </details>
        </Step>

        <Step n={4} id="train" title="Train" state={trainState} line={<span data-testid="train-step-line">{trainLine}</span>}>
          <Suspense fallback={<StepLoading />}>
            <TrainingSection {...training} />
          </Suspense>
        </Step>

        <Step n={5} id="use" title="Use: download, search, map" state={useState} line={useLine}>
          <Suspense fallback={<StepLoading />}>
            <SimilaritySection {...similarity} />
          </Suspense>
        </Step>
      </main>
    </div>
  );
}

function StepLoading() {
  return <p className="hint">Loading this step’s code…</p>;
}
