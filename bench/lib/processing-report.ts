/**
 * What a processing child (lib/haul-inspect.ts, baselines/naive-processing.ts) prints: one JSON
 * line, read by processing.ts. The child exits right after, so its peak RSS is the pass's own.
 */

export interface ProcessingResult {
  /** Wall time of the pass (clamd already connected). */
  ms: number;
  stages: Record<string, number | undefined>;
  rssBeforeMiB: number;
  size: number;
  sha256: string;
  detectedType: string | undefined;
  scan: string | undefined;
  thumbnails: Array<{ size: number; width: number; height: number; bytes: number }> | string | undefined;
}

export interface ProcessingReport extends ProcessingResult {
  peakRssMiB: number;
  cpuS: number;
}

/** Adds peak RSS and CPU time of this process to `result`, prints it as JSON, exits 0. */
export function report(result: ProcessingResult): never {
  const usage = process.resourceUsage();
  const line: ProcessingReport = {
    ...result,
    peakRssMiB: usage.maxRSS / 1024, // maxRSS is in KiB
    cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  // Don't wait for clamscan's sockets or sharp's threads to wind down.
  process.exit(0);
}
