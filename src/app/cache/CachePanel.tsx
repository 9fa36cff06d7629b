import { useCallback, useEffect, useState } from 'react';
import { EmbeddingCache, type EmbeddingSetStats } from '../../storage/embeddingCache';
import { ModelStore } from '../../storage/modelStore';
import type { StorageEstimate, StoredModelInfo } from '../../storage/studioDb';
import { requestPersistentStorage, storageEstimate } from '../../storage/studioDb';
import { formatBytes, formatCount } from '../format';
import { Panel } from '../shell/Panel';

/** What is stored in this browser: embeddings per encoder, downloaded models; clear them. */
export function CachePanel(props: { refreshKey: number }) {
  const [sets, setSets] = useState<EmbeddingSetStats[]>([]);
  const [models, setModels] = useState<StoredModelInfo[]>([]);
  const [estimate, setEstimate] = useState<StorageEstimate | null>(null);
  const [persisted, setPersisted] = useState<boolean | null>(null);

  const refresh = useCallback(async () => {
    const cache = await EmbeddingCache.open();
    const store = await ModelStore.open();
    try {
      setSets(await cache.stats());
      setModels(await store.list());
      setEstimate(await storageEstimate());
    } finally {
      cache.close();
      store.close();
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh, props.refreshKey]);

  useEffect(() => {
    void requestPersistentStorage().then(setPersisted);
  }, []);

  const clearSet = async (key: string) => {
    const cache = await EmbeddingCache.open();
    try {
      await cache.clearSet(key);
    } finally {
      cache.close();
    }
    await refresh();
  };

  const deleteModel = async (url: string) => {
    const store = await ModelStore.open();
    try {
      await store.delete(url);
    } finally {
      store.close();
    }
    await refresh();
  };

  return (
    <Panel
      id="cache"
      title="Stored in this browser"
      status={estimate ? `${formatBytes(estimate.usage)} of ${formatBytes(estimate.quota)} used` : null}
    >
      <p className="hint">
        {persisted === null ? '' : persisted ? 'Storage is persistent: the browser will not evict it.' : 'Storage may be evicted under pressure (persistence not granted).'}
      </p>
      <table className="cache-table" data-testid="cache-table">
        <thead>
          <tr>
            <th>Encoder</th>
            <th>Embeddings</th>
            <th title="Stored vectors plus their keys, counted; the browser's own total is below">Payload</th>
            <th>Per image</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sets.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No embeddings stored yet.
              </td>
            </tr>
          )}
          {sets.map((s) => {
            // cut maps (for fine-tuning the encoder's top) and a fine-tuned run's tuned features have test ids of their own
            const id = s.cut ? 'cache-cut' : s.tuned ? 'cache-tuned' : 'cache';
            return (
            <tr key={s.preprocessingKey} title={s.preprocessingKey} data-testid={id === 'cache' ? undefined : `${id}-row`}>
              <td>
                {s.modelName}{' '}
                <span className="muted">
                  {s.cut
                    ? `cut maps at ${s.cut.layer} (${s.cut.shape.join('×')}, float16, for fine-tuning the top)`
                    : s.tuned
                      ? `tuned features of ${s.tuned.runName} (epoch ${s.tuned.epoch}, its top from ${s.tuned.cut}; ${s.featureSize}-d, deleted with the run)`
                      : `${s.featureSize}-d`}
                  {s.preprocessingKey.includes('crop=box') ? ', cropped' : ''}
                </span>
              </td>
              <td data-testid={`${id}-count`}>{formatCount(s.count)}</td>
              <td data-testid={`${id}-bytes`} data-bytes={s.bytes}>
                {formatBytes(s.bytes)}
              </td>
              <td data-testid={`${id}-bytes-per-image`} data-bytes={Math.round(s.bytesPerImage)}>
                {formatBytes(s.bytesPerImage)}
              </td>
              <td>
                <button type="button" onClick={() => void clearSet(s.preprocessingKey)}>
                  Clear
                </button>
              </td>
            </tr>
            );
          })}
          {models.map((m) => (
            <tr key={m.url} title={m.url}>
              <td>
                {m.name} <span className="muted">model weights</span>
              </td>
              <td>—</td>
              <td data-bytes={m.bytes}>{formatBytes(m.bytes)}</td>
              <td>—</td>
              <td>
                <button type="button" onClick={() => void deleteModel(m.url)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p
        className="hint"
        data-testid="cache-usage"
        data-usage={estimate?.usage ?? ''}
        data-quota={estimate?.quota ?? ''}
        data-indexeddb={estimate?.usageDetails?.indexedDB ?? ''}
      >
        {estimate ? (
          <>
            The browser counts {formatBytes(estimate.usage)} stored by this site
            {estimate.usageDetails?.indexedDB !== undefined && ` (IndexedDB ${formatBytes(estimate.usageDetails.indexedDB)})`}, of a{' '}
            {formatBytes(estimate.quota)} quota, run history included.{' '}
          </>
        ) : (
          'This browser does not report its storage use. '
        )}
        Payloads are counted (vectors and keys, model weights); what IndexedDB writes to disk differs by its own overhead
        and compression, and browsers report no size per encoder.
      </p>
    </Panel>
  );
}
