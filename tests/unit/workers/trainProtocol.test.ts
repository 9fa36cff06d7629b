import { describe, expect, it } from 'vitest';
import { TrainClient, type TrainWorkerLike } from '../../../src/workers/trainClient';
import type { TrainEvent, TrainRequest } from '../../../src/workers/trainProtocol';
import { isTerminalTrainEvent, trainRequestProblem } from '../../../src/workers/trainProtocol';
import { epochReport as report } from '../../support/epochReport';

function startRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'start',
    runId: 'r1',
    config: { maxEpochs: 3 },
    backend: 'wasm',
    about: { datasetName: 'cars', encoderName: 'm', split: { seed: 42, trainFraction: 0.5, mode: 'seeded' } },
    data: {
      preprocessingKey: 'k',
      featureSize: 4,
      train: { identities: ['a', 'b'], labels: Int32Array.from([0, 1]) },
      validation: { identities: ['c'], labels: Int32Array.from([2]) },
    },
    ...overrides,
  };
}

describe('trainRequestProblem', () => {
  it('accepts well-formed requests', () => {
    expect(trainRequestProblem(startRequest())).toBeNull();
    for (const type of ['pause', 'resume', 'stop']) expect(trainRequestProblem({ type, runId: 'r1' })).toBeNull();
  });

  it('refuses malformed messages with a reason', () => {
    expect(trainRequestProblem(null)).toMatch(/object/);
    expect(trainRequestProblem({ type: 'pause' })).toMatch(/runId/);
    expect(trainRequestProblem({ type: 'jump', runId: 'r' })).toMatch(/unknown request type "jump".*start, pause, resume or stop/);
    expect(trainRequestProblem(startRequest({ backend: 'tpu' }))).toMatch(/backend must be 'auto'/);
    expect(trainRequestProblem(startRequest({ data: undefined }))).toMatch(/needs data/);
    const data = startRequest().data as Record<string, unknown>;
    expect(trainRequestProblem(startRequest({ data: { ...data, featureSize: 0 } }))).toMatch(/featureSize/);
    expect(
      trainRequestProblem(startRequest({ data: { ...data, train: { identities: ['a'], labels: Int32Array.from([0, 1]) } } })),
    ).toMatch(/1 identities but 2 labels/);
    expect(trainRequestProblem(startRequest({ data: { ...data, validation: { identities: [], labels: [] } } }))).toMatch(/Int32Array/);
  });

  it("checks the settings with the engine's validation, naming the valid range", () => {
    expect(trainRequestProblem(startRequest({ config: { learningRate: 0 } }))).toMatch(/learningRate must be > 0 and ≤ 1, got 0/);
    expect(trainRequestProblem(startRequest({ config: { loss: { mining: 'easy' } } }))).toMatch(/loss.mining must be one of 'hard', 'all', 'semi_hard'/);
  });

  it('fine-tuning the top needs the encoder (the worker loads it)', () => {
    expect(trainRequestProblem(startRequest({ config: { top: { blocks: 1 } } }))).toMatch(/top.blocks 1\) needs the encoder/);
    expect(trainRequestProblem(startRequest({ config: { top: { blocks: 1 } }, encoder: { kind: 'url', url: 'https://x/model.json' } }))).toBeNull();
  });

  it('checks the weights to continue from against the head and the feature size', () => {
    const w = (n: number) => ({
      gates_0: { shape: [n], data: new Float32Array(n) },
      'fc_0.weight': { shape: [n, n], data: new Float32Array(n * n) },
      'fc_0.bias': { shape: [n], data: new Float32Array(n) },
    });
    expect(trainRequestProblem(startRequest({ initialWeights: w(4) }))).toBeNull();
    expect(trainRequestProblem(startRequest({ initialWeights: w(8) }))).toMatch(
      /does not fit: initialWeights\['gates_0'\] must have shape \[4\] \(this head's\), got \[8\]/,
    );
    expect(trainRequestProblem(startRequest({ initialWeights: w(4), config: { head: { kind: 'identity' } } }))).toMatch(/identity head has no weights/);
    // a fine-tuned run's top comes with its head, and only into a run that fine-tunes
    const top = { 'conv/kernel': { shape: [1, 1, 2, 2], data: new Float32Array(4) } };
    const fineTuning = { config: { top: { blocks: 1 } }, encoder: { kind: 'url', url: 'https://x/model.json' } };
    expect(trainRequestProblem(startRequest({ ...fineTuning, initialWeights: w(4), initialTopWeights: top }))).toBeNull();
    expect(trainRequestProblem(startRequest({ ...fineTuning, initialTopWeights: top }))).toMatch(/come with the head they belong to/);
    expect(trainRequestProblem(startRequest({ initialWeights: w(4), initialTopWeights: top }))).toMatch(/need fine-tuning \(top.blocks ≥ 1\)/);
  });

  it('knows the terminal events', () => {
    expect(isTerminalTrainEvent({ type: 'done', runId: 'r' } as TrainEvent)).toBe(true);
    expect(isTerminalTrainEvent({ type: 'error', runId: 'r', code: 'failed', message: '', epochsKept: 0 })).toBe(true);
    expect(isTerminalTrainEvent({ type: 'paused', runId: 'r', epoch: 1 })).toBe(false);
  });
});

class FakeWorker implements TrainWorkerLike {
  sent: TrainRequest[] = [];
  terminated = false;
  private readonly listeners: Record<string, ((e: never) => void)[]> = { message: [], error: [] };
  postMessage(message: TrainRequest): void {
    this.sent.push(message);
  }
  addEventListener(type: 'message' | 'error', listener: (e: never) => void): void {
    this.listeners[type].push(listener);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(event: TrainEvent): void {
    for (const l of this.listeners.message) l({ data: event } as never);
  }
  crash(message: string): void {
    for (const l of this.listeners.error) l({ message } as never);
  }
}


describe('TrainClient', () => {
  it('starts the worker on first use, forwards events and resolves with the terminal one', async () => {
    const workers: FakeWorker[] = [];
    const client = new TrainClient(() => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    });
    expect(workers).toHaveLength(0);
    const seen: string[] = [];
    const done = client.start(startRequest() as Extract<TrainRequest, { type: 'start' }>, (e) => seen.push(e.type));
    const w = workers[0];
    expect(w.sent[0].type).toBe('start');
    expect(client.activeRunId).toBe('r1');
    client.pause();
    client.resume();
    client.stop();
    expect(w.sent.map((m) => m.type)).toEqual(['start', 'pause', 'resume', 'stop']);
    w.emit({ type: 'epoch', runId: 'other', report: report(1), bestEpoch: 1 }); // another run's: ignored
    w.emit({ type: 'epoch', runId: 'r1', report: report(1), bestEpoch: 1 });
    const summary = { stopReason: 'stopped' as const, epochsRun: 1, bestEpoch: 1, seconds: 0.1, baseline: report(1), tuned: report(1) };
    w.emit({ type: 'done', runId: 'r1', summary });
    await expect(done).resolves.toMatchObject({ type: 'done' });
    expect(seen).toEqual(['epoch', 'done']);
    expect(client.activeRunId).toBeNull();
  });

  it('refuses a second run while one trains', async () => {
    const client = new TrainClient(() => new FakeWorker());
    void client.start(startRequest() as Extract<TrainRequest, { type: 'start' }>);
    await expect(client.start(startRequest({ runId: 'r2' }) as Extract<TrainRequest, { type: 'start' }>)).rejects.toThrow(
      /still training/,
    );
  });

  it("turns a worker crash into an error event that says how many epochs were kept, and starts a new worker next time", async () => {
    const workers: FakeWorker[] = [];
    const client = new TrainClient(() => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    });
    const events: TrainEvent[] = [];
    const done = client.start(startRequest() as Extract<TrainRequest, { type: 'start' }>, (e) => events.push(e));
    workers[0].emit({ type: 'epoch', runId: 'r1', report: report(1), bestEpoch: 1 });
    workers[0].emit({ type: 'epoch', runId: 'r1', report: report(2), bestEpoch: 2 });
    workers[0].crash('out of memory');
    const end = await done;
    expect(end).toMatchObject({ type: 'error', code: 'crashed', epochsKept: 2 });
    expect(end.type === 'error' && end.message).toMatch(/crashed: out of memory.*last finished epoch \(2\)/);
    expect(workers[0].terminated).toBe(true);
    void client.start(startRequest({ runId: 'r2' }) as Extract<TrainRequest, { type: 'start' }>);
    expect(workers).toHaveLength(2);
  });
});
