import { describe, expect, it } from 'vitest';
import { MAX_PART_SIZE, MIN_PART_SIZE, type PlannedPart, planParts } from './s3-part-plan.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const partSize = (part: PlannedPart) =>
  part.kind === 'copy' ? part.piece.end - part.piece.start : part.pieces.reduce((n, p) => n + p.end - p.start, 0);

/** Every byte of every partial exactly once, in order; S3's size rules hold. */
function expectValid(sizes: number[], parts: PlannedPart[]) {
  const pieces = parts.flatMap((p) => (p.kind === 'copy' ? [p.piece] : p.pieces));
  let expected = { partial: 0, start: 0 };
  for (const piece of pieces) {
    while (sizes[expected.partial] === expected.start && expected.partial < sizes.length) expected = { partial: expected.partial + 1, start: 0 };
    expect(piece.partial).toBe(expected.partial);
    expect(piece.start).toBe(expected.start);
    expect(piece.end).toBeGreaterThan(piece.start);
    expected = { partial: piece.partial, start: piece.end };
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  expect(pieces.reduce((n, p) => n + p.end - p.start, 0)).toBe(total);
  parts.forEach((part, i) => {
    if (i < parts.length - 1) expect(partSize(part)).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    expect(partSize(part)).toBeLessThanOrEqual(MAX_PART_SIZE);
    if (part.kind === 'stream') expect(part.size).toBe(partSize(part));
  });
  expect(parts.length).toBeLessThanOrEqual(10_000);
}

describe('planParts', () => {
  it('copies large partials server-side, one part each', () => {
    const sizes = [8 * MiB, 6 * MiB, 20 * MiB];
    const parts = planParts(sizes);
    expect(parts.map((p) => p.kind)).toEqual(['copy', 'copy', 'copy']);
    expectValid(sizes, parts);
  });

  it('coalesces runs of small partials into streamed parts of at least 5 MiB', () => {
    const sizes = Array.from({ length: 12 }, () => 2 * MiB);
    const parts = planParts(sizes);
    expect(parts.every((p) => p.kind === 'stream')).toBe(true);
    expect(parts.length).toBe(4); // 3 partials (6 MiB) per part
    expectValid(sizes, parts);
  });

  it('lets a short run borrow from the next large partial and copies the rest', () => {
    const sizes = [1 * MiB, 100 * MiB];
    const parts = planParts(sizes);
    expect(parts[0]).toMatchObject({ kind: 'stream', size: 5 * MiB });
    expect(parts[1]).toMatchObject({ kind: 'copy', piece: { partial: 1, start: 4 * MiB, end: 100 * MiB } });
    expectValid(sizes, parts);
  });

  it('streams a partial whole when borrowing would leave too little to copy', () => {
    const sizes = [1 * MiB, 7 * MiB, 3 * MiB];
    const parts = planParts(sizes);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatchObject({ kind: 'stream', size: 8 * MiB });
    expectValid(sizes, parts);
  });

  it('splits partials above 5 GiB into copy ranges', () => {
    const sizes = [12 * GiB + 3];
    const parts = planParts(sizes);
    expect(parts.map((p) => p.kind)).toEqual(['copy', 'copy', 'copy']);
    expectValid(sizes, parts);
  });

  it('handles empty partials, a single tiny partial and nothing at all', () => {
    for (const sizes of [[0, 3 * MiB, 0, 6 * MiB, 0], [10], [0, 0], []]) expectValid(sizes, planParts(sizes));
    expect(planParts([0, 0])).toEqual([]);
  });

  it('keeps every rule for many random mixes', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 300; run++) {
      const sizes = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
        const r = random();
        return r < 0.15 ? 0 : r < 0.6 ? Math.floor(random() * 6 * MiB) : Math.floor(random() * 30 * MiB);
      });
      expectValid(sizes, planParts(sizes));
    }
  });
});
