import type { io } from '@tensorflow/tfjs-core';
import { openStudioDb, type StoredModel, type StoredModelInfo, type StudioDb } from './studioDb';

/** Bytes of a model's artifacts: topology JSON, weight manifest and weight data. */
export function artifactBytes(artifacts: io.ModelArtifacts): number {
  const data = artifacts.weightData;
  const weights = data === undefined ? 0 : Array.isArray(data) ? data.reduce((s, b) => s + b.byteLength, 0) : data.byteLength;
  return weights + JSON.stringify(artifacts.modelTopology ?? null).length + JSON.stringify(artifacts.weightSpecs ?? []).length;
}

/**
 * Downloaded models, by the URL of their model.json, so that a catalog model works
 * offline once fetched. The artifacts are what tfjs's http loader returns; the light
 * `modelInfo` records let the cache panel list models without reading weights.
 */
export class ModelStore {
  constructor(private readonly db: StudioDb) {}

  static async open(): Promise<ModelStore> {
    return new ModelStore(await openStudioDb());
  }

  async get(url: string): Promise<StoredModel | undefined> {
    return this.db.get('models', url);
  }

  async put(url: string, name: string, artifacts: io.ModelArtifacts): Promise<StoredModelInfo> {
    const info: StoredModelInfo = { url, name, bytes: artifactBytes(artifacts), savedAt: Date.now() };
    const tx = this.db.transaction(['models', 'modelInfo'], 'readwrite');
    void tx.objectStore('models').put({ ...info, artifacts });
    void tx.objectStore('modelInfo').put(info);
    await tx.done;
    return info;
  }

  async list(): Promise<StoredModelInfo[]> {
    return this.db.getAll('modelInfo');
  }

  async delete(url: string): Promise<void> {
    const tx = this.db.transaction(['models', 'modelInfo'], 'readwrite');
    void tx.objectStore('models').delete(url);
    void tx.objectStore('modelInfo').delete(url);
    await tx.done;
  }

  close(): void {
    this.db.close();
  }
}
