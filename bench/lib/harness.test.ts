import { describe, expect, it } from 'vitest';
import { measureAlternately, median, pairedRatio, rotate, summarize } from './harness.js';

describe('statistics', () => {
  it('median of odd and even counts; NaN of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarize skips what was not measured', () => {
    expect(summarize([5, undefined, 1, NaN, 3])).toEqual({ n: 3, median: 3, min: 1, max: 5 });
    expect(summarize([undefined])).toBeUndefined();
  });

  it('pairedRatio: the ratio of medians, and the range of the per-round ratios, over complete rounds', () => {
    const ratio = pairedRatio([[10, 5], [30, 10], [8, undefined], [20, 20]]);
    expect(ratio).toEqual({ ofMedians: 20 / 10, pairedMedian: 2, pairedMin: 1, pairedMax: 3 });
    expect(pairedRatio([[1, 0], [undefined, 2]])).toBeUndefined();
  });

  it('rotate', () => {
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
  });
});

describe('measureAlternately', () => {
  const named = (id: string) => ({ id, label: id.toUpperCase() });

  it('measures every target in every group every round, each round starting elsewhere', async () => {
    const order: string[] = [];
    const groups = [named('g1'), named('g2')];
    const targets = [named('a'), named('b'), named('c')];
    const m = await measureAlternately({
      rounds: 3,
      groups,
      targets,
      log: () => {},
      describe: () => '',
      async measure(target, group, round) {
        order.push(`${round}:${group.id}:${target.id}`);
        return { values: { ms: round * (target.id === 'a' ? 2 : 1) } };
      },
    });
    expect(order.slice(0, 6)).toEqual(['1:g1:a', '1:g1:b', '1:g1:c', '1:g2:a', '1:g2:b', '1:g2:c']);
    expect(order.slice(6, 12)).toEqual(['2:g2:b', '2:g2:c', '2:g2:a', '2:g1:b', '2:g1:c', '2:g1:a']);
    expect(order.filter((o) => o.startsWith('3:')).map((o) => o.slice(2, 4))).toEqual(['g1', 'g1', 'g1', 'g2', 'g2', 'g2']);
    expect(m.samples).toHaveLength(18);
    expect(m.stat(groups[0]!, targets[0]!, 'ms')).toEqual({ n: 3, median: 4, min: 2, max: 6 });
    expect(m.ratio(groups[1]!, targets[0]!, targets[1]!, 'ms')).toMatchObject({ ofMedians: 2, pairedMin: 2, pairedMax: 2 });
  });

  it('names the target, group and round of a failed measurement', async () => {
    const failing = measureAlternately({
      rounds: 1,
      groups: [named('g')],
      targets: [named('t')],
      log: () => {},
      describe: () => '',
      onError: () => 'server log tail',
      measure: async () => {
        throw new Error('boom');
      },
    });
    await expect(failing).rejects.toThrow(/^t, G, round 1: boom\nserver log tail$/);
  });
});
