/// <reference lib="webworker" />
// Module worker for tests/e2e/fineTuneBackends.test.ts: runs fineTuneLosses off the page, as the studio's train worker would.
import { fineTuneLosses } from './fineTuneSteps';
import type { BackendName } from '../../../src/workers/embedProtocol';

self.onmessage = (e: MessageEvent<{ backend: BackendName; url: string }>) => {
  fineTuneLosses(e.data.backend, e.data.url).then(
    (result) => self.postMessage({ result }),
    (error: unknown) => self.postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) }),
  );
};
