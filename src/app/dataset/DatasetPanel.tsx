import { useMemo, useState } from 'react';
import type { ClassSplit } from '../../core/data/classSplit';
import { formatCount } from '../format';
import { Folded } from '../shell/Folded';
import { Panel, Stat } from '../shell/Panel';
import { problemKind } from '../../core/data/dataset';
import { ClassGallery } from './ClassGallery';
import { problemSummary } from './problemSummary';
import { readHandle, requestFolderPermission, type PickedFolder } from './folderFiles';
import { SplitSettings, type SplitSettingsValue } from './SplitSettings';
import type { DatasetLoadState } from './useDatasetLoader';

const LAYOUT_NAMES = { devkit: 'Stanford Cars devkit', 'class-folders': 'one folder per class', csv: 'CSV labels' } as const;
const PROBLEMS_SHOWN = 200;

/** The decoder's reason without the "Cannot decode <path>: " it starts with. */
function decodeReason(p: { path: string; message: string }): string {
  const prefix = `Cannot decode ${p.path}: `;
  return (p.message.startsWith(prefix) ? p.message.slice(prefix.length) : p.message).replace(/\.$/, '');
}

export function DatasetPanel(props: {
  state: DatasetLoadState;
  split: ClassSplit | null;
  splitSettings: SplitSettingsValue;
  onSplitSettings: (v: SplitSettingsValue) => void;
  /** Whether the image files are in this page, or only the saved manifest. */
  filesConnected: boolean;
  /** The dropped folder's handle, to reconnect it after a reload. */
  folderHandle: FileSystemDirectoryHandle | null;
  onReconnected: (folder: Promise<PickedFolder>) => void;
  /** Images the embedding could not decode (they join the report after embedding). */
  decodeFailures: { path: string; message: string }[];
  decodeFailureCount: number;
}) {
  const { state, split } = props;
  const [reconnecting, setReconnecting] = useState(false);
  const [reconnectError, setReconnectError] = useState<string | null>(null);
  const reconnect = async (handle: FileSystemDirectoryHandle) => {
    setReconnecting(true);
    setReconnectError(null);
    try {
      const answer = await requestFolderPermission(handle);
      if (answer === 'granted') props.onReconnected(readHandle(handle));
      else setReconnectError(answer === 'unsupported' ? 'This browser cannot reconnect a folder: drop it again.' : 'Permission to read the folder was not given: drop it again instead.');
    } catch (e) {
      setReconnectError(`Could not reconnect the folder (${e instanceof Error ? e.message : String(e)}): drop it again instead.`);
    } finally {
      setReconnecting(false);
    }
  };
  const loaded = state.phase === 'ready' ? state.loaded : null;

  const counts = useMemo(() => {
    if (!loaded || !split) return null;
    const train = new Set(split.trainClasses);
    let trainImages = 0;
    for (const img of loaded.dataset.images) if (train.has(img.classId)) trainImages += 1;
    return { train, trainImages, validationImages: loaded.dataset.images.length - trainImages };
  }, [loaded, split]);

  const problemCount = (loaded?.dataset.problems.length ?? 0) + props.decodeFailureCount;

  const status =
    state.phase === 'reading'
      ? `Reading folder… ${formatCount(state.filesFound)} files`
      : state.phase === 'detecting'
        ? `Detecting layout of ${formatCount(state.fileCount)} files…`
        : state.phase === 'ready'
          ? `${state.loaded.folderName || 'dropped files'} · ${formatCount(state.loaded.fileCount)} files`
          : null;

  return (
    <Panel id="dataset" title="Dataset" status={status}>
      {loaded && !props.filesConnected && (
        <div className="notice" data-testid="dataset-not-connected">
          <p className="hint">
            Restored from your last session: training, search and the map work from the browser’s storage. Only new
            embeddings need the image files: reconnect the folder, or drop it again (files are matched by path, size and date,
            so nothing is embedded twice).
          </p>
          {props.folderHandle && (
            <div className="row">
              <button type="button" data-testid="dataset-reconnect" disabled={reconnecting} onClick={() => void reconnect(props.folderHandle!)}>
                Reconnect folder “{props.folderHandle.name}”
              </button>
              {reconnecting && <span className="hint">Waiting for your permission to read the folder…</span>}
            </div>
          )}
          {reconnectError && (
            <p className="error" role="alert" data-testid="dataset-reconnect-error">
              {reconnectError}
            </p>
          )}
        </div>
      )}

      {state.phase === 'failed' && (
        <p className="error" role="alert" data-testid="dataset-error">
          {state.folderName ? `${state.folderName}: ` : ''}
          {state.message}
        </p>
      )}

      {loaded && split && counts && (
        <>
          <dl className="stats">
            <Stat label="Layout" value={LAYOUT_NAMES[loaded.dataset.layout]} testId="dataset-layout" />
            <Stat label="Images" value={formatCount(loaded.dataset.images.length)} testId="dataset-images" />
            <Stat label="Classes" value={formatCount(loaded.dataset.classNames.length)} testId="dataset-classes" />
            <Stat
              label="Training"
              value={`${split.trainClasses.length} classes · ${formatCount(counts.trainImages)} images`}
              testId="dataset-train"
            />
            <Stat
              label="Validation"
              value={`${split.validationClasses.length} classes · ${formatCount(counts.validationImages)} images`}
              testId="dataset-validation"
            />
            <Stat label="Problems" value={formatCount(problemCount)} testId="dataset-problem-count" />
          </dl>

          <details className="advanced" data-testid="split-advanced">
            <summary>Advanced: how the classes are split</summary>
            <p className="hint">
              Half of the classes train the head; the other half, never seen in training, measure it (as in the recipe). The
              seed picks which.
            </p>
            <SplitSettings value={props.splitSettings} onChange={props.onSplitSettings} />
          </details>

          <details className="class-lists">
            <summary>Class lists</summary>
            <div className="two-columns">
              <div>
                <h3>Training ({split.trainClasses.length})</h3>
                <ol data-testid="train-class-list">
                  {split.trainClasses.map((c) => (
                    <li key={c}>{loaded.dataset.classNames[c]}</li>
                  ))}
                </ol>
              </div>
              <div>
                <h3>Validation ({split.validationClasses.length})</h3>
                <ol data-testid="validation-class-list">
                  {split.validationClasses.map((c) => (
                    <li key={c}>{loaded.dataset.classNames[c]}</li>
                  ))}
                </ol>
              </div>
            </div>
          </details>

          {problemCount > 0 && (
            <details className="problems" open={problemCount <= 20}>
              <summary data-testid="dataset-problem-summary">
                {problemSummary(loaded.dataset.problems, props.decodeFailureCount)}
              </summary>
              <ul data-testid="dataset-problems">
                {loaded.dataset.problems.slice(0, PROBLEMS_SHOWN).map((p, i) => (
                  <li key={i} data-kind={problemKind(p)}>
                    {p.path && (
                      <>
                        <code>{p.path}</code> —{' '}
                      </>
                    )}
                    {p.message}
                  </li>
                ))}
                {props.decodeFailures.map((p, i) => (
                  <li key={`decode-${i}`} data-kind="left-out">
                    <code>{p.path}</code> — Could not be decoded ({decodeReason(p)}); left out.
                  </li>
                ))}
              </ul>
              {loaded.dataset.problems.length > PROBLEMS_SHOWN && (
                <p className="muted">and {formatCount(loaded.dataset.problems.length - PROBLEMS_SHOWN)} more</p>
              )}
            </details>
          )}

          <Folded className="gallery" summary="Sample images per class">
            {() => <ClassGallery dataset={loaded.dataset} trainClasses={counts.train} />}
          </Folded>
        </>
      )}
    </Panel>
  );
}
