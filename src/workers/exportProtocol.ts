/**
 * Messages between the page and the export worker, which builds the downloads that need
 * the weights or a zip of megabytes (off the page's thread: a click stays instant).
 *
 *   head-zip -> zipped;  zip -> zipped;  any -> error
 */
import type { RunRecord } from '../storage/runHistory';
import type { RetrievalSummary } from './trainProtocol';

export type ExportRequest =
  /** A run's head as `<run>-head.zip`: the worker reads its best epoch's weights from the run history. */
  | { type: 'head-zip'; reqId: string; run: RunRecord; encoderCard: Record<string, unknown>; tuned: RetrievalSummary | null }
  /** Files (path -> bytes, transferred) stored in one zip. */
  | { type: 'zip'; reqId: string; name: string; files: Record<string, Uint8Array> };

export type ExportEvent =
  | { type: 'zipped'; reqId: string; name: string; blob: Blob }
  | { type: 'error'; reqId: string; message: string };
