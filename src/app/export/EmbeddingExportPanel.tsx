import { useState } from 'react';
import type { EmbeddingFileFormat, Space } from '../../workers/searchProtocol';
import { searchClient } from '../search/searchClientInstance';
import { Panel } from '../shell/Panel';
import { download } from './headZip';

/** Validation embeddings as Qdrant points or the Embedding Projector's TSV pair, base or tuned. */
export function EmbeddingExportPanel(props: { ready: boolean; hasHead: boolean; stem: string; count: number }) {
  const { ready, hasHead, stem, count } = props;
  const [space, setSpace] = useState<Space>('base');
  const [busy, setBusy] = useState<EmbeddingFileFormat | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string[]>([]);
  const which: Space = space === 'tuned' && !hasHead ? 'base' : space;

  const exportAs = async (format: EmbeddingFileFormat) => {
    setBusy(format);
    setError(null);
    try {
      const r = await searchClient.request({ type: 'export', space: which, format });
      const names = r.files.map((f) => `${stem}-${which}-${f.name}`);
      r.files.forEach((f, i) => download(f.blob, names[i]));
      setDone(names);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <Panel id="export" title="Export embeddings" status={ready ? `${count} validation images` : undefined}>
      <p className="hint">
        For a vector database: Qdrant points (one JSON line each: id, vector, payload with file and class — the body of an
        upsert). For viewing elsewhere: the Embedding Projector's vectors.tsv and metadata.tsv (projector.tensorflow.org →
        Load).
      </p>
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
          With the head
        </label>
        <button type="button" data-testid="export-qdrant" disabled={!ready || busy !== null} onClick={() => void exportAs('qdrant')}>
          Qdrant points (.jsonl)
        </button>
        <button type="button" data-testid="export-projector" disabled={!ready || busy !== null} onClick={() => void exportAs('projector')}>
          Embedding Projector (.tsv pair)
        </button>
        {busy && <span className="hint">Writing…</span>}
      </div>
      {done.length > 0 && (
        <p className="hint" data-testid="export-done">
          Saved {done.join(', ')}
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
