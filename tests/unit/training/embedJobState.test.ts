import { describe, expect, it } from 'vitest';
import { embedJobReducer, IDLE_JOB, type EmbedJobView } from '../../../src/app/embedding/embedJobState';

describe('embedding job view', () => {
  it('drops a load error once another encoder is chosen, and when a model loads', () => {
    const failed: EmbedJobView = { ...IDLE_JOB, phase: 'failed', error: { code: 'model', message: 'Could not load…' } };
    expect(embedJobReducer(failed, { type: 'encoder-changed' })).toMatchObject({ phase: 'idle', error: null });
    const running = embedJobReducer(failed, { type: 'start' });
    expect(running.error).toBeNull();
    const ready = embedJobReducer({ ...running, error: { code: 'model', message: 'x' } }, {
      type: 'event',
      event: { type: 'model-ready', jobId: 'j', encoder: {} as never },
    });
    expect(ready.error).toBeNull();
  });

  it('does not keep "Timing backends…" once timing ended', () => {
    const timing = embedJobReducer(IDLE_JOB, {
      type: 'event',
      event: { type: 'benchmark-figure', jobId: 'j', timing: { name: 'cpu', imagesPerSecond: 15.6, batchSize: 8 } as never },
    });
    expect(timing.stage).toMatch(/^Timing backends/);
    expect(embedJobReducer(timing, { type: 'timing-ended' }).stage).toBe('');
  });
});
