/// <reference lib="webworker" />
/** The export worker: builds a run's head zip or zips given files, and hands back a Blob. */
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { RunHistory } from '../storage/runHistory';
import type { ExportEvent, ExportRequest } from './exportProtocol';
import { headZip } from './headArchive';

declare const self: DedicatedWorkerGlobalScope;

let history: Promise<RunHistory> | null = null;
let cpu: Promise<unknown> | null = null;

async function zipOf(request: ExportRequest): Promise<{ name: string; bytes: Uint8Array }> {
  if (request.type === 'zip') return { name: request.name, bytes: zipSync(request.files, { level: 0 }) };
  history ??= RunHistory.open();
  const stored = await (await history).weights(request.run.id);
  if (!stored) throw new Error('This run has no stored head weights.');
  // the head's TF.js layers model is built here only to be serialised: the CPU backend is enough
  cpu ??= tf.setBackend('cpu').then(() => tf.ready());
  await cpu;
  const top = stored.top ? { weights: stored.top, cut: stored.cut ?? request.run.fineTuning?.cut ?? '', epoch: stored.epoch } : undefined;
  return headZip(request.run, stored.weights, request.encoderCard, request.tuned, top);
}

self.addEventListener('message', (e: MessageEvent<ExportRequest>) => {
  const request = e.data;
  void zipOf(request).then(
    ({ name, bytes }) => self.postMessage({ type: 'zipped', reqId: request.reqId, name, blob: new Blob([bytes as BlobPart], { type: 'application/zip' }) } satisfies ExportEvent),
    (err: unknown) => self.postMessage({ type: 'error', reqId: request.reqId, message: err instanceof Error ? err.message : String(err) } satisfies ExportEvent),
  );
});
