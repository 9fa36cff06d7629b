import { describe, expect, it } from 'vitest';
import { IDLE_RUN, isLive, trainRunReducer, type TrainRunAction } from '../../../src/app/training/trainRunState';
import type { TrainEvent } from '../../../src/workers/trainProtocol';
import { epochReport as report } from '../../support/epochReport';

const ev = (event: TrainEvent): TrainRunAction => ({ type: 'event', event });

describe('trainRunReducer', () => {
  it('follows a run: one history entry per finished epoch, pause and resume, summary at the end', () => {
    let v = trainRunReducer(IDLE_RUN, { type: 'start', runId: 'r' });
    expect(v.phase).toBe('starting');
    v = trainRunReducer(v, ev({ type: 'ready', runId: 'r' } as TrainEvent));
    expect(v.phase).toBe('running');
    v = trainRunReducer(v, ev({ type: 'epoch', runId: 'r', report: report(1), bestEpoch: 1 }));
    v = trainRunReducer(v, ev({ type: 'epoch', runId: 'other', report: report(9), bestEpoch: 9 }));
    expect(v.history.map((r) => r.epoch)).toEqual([1]);
    v = trainRunReducer(v, { type: 'pause' });
    expect(v.phase).toBe('pausing');
    expect(isLive(v)).toBe(true);
    v = trainRunReducer(v, ev({ type: 'epoch', runId: 'r', report: report(2), bestEpoch: 1 }));
    v = trainRunReducer(v, ev({ type: 'paused', runId: 'r', epoch: 2 }));
    expect(v.phase).toBe('paused');
    v = trainRunReducer(v, { type: 'resume' });
    expect(v.phase).toBe('running');
    v = trainRunReducer(v, ev({ type: 'epoch', runId: 'r', report: report(3, { trainLoss: NaN, error: 'loss became NaN' }), bestEpoch: 1 }));
    expect(v.history).toHaveLength(2);
    v = trainRunReducer(v, ev({
      type: 'done',
      runId: 'r',
      summary: { stopReason: 'non-finite-loss', epochsRun: 2, bestEpoch: 1, seconds: 1, baseline: report(0), tuned: report(1), error: 'loss became NaN' },
    }));
    expect(v.phase).toBe('failed');
    expect(v.error?.message).toMatch(/NaN/);
    expect(isLive(v)).toBe(false);
  });

  it('shows worker and client errors', () => {
    let v = trainRunReducer(IDLE_RUN, { type: 'start', runId: 'r' });
    v = trainRunReducer(v, ev({ type: 'error', runId: 'r', code: 'crashed', message: 'The training worker crashed', epochsKept: 3 }));
    expect(v).toMatchObject({ phase: 'failed', error: { code: 'crashed' } });
    v = trainRunReducer(trainRunReducer(IDLE_RUN, { type: 'start', runId: 'r' }), { type: 'client-error', message: 'boom' });
    expect(v).toMatchObject({ phase: 'failed', error: { code: 'client', message: 'boom' } });
  });
});
