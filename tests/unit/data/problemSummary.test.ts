import { describe, expect, it } from 'vitest';
import { problemSummary } from '../../../src/app/dataset/problemSummary';

describe('problem report summary', () => {
  it('counts left-out, undecodable, ignored and noted apart, in correct plurals', () => {
    expect(
      problemSummary(
        [
          { path: 'a.txt', message: 'Not an image (.txt); ignored.' },
          { path: '', kind: 'ignored', files: 3, message: '.DS_Store: 3 system files ignored.' },
          { path: 'b.jpg', kind: 'note', message: 'Class "B" has a single image: …' },
        ],
        2,
      ),
    ).toBe('1 file or folder left out · 2 images could not be decoded · 3 system files ignored · 1 note');
    expect(problemSummary([{ path: '', kind: 'ignored', files: 1, message: '' }], 1)).toBe('1 image could not be decoded · 1 system file ignored');
    expect(problemSummary([], 0)).toBe('');
  });
});
