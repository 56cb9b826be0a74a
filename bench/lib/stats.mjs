// Small statistics and table formatting helpers.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(values) {
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export const fixed = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** A plain-text table with right-aligned columns after the first. */
export function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/**
 * a/b for two sets of samples measured in the same rounds: the ratio of the medians, and the
 * median, min and max of the per-round ratios (paired: same round, same machine noise).
 * `pairs` is [[a, b], …] per round; rounds missing either side are skipped.
 */
export function pairedRatio(pairs) {
  const complete = pairs.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b !== 0);
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
export const rotate = (list, shift) => {
  const k = ((shift % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
};

/** "200 MiB", "1 GiB". */
export const sizeLabel = (mib) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);
