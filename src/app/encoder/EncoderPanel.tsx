import { useEffect, useRef, useState } from 'react';
import { inferModelCard } from '../../core/encoder/inferModelCard';
import type { ModelCard } from '../../core/encoder/modelCard';
import type { AdapterInfo, BackendName, BackendStatus, BackendTiming, EncoderSummary, WasmThreads } from '../../workers/embedProtocol';
import { BACKEND_ORDER } from '../../workers/embedProtocol';
import { readPicked } from '../dataset/folderFiles';
import { formatBytes } from '../format';
import { Panel, Stat } from '../shell/Panel';
import { catalogEntry, describeChoice, STUDIO_ENCODERS, type EncoderChoice } from './encoderChoice';

export interface BackendView {
  statuses: BackendStatus[] | null;
  timings: BackendTiming[];
  measuring: boolean;
  running: { backend: BackendName; adapter?: AdapterInfo; threads?: WasmThreads; reason: string } | null;
  error: string | null;
}

/** The card of a dropped model folder, inferred from its model.json (or why it cannot be). */
function useFolderCard(choice: EncoderChoice): { card?: ModelCard; bytes?: number; error?: string } {
  const [state, setState] = useState<{ card?: ModelCard; bytes?: number; error?: string }>({});
  useEffect(() => {
    setState({});
    if (choice.kind !== 'files') return;
    let live = true;
    const files = choice.folder.files;
    const bytes = files.reduce((s, f) => s + f.size, 0);
    // the model files' reader comes with tfjs: loaded when a model folder is dropped, not with the page
    import('../../core/encoder/filesIOHandler')
      .then(({ findModelJson, readModelJson }) => {
        const json = findModelJson(files);
        if (!json) throw new Error(`No model.json among the ${files.length} files.`);
        return readModelJson(json);
      })
      .then((m) => inferModelCard(m))
      .then((card) => live && setState({ card, bytes }))
      .catch((e: unknown) => live && setState({ error: e instanceof Error ? e.message : String(e) }));
    return () => {
      live = false;
    };
  }, [choice]);
  return state;
}

function adapterText(a: AdapterInfo): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].filter(Boolean);
  return `${parts.join(' · ') || 'unnamed adapter'}${a.isFallbackAdapter ? ' (software fallback adapter)' : ''}`;
}

function threadsText(t: WasmThreads): string {
  return `${t.count} ${t.count === 1 ? 'thread' : 'threads'}: ${t.reason}`;
}

export function EncoderPanel(props: {
  choice: EncoderChoice;
  onChoice: (c: EncoderChoice) => void;
  backend: BackendName | 'auto';
  onBackend: (b: BackendName | 'auto') => void;
  backends: BackendView;
  loaded: EncoderSummary | null;
  onDetect: () => void;
  onMeasure: () => void;
  /** Why the encoder did not load (the last embedding's error), if so. */
  error?: string | null;
}) {
  const { choice, backends } = props;
  const [url, setUrl] = useState(choice.kind === 'url' ? choice.url : '');
  const picker = useRef<HTMLInputElement>(null);
  const folder = useFolderCard(choice);
  const card = choice.kind === 'catalog' ? catalogEntry(choice.id) : folder.card;
  const size = choice.kind === 'files' ? folder.bytes : card?.sizeBytes;

  return (
    <Panel id="encoder" title="Encoder" status={props.loaded ? `${props.loaded.name} loaded` : describeChoice(choice)}>
      <div className="encoder-sources">
        <label>
          Encoder{' '}
          <select
            data-testid="encoder-catalog"
            value={choice.kind === 'catalog' ? choice.id : ''}
            onChange={(e) => props.onChoice({ kind: 'catalog', id: e.target.value })}
          >
            {choice.kind !== 'catalog' && <option value="">—</option>}
            {STUDIO_ENCODERS.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <div className="row">
          <button type="button" onClick={() => picker.current?.click()}>
            Model folder…
          </button>
          <span className="hint">or drop a folder holding model.json and its weight files</span>
          <input
            ref={picker}
            type="file"
            hidden
            data-testid="encoder-picker"
            webkitdirectory=""
            multiple
            onChange={(e) => {
              if (e.target.files?.length) props.onChoice({ kind: 'files', folder: readPicked(e.target.files) });
              e.target.value = '';
            }}
          />
        </div>
      </div>

      {props.error && (
        <p className="error" role="alert" data-testid="embed-error" data-code="model">
          {props.error}
        </p>
      )}
      {folder.error && <p className="error" data-testid="encoder-card-error">{folder.error}</p>}
      {card && (
        <div className="model-card" data-testid="encoder-card">
          <p>
            {choice.kind === 'files' && <strong data-testid="encoder-card-name">{card.name}: </strong>}
            {card.description}
          </p>
          <dl className="stats">
            <Stat label="Input" value={`${card.inputSize.width}×${card.inputSize.height} RGB`} testId="encoder-card-input" />
            <Stat label="Features" value={card.featureSize} testId="encoder-card-features" />
            <Stat
              label={choice.kind === 'files' ? 'Size' : 'Download'}
              value={size ? formatBytes(size) : 'unknown'}
              testId="encoder-card-size"
            />
            <Stat label="Licence" value={card.licence} />
          </dl>
          {card.source && (
            <a href={card.source} target="_blank" rel="noreferrer">
              source of the input contract
            </a>
          )}
        </div>
      )}
      {props.loaded && (
        <dl className="stats" data-testid="encoder-loaded">
          <Stat label="Loaded" value={props.loaded.name} testId="encoder-loaded-name" />
          <Stat label="Input" value={`${props.loaded.inputSize.width}×${props.loaded.inputSize.height}`} />
          <Stat label="Features" value={props.loaded.featureSize} testId="encoder-feature-size" />
          <Stat label="Size" value={props.loaded.bytes ? formatBytes(props.loaded.bytes) : '—'} />
          <Stat
            label="Weights from"
            value={{ network: 'download (now stored)', 'model-store': 'browser storage (offline)', files: 'dropped files' }[props.loaded.from]}
            testId="encoder-from"
          />
        </dl>
      )}

      <details className="advanced" data-testid="encoder-advanced">
        <summary>Advanced: a model URL, the backend</summary>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              props.onChoice({ kind: 'url', url });
            }}
          >
            <label>
              Model URL{' '}
              <input
                type="url"
                placeholder="https://…/model.json"
                value={url}
                data-testid="encoder-url"
                onChange={(e) => setUrl(e.target.value)}
              />
            </label>
            <button type="submit" data-testid="encoder-url-use">
              Use
            </button>
          </form>
        <fieldset className="backends">
          <legend>Backend</legend>
          <div className="row">
            <select
              value={props.backend}
              data-testid="backend-select"
              onChange={(e) => props.onBackend(e.target.value as BackendName | 'auto')}
            >
              <option value="auto">Fastest (measured)</option>
              {BACKEND_ORDER.map((b) => (
                <option key={b} value={b}>
                  {b}
                </option>
              ))}
            </select>
            <button type="button" onClick={props.onDetect} disabled={backends.measuring}>
              Detect
            </button>
            <button type="button" onClick={props.onMeasure} disabled={backends.measuring} data-testid="backend-measure">
              {backends.measuring ? 'Measuring…' : 'Time the encoder on each'}
            </button>
          </div>
          {backends.running && (
            <p data-testid="backend-running">
              Running on <strong>{backends.running.backend}</strong>
              {backends.running.adapter ? ` — ${adapterText(backends.running.adapter)}` : ''}
              {backends.running.threads ? ` — ${threadsText(backends.running.threads)}` : ''} ({backends.running.reason})
            </p>
          )}
          {backends.error && <p className="error">{backends.error}</p>}
          {backends.statuses && (
            <table className="backend-table" data-testid="backend-table">
              <thead>
                <tr>
                  <th>Backend</th>
                  <th>Status</th>
                  <th>Images/s</th>
                </tr>
              </thead>
              <tbody>
                {backends.statuses.map((s) => {
                  const t = backends.timings.find((x) => x.name === s.name);
                  return (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td>
                        {s.available ? 'available' : `unavailable: ${s.reason ?? ''}`}
                        {s.adapter && <div className="muted">{adapterText(s.adapter)}</div>}
                        {s.threads && <div className="muted" data-testid={`backend-threads-${s.name}`}>{threadsText(s.threads)}</div>}
                      </td>
                      <td data-testid={`backend-ips-${s.name}`}>
                        {t ? (t.error ? t.error : `${t.imagesPerSecond.toFixed(1)} (batch ${t.batchSize})`) : '—'}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </fieldset>
      </details>
    </Panel>
  );
}
