import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ClassSplit } from '../../core/data/classSplit';
import { imageIdentity } from '../../core/data/datasetFile';
import { BrowserDatasetFile } from '../../workers/browserFile';
import type { BackendName, EncoderSource, EncoderSummary } from '../../workers/embedProtocol';
import type { LoadedDataset } from '../dataset/useDatasetLoader';
import { embedClient } from '../embedClientInstance';
import { EmbeddingExportPanel } from '../export/EmbeddingExportPanel';
import { STUDIO_ENCODERS } from '../encoder/encoderChoice';
import { HeadPanel, type ActiveHead, type HeadMetricsView } from '../export/HeadPanel';
import { MapPanel } from '../map/MapPanel';
import { validationGallery, type GalleryImage } from './gallery';
import { SearchRequestError } from '../../workers/searchClient';
import { session } from '../session/sessionStore';
import { searchClient } from './searchClientInstance';
import { SearchPanel } from './SearchPanel';
import './similarity.css';

export interface SimilaritySectionProps {
  loaded: LoadedDataset | null;
  split: ClassSplit | null;
  /** The encoder the dataset was embedded with. */
  encoder: EncoderSummary | null;
  /** Where that encoder comes from (to embed a dropped photo the same way). */
  encoderSource: EncoderSource | null;
  backend: BackendName | 'auto';
  cropToBox: boolean;
  /** An embedding job is writing the cache now. */
  embeddingRunning: boolean;
  /** The head in use (held by the app: training can continue from it). */
  head: ActiveHead | null;
  onHead: (head: ActiveHead | null) => void;
  /** The run the person chose (kept in the session), and where a new choice goes. */
  chosenRunId: string | null;
  onChosenRun: (runId: string | null) => void;
}

interface GalleryView {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  images: GalleryImage[] | null;
  key: string;
  missing: number;
  message: string | null;
}

const IDLE: GalleryView = { phase: 'idle', images: null, key: '', missing: 0, message: null };
const NO_METRICS: HeadMetricsView = { phase: 'idle', base: null, tuned: null, message: null, headKey: null };

/** What the trained head is for: its download, similar-cars search, the embedding map and the embedding exports. */
export const SimilaritySection = memo(function SimilaritySection(props: SimilaritySectionProps) {
  const { loaded, split, encoder, encoderSource, backend, cropToBox, embeddingRunning, head, onHead, chosenRunId, onChosenRun } = props;
  const [gallery, setGallery] = useState<GalleryView>(IDLE);
  const [applied, setApplied] = useState<string>('');
  const [metrics, setMetrics] = useState<HeadMetricsView>(NO_METRICS);
  const measuring = useRef<AbortController | null>(null);
  // read when the head is set: a new source object for the same encoder must not set it again
  const sourceRef = useRef(encoderSource);
  sourceRef.current = encoderSource;
  const hasSource = encoderSource !== null;
  const distance = head?.evaluation.distance ?? 'cosine';

  const encoderCard = useMemo<Record<string, unknown> | null>(() => {
    if (!encoder) return null;
    const card = STUDIO_ENCODERS.find((c) => c.name === encoder.name || c.id === encoder.id);
    return card
      ? { ...card, preprocessingKey: encoder.preprocessingKey }
      : { id: encoder.id, name: encoder.name, inputSize: encoder.inputSize, featureSize: encoder.featureSize, preprocessingKey: encoder.preprocessingKey };
  }, [encoder]);

  // the validation images, read from the embedding cache into the search worker
  useEffect(() => {
    if (!loaded || !split || !encoder || embeddingRunning) {
      setGallery(IDLE);
      return;
    }
    let live = true;
    const key = `${encoder.preprocessingKey}|${split.seed}|${split.trainFraction}|${split.mode}|${distance}|${Date.now()}`;
    setGallery({ ...IDLE, phase: 'loading', key });
    setApplied('');
    validationGallery(loaded.dataset, split, encoder)
      .then(async ({ spec, images }) => {
        if (!live) return;
        const r = await searchClient.request({ type: 'load', gallery: spec, distance });
        if (!live) return;
        const rows = Array.from(r.found, (i) => images[i]);
        setGallery({ phase: rows.length ? 'ready' : 'error', images: rows.length ? rows : null, key, missing: r.missing, message: rows.length ? null : 'No validation image is embedded yet.' });
      })
      .catch((e: unknown) => live && setGallery({ ...IDLE, phase: 'error', key, message: e instanceof Error ? e.message : String(e) }));
    return () => {
      live = false;
    };
  }, [loaded, split, encoder, embeddingRunning, distance]);

  // the head applied to the gallery and measured there, as its run measured it
  useEffect(() => {
    if (gallery.phase !== 'ready') {
      setMetrics(NO_METRICS);
      return;
    }
    let live = true;
    const controller = new AbortController();
    measuring.current = controller;
    setMetrics({ ...NO_METRICS, phase: 'measuring' });
    const evaluation = head?.evaluation ?? { distance: 'cosine' as const, queryCount: null, seed: 42 };
    // a fine-tuned run's head reads its top's tuned features: the worker rebuilds the top from the encoder
    const source = sourceRef.current;
    const top = head?.top && source ? { ...head.top, source } : null;
    const request =
      head?.top && !source
        ? Promise.reject(new Error("This run fine-tuned the encoder's top: choose its encoder (and embed with it) to measure and search with the tuned model."))
        : searchClient.request(
            { type: 'set-head', weights: head?.weights ?? null, evaluation, top },
            {
              signal: controller.signal,
              onEvent: (e) => {
                if (live && e.type === 'progress') setMetrics((m) => ({ ...m, progress: { stage: e.stage, done: e.done, total: e.total } }));
              },
            },
          );
    request
      .then((r) => {
        if (!live) return;
        setMetrics({ phase: 'ready', base: r.base, tuned: r.tuned, message: null, headKey: head?.key ?? null, tunedFeatures: r.tunedFeatures });
        // newly stored tuned features: the cache panel counts them
        if (r.tunedFeatures?.computed) session.set((x) => ({ cacheVersion: x.cacheVersion + 1 }));
        setApplied(`${gallery.key}#${head?.key ?? 'none'}`);
      })
      .catch((e: unknown) => {
        if (!live) return;
        const message =
          e instanceof SearchRequestError && e.cancelled
            ? 'Computing the tuned features was cancelled: those computed so far are kept in the cache; choose the run again to finish them.'
            : e instanceof Error
              ? e.message
              : String(e);
        setMetrics({ ...NO_METRICS, phase: 'error', message });
        setApplied(`${gallery.key}#none`);
      });
    return () => {
      live = false;
      controller.abort();
    };
  }, [gallery, head, hasSource]);

  const ready = gallery.phase === 'ready' && applied.startsWith(`${gallery.key}#`);
  const hasHead = ready && metrics.tuned !== null;
  const images = ready ? gallery.images : null;

  const embedPhoto = useCallback(
    async (file: File): Promise<string> => {
      if (!encoderSource) throw new Error('No encoder chosen');
      const path = `dropped-photos/${file.name}`;
      const done = await embedClient.embed(
        encoderSource,
        [{ path, file, size: file.size, lastModified: file.lastModified, classId: -1 }],
        // a fine-tuned run's search needs the photo's cut map too (its tuned feature is top(cut map))
        { backend, batchSize: 1, cropToBox, validationClasses: [], ...(head?.top ? { topBlocks: head.top.blocks } : {}) },
      );
      if (done.failed > 0) throw new Error(`${file.name} could not be decoded as an image`);
      return imageIdentity(new BrowserDatasetFile(path, file));
    },
    [encoderSource, backend, cropToBox, head?.top],
  );

  const stem = (loaded?.folderName || 'dataset').replace(/[^A-Za-z0-9._-]+/g, '-');

  return (
    <>
      <HeadPanel
        active={head}
        onActive={onHead}
        metrics={metrics}
        encoderCard={encoderCard}
        encoderSource={encoderSource}
        blocked={gallery.phase === 'ready' ? null : 'Embed the dataset with the head’s encoder to measure it here.'}
        chosenRunId={chosenRunId}
        onChosenRun={onChosenRun}
        onCancelMeasuring={metrics.phase === 'measuring' ? () => measuring.current?.abort() : undefined}
      />
      {gallery.message && (
        <p className="error" role="alert" data-testid="gallery-error">
          {gallery.message}
        </p>
      )}
      <SearchPanel images={images} version={applied} hasHead={hasHead} embedPhoto={encoderSource && !embeddingRunning ? embedPhoto : null} />
      <MapPanel images={images} version={applied} hasHead={hasHead} />
      <EmbeddingExportPanel ready={ready} hasHead={hasHead} fineTuned={Boolean(head?.top)} stem={stem} dataset={loaded?.dataset ?? null} split={split} />
    </>
  );
});
