import { describe, expect, it } from 'vitest';
import { encodeUploadMetadata, MIN_PART_SIZE, partBoundaries, supportsConcatenation } from './parallel.js';

const MiB = 2 ** 20;

describe('partBoundaries', () => {
  it('splits into contiguous parts of at least 5 MiB (all but the last)', () => {
    for (const size of [0, 1, 5 * MiB, 10 * MiB - 1, 10 * MiB, 12 * MiB, 24 * MiB, 30 * MiB + 5, 1000 * MiB + 3]) {
      for (const requested of [1, 2, 3, 4, 8, 16]) {
        const parts = partBoundaries(size, requested);
        expect(parts.length).toBeGreaterThanOrEqual(1);
        expect(parts.length).toBeLessThanOrEqual(requested);
        expect(parts[0]!.start).toBe(0);
        expect(parts.at(-1)!.end).toBe(size);
        parts.forEach((part, i) => {
          if (i > 0) expect(part.start).toBe(parts[i - 1]!.end);
          if (parts.length > 1) expect(part.end - part.start).toBeGreaterThanOrEqual(MIN_PART_SIZE);
        });
      }
    }
  });

  it('uses fewer parts when the file is too small for the requested number', () => {
    expect(partBoundaries(24 * MiB, 4)).toEqual([0, 1, 2, 3].map((i) => ({ start: i * 6 * MiB, end: (i + 1) * 6 * MiB })));
    expect(partBoundaries(12 * MiB, 4)).toHaveLength(2);
    expect(partBoundaries(9 * MiB, 4)).toEqual([{ start: 0, end: 9 * MiB }]);
    expect(partBoundaries(100 * MiB, 1)).toHaveLength(1);
  });
});

describe('supportsConcatenation', () => {
  it('reads the Tus-Extension header', () => {
    expect(supportsConcatenation('creation,creation-with-upload,termination,expiration,concatenation')).toBe(true);
    expect(supportsConcatenation(' creation , Concatenation ')).toBe(true);
    expect(supportsConcatenation('creation,concatenation-unfinished')).toBe(false);
    expect(supportsConcatenation(null)).toBe(false);
  });
});

describe('encodeUploadMetadata', () => {
  it('encodes keys with base64 UTF-8 values, as tus-js-client does', () => {
    expect(encodeUploadMetadata({ filename: 'für.txt', filetype: 'text/plain' })).toBe(
      `filename ${Buffer.from('für.txt').toString('base64')},filetype ${Buffer.from('text/plain').toString('base64')}`,
    );
    expect(encodeUploadMetadata({})).toBe('');
  });

  it('tells concatenation-unfinished apart from concatenation', () => {
    expect(supportsConcatenation('creation,concatenation,concatenation-unfinished', 'concatenation-unfinished')).toBe(true);
    expect(supportsConcatenation('creation,concatenation', 'concatenation-unfinished')).toBe(false);
  });
});
