/** The page's handle on the export worker (started on first use): one request, one Blob back. */
import type { ExportEvent, ExportRequest } from './exportProtocol';

type Without<T> = T extends unknown ? Omit<T, 'reqId'> : never;

let worker: Worker | null = null;
let next = 0;
const pending = new Map<string, { resolve: (z: { name: string; blob: Blob }) => void; reject: (e: Error) => void }>();

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./exportWorker.ts', import.meta.url), { type: 'module', name: 'export' });
  w.addEventListener('message', (e: MessageEvent<ExportEvent>) => {
    const p = pending.get(e.data.reqId);
    if (!p) return;
    pending.delete(e.data.reqId);
    if (e.data.type === 'error') p.reject(new Error(e.data.message));
    else p.resolve({ name: e.data.name, blob: e.data.blob });
  });
  w.addEventListener('error', (e: ErrorEvent) => {
    for (const p of pending.values()) p.reject(new Error(`The export worker crashed: ${e.message || 'unknown error'}`));
    pending.clear();
    w.terminate();
    worker = null;
  });
  worker = w;
  return w;
}

/** Sends one request (a zip's file bytes are transferred: the caller gives them up). */
export function exportZip(body: Without<ExportRequest>): Promise<{ name: string; blob: Blob }> {
  const reqId = `x${++next}`;
  const transfer = body.type === 'zip' ? [...new Set(Object.values(body.files).map((b) => b.buffer))].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) : [];
  return new Promise((resolve, reject) => {
    pending.set(reqId, { resolve, reject });
    ensureWorker().postMessage({ ...body, reqId }, transfer);
  });
}
