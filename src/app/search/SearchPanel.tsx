import { useCallback, useEffect, useRef, useState } from 'react';
import type { NeighbourList, SearchEventOf } from '../../workers/searchProtocol';
import { Panel } from '../shell/Panel';
import { useSeen } from '../shell/useSeen';
import type { GalleryImage } from './gallery';
import { searchClient } from './searchClientInstance';
import { Thumb } from './Thumb';

const PAGE = 48;

type Query = { kind: 'row'; row: number } | { kind: 'photo'; file: File; identity: string };

/**
 * Similar-cars search: pick a validation image (or drop a photo) and see its nearest
 * validation images with the frozen encoder and with the head, side by side.
 */
export function SearchPanel(props: {
  /** Gallery rows (validation images with an embedding), or null while loading. */
  images: GalleryImage[] | null;
  /** Changes whenever the gallery or the head changes (results are recomputed). */
  version: string;
  hasHead: boolean;
  /** Embeds a photo with the encoder (same preprocessing, in the embedding worker); resolves with its cache identity. */
  embedPhoto: ((file: File) => Promise<string>) | null;
}) {
  const { images, version, hasHead, embedPhoto } = props;
  const [page, setPage] = useState(0);
  const [k, setK] = useState(8);
  const [query, setQuery] = useState<Query | null>(null);
  const [found, setFound] = useState<{ query: Query; results: SearchEventOf<'results'> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [embedding, setEmbedding] = useState(false);
  const [over, setOver] = useState(false);
  const seq = useRef(0);
  // a restored page opens at its top: the grid's 48 thumbnails are read when it comes into view
  const [grid, gridSeen] = useSeen<HTMLDivElement>('300px');

  const run = useCallback(async (q: Query, kk: number) => {
    const mine = ++seq.current;
    setError(null);
    try {
      const r = await searchClient.request({
        type: 'search',
        query: q.kind === 'row' ? { kind: 'row', row: q.row } : { kind: 'identity', identity: q.identity },
        k: kk,
      });
      if (mine === seq.current) setFound({ query: q, results: r });
    } catch (e) {
      if (mine === seq.current) setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    if (query && images) void run(query, k);
  }, [query, k, version, images, run]);

  useEffect(() => {
    setFound(null);
    setQuery(null);
    setPage(0);
  }, [images]);

  const dropPhoto = async (file: File | undefined) => {
    if (!file || !embedPhoto) return;
    setEmbedding(true);
    setError(null);
    try {
      const identity = await embedPhoto(file);
      setQuery({ kind: 'photo', file, identity });
    } catch (e) {
      setError(`Could not embed that photo: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setEmbedding(false);
    }
  };

  const pages = images ? Math.max(1, Math.ceil(images.length / PAGE)) : 1;
  const shown = images?.slice(page * PAGE, (page + 1) * PAGE) ?? [];
  const queryImage = query?.kind === 'row' && images ? images[query.row] : null;
  const queryClass = queryImage?.classId ?? null;
  // results are shown only for the query they answer
  const results = found && found.query === query ? found.results : null;
  const queryTag = query ? (query.kind === 'row' ? `row:${query.row}` : `photo:${query.identity}`) : '';

  return (
    <Panel
      id="search"
      title="Similar cars"
      status={results ? <span data-testid="search-ms" data-ms={results.ms.toFixed(2)}>{results.ms.toFixed(1)} ms</span> : undefined}
    >
      {!images && <p className="hint">Embed the dataset to search its validation images.</p>}
      {images && (
        <>
          <p className="hint">
            Pick a validation image, or drop a photo of a car: its nearest validation images, with the frozen encoder and with the
            trained head. A green frame marks the query's class.
          </p>
          <div
            className={`photo-drop${over ? ' over' : ''}`}
            data-testid="search-photo-drop"
            onDragOver={(e) => {
              if (!Array.from(e.dataTransfer.types).includes('Files')) return;
              e.preventDefault();
              e.stopPropagation();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={(e) => {
              e.preventDefault();
              e.stopPropagation();
              setOver(false);
              void dropPhoto(Array.from(e.dataTransfer.files).find((f) => f.type.startsWith('image/')));
            }}
          >
            <div className="row">
              <label>
                Drop a photo here, or choose one{' '}
                <input
                  type="file"
                  accept="image/*"
                  data-testid="search-photo-input"
                  disabled={!embedPhoto || embedding}
                  onChange={(e) => {
                    void dropPhoto(e.target.files?.[0]);
                    e.target.value = '';
                  }}
                />
              </label>
              {embedding && <span className="hint">Embedding the photo…</span>}
              {!embedPhoto && <span className="hint">(choose the encoder the dataset was embedded with)</span>}
              <label>
                Neighbours{' '}
                <select value={k} data-testid="search-k" onChange={(e) => setK(Number(e.target.value))}>
                  {[4, 8, 12, 20].map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
            </div>
          </div>
          <div className="row">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
              ‹
            </button>
            <span className="hint">
              Validation images {page * PAGE + 1}–{Math.min(images.length, (page + 1) * PAGE)} of {images.length}
            </span>
            <button type="button" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
              ›
            </button>
          </div>
          <div className="query-grid" data-testid="search-grid" data-count={images.length} ref={grid}>
            {shown.map((img, i) => {
              const row = page * PAGE + i;
              return (
                <button
                  key={row}
                  type="button"
                  title={`${img.className} — ${img.path}`}
                  className={query?.kind === 'row' && query.row === row ? 'selected' : ''}
                  data-testid="search-pick"
                  data-row={row}
                  onClick={() => setQuery({ kind: 'row', row })}
                >
                  <Thumb file={gridSeen ? img.file : null} identity={gridSeen ? img.identity : undefined} alt={img.className} />
                </button>
              );
            })}
          </div>
        </>
      )}
      {error && (
        <p className="error" role="alert" data-testid="search-error">
          {error}
        </p>
      )}
      {query && images && (
        <div className="query-shown" data-testid="search-query" data-row={query.kind === 'row' ? query.row : ''}>
          <Thumb file={query.kind === 'row' ? images[query.row].file : query.file} identity={query.kind === 'row' ? images[query.row].identity : undefined} alt="query" />
          <div>
            <strong>{query.kind === 'row' ? images[query.row].className : query.file.name}</strong>
            <div className="hint">{query.kind === 'row' ? images[query.row].path : 'your photo (no class: nothing is marked)'}</div>
          </div>
        </div>
      )}
      {results && images && (
        <div className="two-columns">
          <Hits title="Frozen encoder" testId="search-results-base" list={results.base} images={images} queryClass={queryClass} queryTag={queryTag} />
          {results.tuned ? (
            <Hits title="With the trained head" testId="search-results-tuned" list={results.tuned} images={images} queryClass={queryClass} queryTag={queryTag} />
          ) : (
            <p className="hint">{hasHead ? '' : 'Train a head (or load one) to compare.'}</p>
          )}
        </div>
      )}
    </Panel>
  );
}

function Hits(props: { title: string; testId: string; list: NeighbourList; images: GalleryImage[]; queryClass: number | null; queryTag: string }) {
  const { title, testId, list, images, queryClass, queryTag } = props;
  const correct = queryClass === null ? null : Array.from(list.index).filter((r) => images[r]?.classId === queryClass).length;
  return (
    <section data-testid={testId} data-query={queryTag} data-count={list.index.length} data-correct={correct ?? ''}>
      <h3>
        {title}
        {correct !== null && ` — ${correct} of ${list.index.length} of the same model`}
      </h3>
      <ol className="hits">
        {Array.from(list.index, (row, i) => {
          const img = images[row];
          const same = queryClass === null ? null : img.classId === queryClass;
          return (
            <li
              key={`${row}-${i}`}
              className={`hit${same === true ? ' correct' : same === false ? ' wrong' : ''}`}
              data-testid="search-hit"
              data-row={row}
              data-class={img.classId}
              data-distance={list.distance[i]}
              data-correct={same === null ? '' : String(same)}
              title={img.path}
            >
              <Thumb file={img.file} identity={img.identity} alt={img.className} />
              <div className="hit-text">
                {same !== null && <span className="hit-mark">{same ? '✓ ' : '✗ '}</span>}
                {img.className}
                <div className="muted">d = {Math.max(0, list.distance[i]).toFixed(4)}</div>
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
