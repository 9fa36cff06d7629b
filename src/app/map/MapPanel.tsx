import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ProjectionMethod, Space } from '../../workers/searchProtocol';
import { classColour, type GalleryImage } from '../search/gallery';
import { searchClient } from '../search/searchClientInstance';
import { Thumb } from '../search/Thumb';
import { Panel } from '../shell/Panel';
import { drawSlices, fitToBox, pointsByClass } from './scatter';

const WIDTH = 480;
const HEIGHT = 380;
const PAD = 10;
/** Points drawn per animation frame (a few milliseconds each). */
const POINTS_PER_FRAME = 1500;

type Coords = Partial<Record<`${Space}:${ProjectionMethod}`, Float32Array>>;

/** The embedding map: PCA at once, UMAP on demand (in the search worker, with progress). */
export function MapPanel(props: { images: GalleryImage[] | null; version: string; hasHead: boolean }) {
  const { images, version, hasHead } = props;
  const [method, setMethod] = useState<ProjectionMethod>('pca');
  const [coords, setCoords] = useState<Coords>({});
  const [progress, setProgress] = useState<{ space: Space; done: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  const spaces: Space[] = hasHead ? ['base', 'tuned'] : ['base'];

  const project = useCallback(
    async (m: ProjectionMethod, which: Space[]) => {
      abort.current?.abort();
      const controller = new AbortController();
      abort.current = controller;
      setError(null);
      try {
        for (const space of which) {
          const r = await searchClient.request(
            { type: 'project', space, method: m },
            {
              signal: controller.signal,
              onEvent: (e) => {
                if (e.type === 'progress') setProgress({ space, done: e.done, total: e.total });
              },
            },
          );
          setCoords((c) => ({ ...c, [`${space}:${m}`]: r.coords }));
        }
      } catch (e) {
        if (!controller.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      } finally {
        if (abort.current === controller) {
          abort.current = null;
          setProgress(null);
        }
      }
    },
    [],
  );

  // a new gallery or head: the PCA maps at once; UMAP again only when asked
  useEffect(() => {
    setCoords({});
    setMethod('pca');
    if (images) void project('pca', hasHead ? ['base', 'tuned'] : ['base']);
    return () => abort.current?.abort();
  }, [images, version, hasHead, project]);

  const runUmap = () => {
    setMethod('umap');
    void project('umap', spaces.filter((s) => !coords[`${s}:umap`]));
  };

  return (
    <Panel id="map" title="Embedding map" status={progress ? `UMAP ${progress.space}: epoch ${progress.done} / ${progress.total}` : undefined}>
      {!images && <p className="hint">Embed the dataset to map its validation images.</p>}
      {images && (
        <>
          <p className="hint">
            Validation images in 2-D, one colour per class: the frozen encoder's embeddings and the head's. Classes the head was
            never trained on should form tighter, more separate clusters. Hover a point to see the image.
          </p>
          <div className="row">
            <label className="check">
              <input type="radio" name="map-method" checked={method === 'pca'} data-testid="map-method-pca" onChange={() => setMethod('pca')} />
              PCA
            </label>
            <label className="check">
              <input
                type="radio"
                name="map-method"
                checked={method === 'umap'}
                data-testid="map-method-umap"
                onChange={runUmap}
              />
              UMAP
            </label>
            {progress && (
              <>
                <progress max={progress.total} value={progress.done} data-testid="map-progress" style={{ width: 200, marginTop: 0 }} />
                <button type="button" data-testid="map-cancel" onClick={() => abort.current?.abort()}>
                  Cancel
                </button>
              </>
            )}
          </div>
          {error && (
            <p className="error" role="alert" data-testid="map-error">
              {error}
            </p>
          )}
          <div className="maps">
            {spaces.map((space) => (
              <ScatterMap
                key={space}
                title={space === 'base' ? 'Frozen encoder' : 'With the head'}
                testId={`map-${space}`}
                coords={coords[`${space}:${method}`] ?? null}
                method={method}
                images={images}
              />
            ))}
          </div>
        </>
      )}
    </Panel>
  );
}

function ScatterMap(props: { title: string; testId: string; coords: Float32Array | null; method: ProjectionMethod; images: GalleryImage[] }) {
  const { title, testId, coords, method, images } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ i: number; x: number; y: number } | null>(null);

  const screen = useMemo(() => (coords ? fitToBox(coords, WIDTH, HEIGHT, PAD) : null), [coords]);

  // the points are drawn on a canvas of their own, a slice per animation frame (thousands of
  // points at once held the main thread past 50 ms); a hover only copies it and outlines one point
  const [layer, setLayer] = useState<{ canvas: HTMLCanvasElement; drawn: number } | null>(null);
  useEffect(() => {
    setLayer(null);
    if (!screen) return;
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const n = screen.length / 2;
    const slices = drawSlices(pointsByClass(Array.from({ length: n }, (_, i) => images[i]?.classId ?? 0)), POINTS_PER_FRAME);
    if (slices.length === 0) {
      setLayer({ canvas, drawn: 0 });
      return;
    }
    let next = 0;
    let frame = 0;
    const draw = () => {
      for (const group of slices[next++]) {
        ctx.fillStyle = classColour(group.classId);
        ctx.beginPath();
        for (const i of group.points) ctx.rect(screen[2 * i] - 2, screen[2 * i + 1] - 2, 4, 4);
        ctx.fill();
      }
      setLayer({ canvas, drawn: next === slices.length ? n : 0 });
      if (next < slices.length) frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(frame);
  }, [screen, images]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    if (!screen || !layer) return;
    ctx.drawImage(layer.canvas, 0, 0);
    if (hover) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 2;
      ctx.strokeRect(screen[2 * hover.i] - 4, screen[2 * hover.i + 1] - 4, 8, 8);
    }
  }, [screen, layer, hover]);

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    if (!screen) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - rect.left) * WIDTH) / rect.width;
    const y = ((e.clientY - rect.top) * HEIGHT) / rect.height;
    let best = -1;
    let bestD = 64; // within 8 px
    for (let i = 0; i < screen.length / 2; i++) {
      const d = (screen[2 * i] - x) ** 2 + (screen[2 * i + 1] - y) ** 2;
      if (d < bestD) [best, bestD] = [i, d];
    }
    setHover(best < 0 ? null : { i: best, x: screen[2 * best], y: screen[2 * best + 1] });
  };

  const hovered = hover ? images[hover.i] : null;
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        {title} · {method.toUpperCase()}
      </figcaption>
      <div className="map-wrap">
        <canvas
          ref={canvas}
          width={WIDTH}
          height={HEIGHT}
          data-testid={testId}
          data-points={layer?.drawn ?? 0}
          data-method={layer?.drawn ? method : ''}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
        />
        {hover && hovered && (
          <div
            className="map-tip"
            data-testid={`${testId}-tip`}
            data-row={hover.i}
            style={{ left: Math.min(hover.x + 12, WIDTH - 134), top: Math.min(hover.y + 12, HEIGHT - 112) }}
          >
            <Thumb file={hovered.file} identity={hovered.identity} alt={hovered.className} />
            <div>{hovered.className}</div>
          </div>
        )}
      </div>
    </figure>
  );
}
