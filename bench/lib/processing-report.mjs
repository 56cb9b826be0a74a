// The one JSON line a processing child prints (bench/processing.mjs reads it), and exits.

/** Adds peak RSS and CPU time of this process to `fields`, prints them as JSON, exits 0. */
export function report(fields) {
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({
      ...fields,
      peakRssMiB: usage.maxRSS / 1024, // maxRSS is in KiB
      cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    })}\n`,
  );
  // Don't wait for clamscan's sockets or sharp's threads to wind down.
  process.exit(0);
}
