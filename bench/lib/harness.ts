/**
 * The benchmark harness: targets measured alternately in rounds, then medians, min–max and
 * ratios of medians. Machines are noisy (other work, page cache, CPU boost), so every target is
 * measured in every round, in an order that rotates from round to round, and a ratio compares
 * two targets measured under the same noise: the ratio of their medians, with the range of the
 * per-round ratios beside it.
 */

/** Something measured or measured in: a server, a stream count, a file size… */
export interface Named {
  /** Stable key (JSON, logs). */
  id: string;
  /** For tables. */
  label: string;
}

export interface Stat {
  n: number;
  median: number;
  min: number;
  max: number;
}

export interface Ratio {
  /** median(a) / median(b). */
  ofMedians: number;
  /** Median, min and max of a/b per round (same round, same noise). */
  pairedMedian: number;
  pairedMin: number;
  pairedMax: number;
}

/** What one measurement found: named numbers (undefined where the platform cannot tell), and anything else for the JSON. */
export interface Measurement<M extends string> {
  values: Record<M, number | undefined>;
  detail?: Record<string, unknown>;
}

export interface Sample<M extends string> extends Measurement<M> {
  round: number;
  group: string;
  target: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, min and max of the finite values; undefined when there are none. */
export function summarize(values: ReadonlyArray<number | undefined>): Stat | undefined {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length === 0) return undefined;
  return { n: finite.length, median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

/** a/b for samples measured in the same rounds; rounds missing either side are skipped. */
export function pairedRatio(pairs: ReadonlyArray<readonly [number | undefined, number | undefined]>): Ratio | undefined {
  const complete = pairs.filter((pair): pair is [number, number] => Number.isFinite(pair[0]) && Number.isFinite(pair[1]) && pair[1] !== 0);
  if (complete.length === 0) return undefined;
  const per = complete.map(([a, b]) => a / b);
  return {
    ofMedians: median(complete.map(([a]) => a)) / median(complete.map(([, b]) => b)),
    pairedMedian: median(per),
    pairedMin: Math.min(...per),
    pairedMax: Math.max(...per),
  };
}

/** `list` rotated left by `shift` places: round-robin starting points. */
export function rotate<T>(list: readonly T[], shift: number): T[] {
  const k = ((shift % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** The samples of a run, and the statistics over them. */
export class Measurements<M extends string> {
  constructor(readonly samples: ReadonlyArray<Sample<M>>) {}

  of(group: Named, target: Named): Array<Sample<M>> {
    return this.samples.filter((s) => s.group === group.id && s.target === target.id);
  }

  stat(group: Named, target: Named, metric: M): Stat | undefined {
    return summarize(this.of(group, target).map((s) => s.values[metric]));
  }

  /** `metric` of target `a` over target `b` in `group`, paired by round. */
  ratio(group: Named, a: Named, b: Named, metric: M): Ratio | undefined {
    const rounds = [...new Set(this.samples.map((s) => s.round))];
    const value = (target: Named, round: number) =>
      this.samples.find((s) => s.group === group.id && s.target === target.id && s.round === round)?.values[metric];
    return pairedRatio(rounds.map((round) => [value(a, round), value(b, round)] as const));
  }

  /** Every metric's statistics for every group and target (for the JSON). */
  summary(groups: readonly Named[], targets: readonly Named[], metrics: readonly M[]) {
    return groups.flatMap((group) =>
      targets.map((target) => ({
        group: group.id,
        target: target.id,
        ...Object.fromEntries(metrics.map((metric) => [metric, this.stat(group, target, metric)])),
      })),
    );
  }
}

export interface AlternateOptions<G extends Named, T extends Named, M extends string> {
  rounds: number;
  groups: readonly G[];
  targets: readonly T[];
  measure(target: T, group: G, round: number): Promise<Measurement<M>>;
  /** One log line per measurement. */
  describe(sample: Sample<M>, target: T, group: G): string;
  /** Context for an error: e.g. the tail of a server's log. */
  onError?(target: T, group: G): string;
  log(line: string): void;
}

/**
 * Measures every target in every group, `rounds` times: round r starts with the r-th group and,
 * within each group, with the r-th target, so no target always runs first (cold) or last.
 */
export async function measureAlternately<G extends Named, T extends Named, M extends string>(
  options: AlternateOptions<G, T, M>,
): Promise<Measurements<M>> {
  const { rounds, groups, targets, measure, describe, onError, log } = options;
  const samples: Array<Sample<M>> = [];
  for (let round = 1; round <= rounds; round++) {
    for (const group of rotate(groups, round - 1)) {
      for (const target of rotate(targets, round - 1)) {
        globalThis.gc?.();
        const measured = await measure(target, group, round).catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`${target.id}, ${group.label}, round ${round}: ${message}${onError ? `\n${onError(target, group)}` : ''}`, { cause: error });
        });
        const sample = { round, group: group.id, target: target.id, ...measured };
        samples.push(sample);
        log(`  round ${round}/${rounds}  ${describe(sample, target, group)}`);
      }
    }
  }
  return new Measurements(samples);
}

/** A benchmark as `npm run bench -- <name>` runs it. */
export interface Benchmark {
  name: string;
  description: string;
  run(log: (line: string) => void): Promise<void>;
}
