import { formatBytes, formatCount, formatPercent, formatSeconds } from '../format';
import { Panel, Stat } from '../shell/Panel';
import type { EmbedJobView } from './embedJobState';

import type { EmbedSettings } from '../session/settingsTypes';

export type { EmbedSettings };

/** What R-Precision means for this dataset, in a sentence. */
export function rPrecisionInWords(rPrecision: number, classes: number): string {
  return (
    `R-Precision ${formatPercent(rPrecision)}: of the other photos of the same car model, this share is among a photo’s nearest ` +
    `(as many nearest as there are such photos), over ${classes} models never used for training. ` +
    `Guessing would give about ${formatPercent(1 / Math.max(1, classes))}.`
  );
}

/** Where images are decoded: "2 decode workers", or in the embedding worker itself. */
export function decodersInWords(workers: number): string {
  if (workers === 0) return 'in the embedding worker';
  return `${workers} decode worker${workers === 1 ? '' : 's'}`;
}

export function EmbeddingPanel(props: {
  view: EmbedJobView;
  settings: EmbedSettings;
  onSettings: (s: EmbedSettings) => void;
  /** Why embedding cannot start yet, if so. */
  canStart: string | null;
}) {
  const { view, settings } = props;
  const running = view.phase === 'running';
  const p = view.progress;
  const fraction = p && p.total > 0 ? p.done / p.total : view.cache && view.cache.missing === 0 ? 1 : 0;

  return (
    <Panel id="embedding" title="Embedding" status={<span data-testid="embed-stage">{view.stage}</span>}>
      {props.canStart && !running && <p className="hint">{props.canStart}</p>}
      <details className="advanced" data-testid="embed-advanced">
        <summary>Advanced: batch size, cropping</summary>
        <div className="row">
          <label>
            Batch{' '}
            <input
              type="number"
              min={1}
              max={256}
              value={settings.batchSize}
              disabled={running}
              data-testid="embed-batch"
              onChange={(e) => props.onSettings({ ...settings, batchSize: Math.max(1, Math.min(256, Number(e.target.value) || 1)) })}
            />
          </label>
          <span className="hint">images per forward pass (32: a good default; larger uses more memory)</span>
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={settings.cropToBox}
            disabled={running}
            data-testid="embed-crop"
            onChange={(e) => props.onSettings({ ...settings, cropToBox: e.target.checked })}
          />{' '}
          Crop to bounding box <span className="hint">(where the dataset has boxes; the recipe does not crop)</span>
        </label>
      </details>

      {view.phase !== 'idle' && (
        <>
          <progress max={1} value={fraction} aria-label="Embedding progress" />
          <dl className="stats">
            {view.cache && (
              <>
                <Stat label="Images" value={formatCount(view.cache.total)} />
                <Stat label="Already cached" value={formatCount(view.cache.cached)} testId="embed-cached" />
                <Stat label="To embed" value={formatCount(view.cache.missing)} testId="embed-missing" />
              </>
            )}
            {p && (
              <>
                <Stat
                  label={p.pass === 'cut' ? 'Cut maps cached (for fine-tuning)' : 'Embedded'}
                  value={`${formatCount(p.done)} / ${formatCount(p.total)}`}
                  testId="embed-done-count"
                />
                <Stat label="Speed" value={`${p.imagesPerSecond.toFixed(1)} images/s`} testId="embed-speed" />
                <Stat label="Time left" value={running ? formatSeconds(p.etaSeconds) : '—'} />
                <Stat label="Decode" value={`${p.decodeMsPerImage.toFixed(1)} ms/image · ${decodersInWords(p.decodeWorkers)}`} testId="embed-decode" />
              </>
            )}
          </dl>
        </>
      )}

      {view.restored && (
        <p className="hint" data-testid="embed-restored">
          Embedded in your last session: {formatCount(view.cache?.cached ?? 0)} images are in the cache. Embed again only after
          adding images.
        </p>
      )}

      {view.error && view.error.code !== 'model' && (
        <p className="error" role="alert" data-testid="embed-error" data-code={view.error.code}>
          {view.error.message}
        </p>
      )}

      {view.result && (
        <p data-testid="embed-result" data-embedded={view.result.embedded} data-cached={view.result.cached} data-failed={view.result.failed}>
          {view.result.cancelled ? 'Cancelled. ' : ''}
          Embedded {formatCount(view.result.embedded)} images ({formatCount(view.result.cached)} from the cache
          {view.result.failed ? `, ${formatCount(view.result.failed)} unreadable` : ''}) in {formatSeconds(view.result.seconds)}
          {view.result.embedded > 0 ? ` · ${view.result.imagesPerSecond.toFixed(1)} images/s` : ''}.
          {view.result.cutMaps && (
            <span data-testid="embed-cut-result" data-stored={view.result.cutMaps.stored} data-cached={view.result.cutMaps.cached}>
              {' '}
              Cut maps for fine-tuning at {view.result.cutMaps.layer} ({view.result.cutMaps.shape.join('×')}, float16,{' '}
              {formatBytes(view.result.cutMaps.bytesPerImage)} per image): {formatCount(view.result.cutMaps.stored)} stored now,{' '}
              {formatCount(view.result.cutMaps.cached)} from the cache.
            </span>
          )}
        </p>
      )}

      {view.problemCount > 0 && (
        <details className="problems" open>
          <summary>{formatCount(view.problemCount)} images could not be read</summary>
          <ul data-testid="embed-problems">
            {view.problems.map((p, i) => (
              <li key={i}>
                <code>{p.path}</code> — {p.message}
              </li>
            ))}
          </ul>
        </details>
      )}

      {view.metrics && (
        <div className="baseline" data-testid="baseline">
          <h3>
            Baseline: frozen encoder on the validation classes{view.metrics.fromCacheOnly ? ' (from the cache)' : ''}
          </h3>
          <dl className="stats">
            <Stat label="R-Precision" value={formatPercent(view.metrics.rPrecision)} testId="baseline-rprecision" />
            <Stat label="R-Precision (macro)" value={formatPercent(view.metrics.rPrecisionMacro)} />
            <Stat label="P@1" value={formatPercent(view.metrics.precisionAt1)} testId="baseline-p1" />
            <Stat label="MAP@R" value={formatPercent(view.metrics.mapAtR)} />
            <Stat
              label="On"
              value={`${formatCount(view.metrics.validationImages)} images of ${view.metrics.validationClasses} classes`}
              testId="baseline-on"
            />
          </dl>
          <p className="plain" data-testid="baseline-plain">
            {rPrecisionInWords(view.metrics.rPrecision, view.metrics.validationClasses)}
          </p>
        </div>
      )}
    </Panel>
  );
}
