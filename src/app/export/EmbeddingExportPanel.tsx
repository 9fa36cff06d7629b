import { useMemo, useRef, useState } from 'react';
import type { ClassSplit } from '../../core/data/classSplit';
import type { Dataset } from '../../core/data/dataset';
import type { EmbeddingFileFormat, ExportScope, Space } from '../../workers/searchProtocol';
import { exportImages, scopeImageCount } from '../search/gallery';
import { searchClient } from '../search/searchClientInstance';
import { Panel } from '../shell/Panel';
import { download } from './headZip';

const SCOPES: { scope: ExportScope; label: string }[] = [
  { scope: 'all', label: 'All images' },
  { scope: 'train', label: 'Training classes' },
  { scope: 'validation', label: 'Validation classes' },
];

/** Embeddings of the dataset (all, training or validation images) as Qdrant request bodies or the Embedding Projector's TSV pair, base or tuned. */
export function EmbeddingExportPanel(props: {
  ready: boolean;
  hasHead: boolean;
  /** The head is a fine-tuned run's: its tuned embeddings are head(tuned features), computed (once) for the images exported. */
  fineTuned?: boolean;
  stem: string;
  dataset: Dataset | null;
  split: ClassSplit | null;
}) {
  const { ready, hasHead, fineTuned = false, stem, dataset, split } = props;
  const [progress, setProgress] = useState<{ stage: string; done: number; total: number } | null>(null);
  const running = useRef<AbortController | null>(null);
  const [space, setSpace] = useState<Space>('base');
  const [scope, setScope] = useState<ExportScope>('all');
  const [busy, setBusy] = useState<EmbeddingFileFormat | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const which: Space = space === 'tuned' && !hasHead ? 'base' : space;
  // only counted here: the rows themselves (16,185 identities: 20-30 ms) are built when an export starts
  const count = useMemo(() => (dataset && split ? scopeImageCount(dataset, split, scope) : null), [dataset, split, scope]);

  const exportAs = async (format: EmbeddingFileFormat) => {
    if (!dataset || !split) return;
    setBusy(format);
    setError(null);
    const controller = new AbortController();
    running.current = controller;
    try {
      const images = await exportImages(dataset, split, scope);
      const r = await searchClient.request(
        { type: 'export', space: which, format, images, name: stem },
        { signal: controller.signal, onEvent: (e) => e.type === 'progress' && setProgress({ stage: e.stage, done: e.done, total: e.total }) },
      );
      const names = r.files.map((f) => `${stem}-${which}-${scope}-${f.name}`);
      // each download starts in a task of its own: starting a download holds the main thread for a while
      r.files.forEach((f, i) => setTimeout(() => download(f.blob, names[i]), 0));
      const why = r.tunedFeatures
        ? "no cut map for the fine-tuned top — embed the dataset again with \"Train the encoder's top blocks\" set to include them"
        : 'not embedded yet — embed the dataset again to include them';
      setDone(
        `Saved ${names.join(', ')}: ${r.count} images` +
          (r.tunedFeatures ? ` (the head on the fine-tuned top's features: ${r.tunedFeatures.computed} computed now, ${r.tunedFeatures.cached} from the cache)` : '') +
          (r.missing ? ` (${r.missing} left out: ${why})` : ''),
      );
    } catch (e) {
      setError(`Could not export the embeddings: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
      setProgress(null);
      running.current = null;
    }
  };

  return (
    <Panel id="export" title="Export embeddings" status={ready && count !== null ? `${count} images` : undefined}>
      <p className="hint">
        For a vector database: a zip for Qdrant with collection.json (the vector size and distance) and points.json (the
        points, each with its file, class and split), ready for two requests — create the collection, upsert the points
        (its README has them). For viewing elsewhere: the Embedding Projector's vectors.tsv and metadata.tsv
        (projector.tensorflow.org → Load).
      </p>
      <div className="row">
        {SCOPES.map((s) => (
          <label className="check" key={s.scope}>
            <input type="radio" name="export-scope" checked={scope === s.scope} data-testid={`export-scope-${s.scope}`} onChange={() => setScope(s.scope)} />
            {s.label}
          </label>
        ))}
      </div>
      <div className="row">
        <label className="check">
          <input type="radio" name="export-space" checked={which === 'base'} data-testid="export-space-base" onChange={() => setSpace('base')} />
          Frozen encoder
        </label>
        <label className="check">
          <input
            type="radio"
            name="export-space"
            checked={which === 'tuned'}
            disabled={!hasHead}
            data-testid="export-space-tuned"
            onChange={() => setSpace('tuned')}
          />
          {fineTuned ? 'With the head (on the fine-tuned top)' : 'With the head'}
        </label>
        <button type="button" data-testid="export-qdrant" disabled={!ready || count === null || busy !== null} onClick={() => void exportAs('qdrant')}>
          Qdrant (.zip)
        </button>
        <button type="button" data-testid="export-projector" disabled={!ready || count === null || busy !== null} onClick={() => void exportAs('projector')}>
          Embedding Projector (.tsv pair)
        </button>
        {busy && (
          <span className="hint" data-testid="export-progress">
            {progress ? `${progress.stage}: ${progress.done} of ${progress.total}…` : 'Writing…'}{' '}
            <button type="button" data-testid="export-cancel" onClick={() => running.current?.abort()}>
              Cancel
            </button>
          </span>
        )}
      </div>
      {done && (
        <p className="hint" data-testid="export-done">
          {done}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="export-error">
          {error}
        </p>
      )}
    </Panel>
  );
}
