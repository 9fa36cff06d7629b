import { useCallback, useMemo, useReducer, useRef, useState } from 'react';
import { DEFAULT_SPLIT_SEED, DEFAULT_TRAIN_FRACTION, splitClasses } from '../core/data/classSplit';
import { BrowserDatasetFile } from '../workers/browserFile';
import type { BackendName, EmbedEvent, EncoderSummary } from '../workers/embedProtocol';
import { CachePanel } from './cache/CachePanel';
import { DatasetPanel } from './dataset/DatasetPanel';
import { looksLikeModelFolder, type PickedFolder } from './dataset/folderFiles';
import type { SplitSettingsValue } from './dataset/SplitSettings';
import { useDatasetLoader } from './dataset/useDatasetLoader';
import { useFolderDrop } from './dataset/useFolderDrop';
import { embedClient } from './embedClientInstance';
import { embedJobReducer, IDLE_JOB } from './embedding/embedJobState';
import { EmbeddingPanel, type EmbedSettings } from './embedding/EmbeddingPanel';
import { DEFAULT_ENCODER, encoderSource, type EncoderChoice } from './encoder/encoderChoice';
import { EncoderPanel, type BackendView } from './encoder/EncoderPanel';
import type { ActiveHead } from './export/HeadPanel';
import { SimilaritySection } from './search/SimilaritySection';
import { TrainingSection } from './training/TrainingPanel';

const NO_BACKENDS: BackendView = { statuses: null, timings: [], measuring: false, running: null, error: null };

export function App() {
  const loader = useDatasetLoader();
  const [splitSettings, setSplitSettings] = useState<SplitSettingsValue>({
    seed: DEFAULT_SPLIT_SEED,
    trainFraction: DEFAULT_TRAIN_FRACTION,
    mode: 'seeded',
  });
  const [choice, setChoice] = useState<EncoderChoice>(DEFAULT_ENCODER);
  const [backend, setBackend] = useState<BackendName | 'auto'>('auto');
  const [backends, setBackends] = useState<BackendView>(NO_BACKENDS);
  const [loadedEncoder, setLoadedEncoder] = useState<EncoderSummary | null>(null);
  const [embedSettings, setEmbedSettings] = useState<EmbedSettings>({ batchSize: 32, cropToBox: false });
  const [job, dispatch] = useReducer(embedJobReducer, IDLE_JOB);
  const [cacheVersion, setCacheVersion] = useState(0);
  const [head, setHead] = useState<ActiveHead | null>(null);
  const abort = useRef<AbortController | null>(null);

  const loaded = loader.state.phase === 'ready' ? loader.state.loaded : null;
  const split = useMemo(() => {
    if (!loaded || loaded.dataset.classNames.length < 2) return null;
    return splitClasses(loaded.dataset.classNames.length, splitSettings);
  }, [loaded, splitSettings]);

  const chooseEncoder = useCallback((c: EncoderChoice) => {
    setChoice(c);
    setLoadedEncoder(null);
    dispatch({ type: 'encoder-changed' });
    setBackends((b) => ({ ...b, error: null, timings: [] }));
  }, []);

  const { load: loadFolder, onReading } = loader;
  const onFolder = useCallback(
    (folder: Promise<PickedFolder> | PickedFolder) =>
      void loadFolder(folder, (f) => {
        if (!looksLikeModelFolder(f)) return false;
        chooseEncoder({ kind: 'files', folder: f });
        return true;
      }),
    [loadFolder, chooseEncoder],
  );
  const dragging = useFolderDrop(onFolder, onReading);

  const onWorkerEvent = useCallback((event: EmbedEvent) => {
    dispatch({ type: 'event', event });
    if (event.type === 'model-ready') {
      setLoadedEncoder(event.encoder);
      setBackends((b) => ({ ...b, error: null }));
    }
    if (event.type === 'backend-chosen') {
      setBackends((b) => ({ ...b, running: { backend: event.backend, adapter: event.adapter, reason: event.reason } }));
    }
    if (event.type === 'benchmark-figure') {
      setBackends((b) => ({ ...b, timings: [...b.timings.filter((t) => t.name !== event.timing.name), event.timing] }));
    }
  }, []);

  const detect = useCallback(async () => {
    try {
      const r = await embedClient.probeBackends();
      setBackends((b) => ({ ...b, statuses: r.backends, error: null }));
    } catch (e) {
      setBackends((b) => ({ ...b, error: e instanceof Error ? e.message : String(e) }));
    }
  }, []);

  const measure = useCallback(async () => {
    const source = encoderSource(choice);
    if (!source) return;
    setBackends((b) => ({ ...b, measuring: true, timings: [], error: null }));
    try {
      const probe = await embedClient.probeBackends();
      setBackends((b) => ({ ...b, statuses: probe.backends }));
      await embedClient.benchmark(source, Math.min(embedSettings.batchSize, 8), { onEvent: onWorkerEvent });
      setCacheVersion((v) => v + 1);
    } catch (e) {
      setBackends((b) => ({ ...b, error: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBackends((b) => ({ ...b, measuring: false }));
      dispatch({ type: 'timing-ended' });
    }
  }, [choice, embedSettings.batchSize, onWorkerEvent]);

  const source = encoderSource(choice);
  const canStart = !loaded ? 'Drop a dataset first.' : !split ? 'The dataset needs at least two classes.' : !source ? 'Choose an encoder.' : null;

  const startEmbedding = useCallback(async () => {
    if (!loaded || !split || !source) return;
    const controller = new AbortController();
    abort.current = controller;
    dispatch({ type: 'start' });
    if (!backends.statuses) void detect();
    // Only the File references travel (structured clone of a File does not copy its bytes).
    const images = loaded.dataset.images.map((img) => ({
      path: img.file.path,
      file: (img.file as BrowserDatasetFile).file,
      classId: img.classId,
      bbox: img.bbox,
    }));
    try {
      await embedClient.embed(
        source,
        images,
        { backend, batchSize: embedSettings.batchSize, cropToBox: embedSettings.cropToBox, validationClasses: split.validationClasses },
        { signal: controller.signal, onEvent: onWorkerEvent },
      );
    } catch (e) {
      dispatch({ type: 'client-error', message: e instanceof Error ? e.message : String(e) });
    } finally {
      abort.current = null;
      setCacheVersion((v) => v + 1);
    }
  }, [loaded, split, source, backend, embedSettings, onWorkerEvent, backends.statuses, detect]);

  return (
    <div className={`app${dragging ? ' dragging' : ''}`}>
      <header className="app-header">
        <h1>Similarity Studio</h1>
        <p>Turn a pretrained image encoder into a similarity search for classes it has never seen — in your browser.</p>
      </header>
      {dragging && <div className="drop-overlay">Drop a dataset folder (or a model folder)</div>}
      <main className="panels">
        <DatasetPanel
          state={loader.state}
          split={split}
          splitSettings={splitSettings}
          onSplitSettings={setSplitSettings}
          onPicked={onFolder}
          decodeFailures={job.problems}
          decodeFailureCount={job.problemCount}
        />
        <EncoderPanel
          choice={choice}
          onChoice={chooseEncoder}
          backend={backend}
          onBackend={setBackend}
          backends={backends}
          loaded={loadedEncoder}
          onDetect={() => void detect()}
          onMeasure={() => void measure()}
        />
        <EmbeddingPanel
          view={job}
          settings={embedSettings}
          onSettings={setEmbedSettings}
          canStart={canStart}
          onStart={() => void startEmbedding()}
          onCancel={() => abort.current?.abort()}
        />
        <CachePanel refreshKey={cacheVersion} />
        <TrainingSection
          loaded={loaded}
          split={split}
          encoder={loadedEncoder}
          embeddingRunning={job.phase === 'running'}
          head={head}
        />
        <SimilaritySection
          loaded={loaded}
          split={split}
          encoder={loadedEncoder}
          encoderSource={source}
          backend={backend}
          cropToBox={embedSettings.cropToBox}
          embeddingRunning={job.phase === 'running'}
          head={head}
          onHead={setHead}
        />
      </main>
    </div>
  );
}
