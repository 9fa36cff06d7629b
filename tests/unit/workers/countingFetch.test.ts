import { describe, expect, it } from 'vitest';
import { downloadStage } from '../../../src/app/embedding/embedJobState';
import { countingFetch } from '../../../src/workers/countingFetch';

describe('download progress', () => {
  it('counts the bytes of each response as it streams, across files, and keeps the bodies intact', async () => {
    const seen: number[] = [];
    const f = countingFetch((n) => seen.push(n));
    const a = await (await f('data:application/octet-stream;base64,' + Buffer.from('hello world').toString('base64'))).text();
    const b = new Uint8Array(await (await f('data:application/octet-stream;base64,' + Buffer.alloc(1000, 7).toString('base64'))).arrayBuffer());
    expect(a).toBe('hello world');
    expect(b.length).toBe(1000);
    expect(b.every((x) => x === 7)).toBe(true);
    expect(seen[seen.length - 1]).toBe(1011);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  it('says bytes, rate and time left when the size is known, and what it can when not', () => {
    expect(downloadStage(0.3, { received: 1_200_000, total: 3_500_000, seconds: 1.5 })).toBe(
      'Downloading the model… 1.2 of 3.5 MB, 0.8 MB/s, about 3 s left',
    );
    expect(downloadStage(0.5, { received: 2_000_000, total: null, seconds: 2 })).toBe('Downloading the model… 2.0 MB, 1.0 MB/s');
    expect(downloadStage(0.25)).toBe('Downloading the model… 25%');
  });
});
