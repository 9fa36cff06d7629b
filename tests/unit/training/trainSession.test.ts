import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random/randomSource';
import type { RunRecord, RunWeights } from '../../../src/storage/runHistory';
import type { TrainEvent, TrainRequest } from '../../../src/workers/trainProtocol';
import { TrainSession, type EmbeddingLookup, type TrainSessionDeps } from '../../../src/workers/trainSession';
import { buildEncoderTop } from '../../../src/core/encoder/encoderTop';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DIM = 8;

/** `classes` classes of `perClass` images; identity `c<class>/<i>`, vectors clustered per class. */
function dataset(classes: number, perClass: number, firstClass: number) {
  const random = seededRandom(firstClass + 1);
  const identities: string[] = [];
  const labels: number[] = [];
  const vectors = new Map<string, Float32Array>();
  for (let c = firstClass; c < firstClass + classes; c++) {
    const centre = Array.from({ length: DIM }, () => random.nextFloat() * 2 - 1);
    for (let i = 0; i < perClass; i++) {
      const id = `c${c}/${i}`;
      identities.push(id);
      labels.push(c);
      vectors.set(id, Float32Array.from(centre, (x) => x + 0.8 * (random.nextFloat() - 0.5)));
    }
  }
  return { images: { identities, labels: Int32Array.from(labels) }, vectors };
}

type StartRequest = Extract<TrainRequest, { type: 'start' }>;

function setup(
  opts: {
    trainClasses?: number;
    validationClasses?: number;
    config?: Record<string, unknown>;
    poison?: boolean;
    request?: Partial<StartRequest>;
    deps?: Partial<TrainSessionDeps>;
  } = {},
) {
  const train = dataset(opts.trainClasses ?? 6, 6, 0);
  const validation = dataset(opts.validationClasses ?? 4, 6, 100);
  const vectors = new Map([...train.vectors, ...validation.vectors]);
  if (opts.poison) vectors.get('c0/0')!.fill(NaN);
  const events: TrainEvent[] = [];
  const saved: { run: RunRecord; weights?: RunWeights }[] = [];
  const request: StartRequest = {
    type: 'start',
    runId: 'run-1',
    // recipe selection unless a test asks otherwise: these tests read the validation set's numbers
    config: { classesPerBatch: 4, imagesPerClass: 4, maxEpochs: 4, patience: 50, learningRate: 0.01, selection: { mode: 'recipe' }, ...opts.config },
    backend: 'cpu',
    about: { datasetName: 'toy', encoderName: 'toy encoder', split: { seed: 1, trainFraction: 0.5, mode: 'seeded' } },
    data: { preprocessingKey: 'key', featureSize: DIM, train: train.images, validation: validation.images },
    ...opts.request,
  };
  let session!: TrainSession;
  const onEvent: ((e: TrainEvent) => void)[] = [];
  session = new TrainSession(request, {
    post: (e) => {
      events.push(structuredClone(e));
      for (const f of onEvent) f(e);
    },
    chooseBackend: async () => 'cpu',
    readEmbeddings: async (_key, dim, identities): Promise<EmbeddingLookup> => {
      const found: number[] = [];
      const missing: number[] = [];
      identities.forEach((id, i) => (vectors.has(id) ? found : missing).push(i));
      const out = new Float32Array(found.length * dim);
      found.forEach((i, j) => out.set(vectors.get(identities[i])!, j * dim));
      return { found: Int32Array.from(found), vectors: out, missing };
    },
    store: { save: async (run, weights) => void saved.push(structuredClone({ run, weights })) },
    ...opts.deps,
  });
  return { session, events, saved, onEvent };
}

describe('TrainSession', () => {
  it('posts ready, one report per epoch and done; saves the run after every epoch with its best weights', async () => {
    const { session, events, saved } = setup();
    await session.run();
    const types = events.map((e) => e.type).filter((t) => t !== 'loading');
    expect(types).toEqual(['ready', 'epoch', 'epoch', 'epoch', 'epoch', 'done']);
    const ready = events.find((e) => e.type === 'ready')!;
    expect(ready).toMatchObject({ backend: 'cpu', trainImages: 36, trainClasses: 6, validationImages: 24, validationClasses: 4, missing: 0 });
    // one save when ready, one per epoch, one at the end
    expect(saved).toHaveLength(6);
    expect(saved.slice(1, 5).map((s) => s.run.history.length)).toEqual([1, 2, 3, 4]);
    expect(saved.slice(1, 5).every((s) => s.run.status === 'running')).toBe(true);
    const last = saved[saved.length - 1].run;
    expect(last).toMatchObject({ status: 'finished', stopReason: 'max-epochs' });
    expect(last.summary).toMatchObject({ epochsRun: 4, stopReason: 'max-epochs' });
    expect(last.summary!.tuned).not.toBeNull();
    const weightSaves = saved.filter((s) => s.weights);
    expect(weightSaves.length).toBeGreaterThan(0);
    expect(weightSaves[weightSaves.length - 1].weights!.epoch).toBe(last.bestEpoch);
    expect(Object.keys(weightSaves[0].weights!.weights).length).toBeGreaterThan(0);
  });

  it('in held-out selection, trains on the fit classes, chooses on the held-out ones and charts the validation classes', async () => {
    const { session, events, saved } = setup({ config: { selection: { mode: 'heldout', heldOutFraction: 0.2 } } });
    await session.run();
    const ready = events.find((e) => e.type === 'ready')!;
    // 6 training classes: 2 held out (at least 2), 4 train; the 4 validation classes are charted
    expect(ready).toMatchObject({ trainImages: 24, trainClasses: 4, validationImages: 24, validationClasses: 4 });
    expect(ready.type === 'ready' && ready.selection).toMatchObject({ mode: 'heldout', heldOutClasses: 2, heldOutImages: 12 });
    const reports = events.flatMap((e) => (e.type === 'epoch' ? [e.report] : []));
    expect(reports.every((r) => r.test && Number.isFinite(r.test.rPrecision))).toBe(true);
    const last = saved.at(-1)!.run;
    const best = last.history.find((r) => r.epoch === last.bestEpoch)!;
    expect(last.summary!.tuned).toEqual({
      rPrecision: best.test!.rPrecision,
      rPrecisionMacro: best.test!.rPrecisionMacro,
      precisionAt1: best.test!.precisionAt1,
      mapAtR: best.test!.mapAtR,
    });
    expect(last.summary!.selection).toMatchObject({ mode: 'heldout', heldOutTuned: { rPrecision: best.rPrecision } });
  });

  it('refuses fine-tuning the top when it cannot load the encoder, saying what to do', async () => {
    const { session, events } = setup({ config: { top: { blocks: 1 } } });
    await session.run();
    const last = events[events.length - 1];
    expect(last).toMatchObject({ type: 'error', code: 'input' });
    expect((last as { message: string }).message).toMatch(/set top.blocks to 0/);
  });

  /** A toy encoder top: cut map [2, 2, 4] -> 1x1 conv to DIM -> global average pool. */
  function toyTop() {
    const cutInput = tf.input({ shape: [2, 2, 3] });
    const cut = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'cut' }).apply(cutInput) as tf.SymbolicTensor;
    const expand = tf.layers.conv2d({ filters: DIM, kernelSize: 1, activation: 'relu', name: 'expand' }).apply(cut) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(expand) as tf.SymbolicTensor;
    const model = tf.model({ inputs: cutInput, outputs: pooled });
    return { model, top: buildEncoderTop(model, { cutLayer: 'cut', featureLayer: 'pool', pooling: 'none' }) };
  }

  /** Cached cut maps of 16 values, one per image, clustered by class; the last training image has none (left out). */
  function clusteredCuts(onRead: (cutKey: string) => void = () => undefined): NonNullable<TrainSessionDeps['readCuts']> {
    const random = seededRandom(7);
    const maps = new Map<string, Float32Array>();
    return async (cutKey, n, identities) => {
      onRead(cutKey);
      const found: number[] = [];
      const missing: number[] = [];
      identities.forEach((id, i) => (id === 'c5/5' ? missing : found).push(i));
      const out = new Float32Array(found.length * n);
      found.forEach((i, j) => {
        const id = identities[i];
        const c = Number(id.slice(1, id.indexOf('/')));
        if (!maps.has(id)) maps.set(id, Float32Array.from({ length: n }, (_, k) => Math.max(0, Math.sin(c * 1.7 + k) + 0.4 * (random.nextFloat() - 0.5))));
        out.set(maps.get(id)!, j * n);
      });
      expect(n).toBe(16);
      return { found: Int32Array.from(found), vectors: out, missing };
    };
  }

  it('fine-tunes a top with the head from cached cut maps: reports the cut and parameters, saves the top with the best epoch', async () => {
    const { model, top } = toyTop();
    const before = Float32Array.from(top.weights[0].variable.dataSync());
    const cutsAsked: string[] = [];
    let disposed = false;
    const { session, events, saved } = setup({
      config: { top: { blocks: 1, learningRate: 0.01 }, maxEpochs: 4 },
      deps: {
        loadTop: async () => ({ top, cutKey: 'key|cut=cut', dispose: () => void (disposed = true) }),
        readCuts: clusteredCuts((key) => cutsAsked.push(key)),
      },
    });
    await session.run();
    const ready = events.find((e) => e.type === 'ready');
    expect(ready?.type === 'ready' && ready.fineTuning).toMatchObject({
      blocks: 1,
      cut: 'cut',
      cutShape: [2, 2, 4],
      topLayers: 2,
      parameters: { top: 4 * DIM + DIM },
      formulation: 'layers',
      warmStart: false,
    });
    expect(ready?.type === 'ready' && ready.missing).toBe(1);
    expect(cutsAsked).toEqual(['key|cut=cut', 'key|cut=cut']);
    expect(events.at(-1)?.type).toBe('done');
    const last = saved.at(-1)!.run;
    expect(last.fineTuning?.cut).toBe('cut');
    const best = saved.filter((s) => s.weights).at(-1)!.weights!;
    expect(best.cut).toBe('cut');
    expect(Object.keys(best.top!)).toEqual(top.weights.map((w) => w.name));
    expect(Array.from(best.top![top.weights[0].name].data)).not.toEqual(Array.from(before));
    expect(disposed).toBe(true);
    model.dispose();
  });

  it("continues a fine-tuned run's head with its top: the rebuilt top starts from that top's weights; a top that does not fit is refused", async () => {
    const { model, top } = toyTop();
    const given = Object.fromEntries(top.weights.map((w) => [w.name, { shape: w.variable.shape, data: Float32Array.from({ length: w.variable.size }, (_, i) => 0.01 * (i % 7)) }]));
    let atStart: Float32Array | null = null;
    const read = clusteredCuts();
    const { session, events } = setup({
      config: { top: { blocks: 1 }, maxEpochs: 1 },
      request: { initialTopWeights: given },
      deps: {
        loadTop: async () => ({ top, cutKey: 'key|cut=cut', dispose: () => undefined }),
        // read after the top is built, before any step
        readCuts: async (key, n, ids) => ((atStart ??= Float32Array.from(top.weights[0].variable.dataSync())), read(key, n, ids)),
      },
    });
    await session.run();
    expect(events.at(-1)?.type).toBe('done');
    expect(Array.from(atStart!)).toEqual(Array.from(given[top.weights[0].name].data));

    const wrong = { ...given, 'extra/kernel': { shape: [1], data: new Float32Array(1) } };
    const refused = setup({
      config: { top: { blocks: 1 }, maxEpochs: 1 },
      request: { initialTopWeights: wrong },
      deps: { loadTop: async () => ({ top, cutKey: 'key|cut=cut', dispose: () => undefined }), readCuts: clusteredCuts() },
    });
    await refused.session.run();
    const end = refused.events.at(-1);
    expect(end?.type === 'error' && end.message).toMatch(/Cannot continue from that head's fine-tuned top: .*"extra\/kernel"/);
    model.dispose();
  });

  it('continues from initial weights (a loaded head) and records where the run started from', async () => {
    const first = setup();
    await first.session.run();
    const kept = first.saved.filter((s) => s.weights).at(-1)!.weights!;
    const firstRun = first.saved.at(-1)!.run;
    const loadedLoss = firstRun.history[kept.epoch - 1].validationLoss;
    const about = { ...firstRun.about, startedFrom: 'toy-head.zip' };
    const cont = setup({ config: { maxEpochs: 1 }, request: { initialWeights: kept.weights, about } });
    await cont.session.run();
    const run = cont.saved.at(-1)!.run;
    expect(run.status).toBe('finished');
    expect(run.about.startedFrom).toBe('toy-head.zip');
    const epoch1 = run.history[0].validationLoss;
    expect(Math.abs(epoch1 - loadedLoss)).toBeLessThan(Math.abs(epoch1 - firstRun.history[0].validationLoss));
  });

  it('pauses between epochs, resumes, and stop keeps the best epoch', async () => {
    const { session, events, onEvent } = setup({ config: { maxEpochs: 50 } });
    let resumed = false;
    onEvent.push((e) => {
      if (e.type === 'epoch' && e.report.epoch === 1) session.pause();
      if (e.type === 'paused') {
        setTimeout(() => {
          resumed = true;
          session.resume();
        }, 30);
      }
      if (e.type === 'epoch' && e.report.epoch === 3) session.stop();
    });
    await session.run();
    const types = events.map((e) => e.type).filter((t) => t !== 'loading');
    expect(types).toEqual(['ready', 'epoch', 'paused', 'resumed', 'epoch', 'epoch', 'done']);
    expect(resumed).toBe(true);
    const done = events[events.length - 1];
    expect(done.type === 'done' && done.summary).toMatchObject({ stopReason: 'stopped', epochsRun: 3 });
  });

  it('stops at once when stopped while paused', async () => {
    const { session, events, onEvent } = setup({ config: { maxEpochs: 50 } });
    onEvent.push((e) => {
      if (e.type === 'epoch') session.pause();
      if (e.type === 'paused') setTimeout(() => session.stop(), 10);
    });
    await session.run();
    const done = events[events.length - 1];
    expect(done.type === 'done' && done.summary).toMatchObject({ stopReason: 'stopped', epochsRun: 1 });
  });

  it('reports a non-finite loss clearly and keeps the run up to its last finished epoch', async () => {
    const { session, events, saved } = setup({ poison: true });
    await session.run();
    const done = events[events.length - 1];
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.summary.stopReason).toBe('non-finite-loss');
    expect(done.summary.error).toMatch(/loss became NaN.*lower learningRate/);
    const last = saved[saved.length - 1].run;
    expect(last.status).toBe('failed');
    expect(last.history.every((r) => Number.isFinite(r.trainLoss))).toBe(true);
  });

  it('refuses fewer than two training classes and no validation classes with the engine message', async () => {
    const one = setup({ trainClasses: 1 });
    await one.session.run();
    expect(one.events[one.events.length - 1]).toMatchObject({ type: 'error', code: 'data', epochsKept: 0 });
    expect((one.events[one.events.length - 1] as { message: string }).message).toMatch(/at least 2 classes/);
    expect(one.saved).toHaveLength(0);

    const none = setup({ validationClasses: 0 });
    await none.session.run();
    expect(none.events[none.events.length - 1]).toMatchObject({ type: 'error', code: 'data' });
    expect((none.events[none.events.length - 1] as { message: string }).message).toMatch(/No validation classes/);
  });

  it('refuses invalid settings before starting, naming the valid range', async () => {
    const { session, events } = setup({ config: { patience: 0 } });
    await session.run();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', code: 'input' });
    expect((events[0] as { message: string }).message).toMatch(/patience must be an integer ≥ 1/);
  });
});
