import { describe, expect, it } from 'vitest';
import { memoryFile } from '../../../src/core/data/datasetFile';
import { imageIdentity, loadDataset } from '../../../src/core/data/loadDataset';
import {
  fromManifest,
  readSession,
  SESSION_SCHEMA_VERSION,
  SessionFormatError,
  sameDataset,
  toManifest,
  toStoredRecord,
  type StoredSession,
} from '../../../src/app/session/sessionFormat';
import { defaultSettingsForm } from '../../../src/app/training/trainingSettings';

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xd9]);

async function loaded() {
  const files = [
    memoryFile('names.csv', 'Audi\nBMW\n'),
    memoryFile('anno_train.csv', 'a.jpg,1,2,30,40,1\nb.jpg,1,1,9,9,1\nc.jpg,2,2,20,20,2\nd.jpg,3,3,30,30,2\n'),
    ...['a', 'b', 'c', 'd'].map((n, i) => memoryFile(`${n}.jpg`, JPEG, 1_700_000_000_000 + i)),
  ];
  const dataset = await loadDataset(files);
  return { folderName: 'cars', fileCount: files.length, dataset, loadMs: 1 };
}

function session(over: Partial<StoredSession> = {}): StoredSession {
  return {
    version: SESSION_SCHEMA_VERSION,
    savedAt: 5,
    dataset: null,
    encoder: { kind: 'catalog', id: 'builtin-mobilenet-v2-1.0-224' },
    settings: {
      split: { seed: 7, trainFraction: 0.5, mode: 'seeded' },
      embed: { batchSize: 16, cropToBox: true },
      backend: 'wasm',
      train: { ...defaultSettingsForm(), maxEpochs: '3' },
      trainBackend: 'auto',
    },
    embedded: null,
    chosenRunId: 'run-1',
    folderHandle: null,
    ...over,
  };
}

describe('the saved session', () => {
  it('saves and restores the dataset manifest: paths, sizes, dates, labels, boxes, problems', async () => {
    const before = await loaded();
    const manifest = toManifest(before);
    // what IndexedDB does to a record: a structured clone (of the packed record the store writes)
    const stored = structuredClone(toStoredRecord(session({ dataset: manifest })));
    expect(typeof stored.dataset?.paths).toBe('string');
    expect(stored.dataset?.boxes).toBeInstanceOf(Float64Array);
    const restored = readSession(stored);
    expect(restored.dataset).toEqual(manifest);
    const after = fromManifest(restored.dataset!);
    expect(after.dataset.classNames).toEqual(before.dataset.classNames);
    expect(after.dataset.problems).toEqual(before.dataset.problems);
    expect(after.dataset.images.map((i) => [imageIdentity(i.file), i.classId, i.half, i.bbox])).toEqual(
      before.dataset.images.map((i) => [imageIdentity(i.file), i.classId, i.half, i.bbox]),
    );
    expect(sameDataset(manifest, before.dataset)).toBe(true);
    // the restored files know their identity, not their bytes
    await expect(after.dataset.images[0].file.arrayBuffer()).rejects.toThrow(/a\.jpg is not connected: reconnect the dataset folder or drop it again/);
    expect(restored.settings.train.maxEpochs).toBe('3');
    expect(restored.chosenRunId).toBe('run-1');
  });

  it('tells the same folder dropped again from a changed one (path, size, date)', async () => {
    const a = await loaded();
    const manifest = toManifest(a);
    const touched = { ...manifest, dates: manifest.dates.map((d, i) => (i === 2 ? d + 1 : d)) };
    expect(sameDataset(touched, a.dataset)).toBe(false);
    expect(sameDataset({ ...manifest, paths: [...manifest.paths].reverse() }, a.dataset)).toBe(false);
  });

  it('upgrades a version-1 record (settings at the top level)', () => {
    const s = session();
    const v1 = { version: 1, savedAt: 1, dataset: null, encoder: s.encoder, embedded: null, chosenRunId: null, folderHandle: null, ...s.settings };
    const upgraded = readSession(v1);
    expect(upgraded.version).toBe(SESSION_SCHEMA_VERSION);
    expect(upgraded.settings).toEqual(s.settings);
  });

  it('upgrades a version-2 record (the manifest as plain arrays) to the packed one, refusing a damaged one', async () => {
    const manifest = toManifest(await loaded());
    const v2 = { ...session({ dataset: manifest }), version: 2 };
    const upgraded = readSession(structuredClone(v2));
    expect(upgraded.version).toBe(SESSION_SCHEMA_VERSION);
    expect(upgraded.dataset).toEqual(manifest);
    expect(() => readSession({ ...v2, dataset: { ...manifest, sizes: [1] } })).toThrow(/damaged: the file sizes do not match the file list/);
    expect(() => readSession({ ...v2, dataset: { paths: 'not a list' } })).toThrow(/damaged: the dataset has no file list/);
  });

  it('refuses a corrupt record with a message that says what is wrong', async () => {
    const manifest = toStoredRecord(session({ dataset: toManifest(await loaded()) })).dataset!;
    const cases: [unknown, RegExp][] = [
      ['garbage', /not a record/],
      [{ ...session(), version: 'two' }, /no valid schema version/],
      [{ ...session(), version: 99 }, /from a newer version of the studio \(schema 99/],
      [{ ...session(), dataset: { ...manifest, sizes: new Float64Array(1) } }, /damaged: the file sizes do not match the file list/],
      [{ ...session(), dataset: { ...manifest, sizes: [1, 2, 3, 4] } }, /damaged: the dataset has no file list/],
      [{ ...session(), dataset: { ...manifest, classIds: manifest.classIds.map(() => 9) } }, /damaged: the labels do not match/],
      [{ ...session(), dataset: { ...manifest, boxes: new Float64Array(3) } }, /damaged: the boxes do not match the file list/],
      [{ ...session(), encoder: { kind: 'files', folder: { name: 'm', files: [{ path: 'model.json', file: 'x' }] } } }, /damaged: the dropped model folder is incomplete/],
      [{ ...session(), settings: { ...session().settings, split: null } }, /damaged: the class split settings are incomplete/],
      [{ ...session(), embedded: { nope: 1 } }, /damaged: the embedding summary is incomplete/],
    ];
    for (const [raw, message] of cases) {
      expect(() => readSession(raw)).toThrow(SessionFormatError);
      expect(() => readSession(raw)).toThrow(message);
    }
  });
});
