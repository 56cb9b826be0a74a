import { Gauge, type Registry } from 'prom-client';
import type { ProcessingConfig } from '../config.js';
import { clamdCommand, signatureDate } from '../processing/clamd-command.js';

const PROBE_TIMEOUT_MS = 2000;

/**
 * clamd as Prometheus sees it, asked at scrape time (VERSION on a connection of its own):
 * `haul_clamd_up` 1/0, and how old its signatures are — alert on that, since freshclam failing
 * silently leaves a scanner that answers but misses new malware. Registered only where files
 * are scanned (SCAN_MODE is not `off`).
 */
export function registerClamdGauges(registry: Registry, clamd: ProcessingConfig['clamd']): void {
  let asking: Promise<void> | undefined;
  const collect = async () => {
    asking ??= ask().finally(() => (asking = undefined));
    await asking;
  };
  const up = new Gauge({ name: 'haul_clamd_up', help: 'Whether clamd answered VERSION at the last scrape (1) or not (0)', registers: [registry], collect });
  const age = new Gauge({
    name: 'haul_clamd_signature_age_seconds',
    help: 'Age of the signature database clamd loaded (absent when clamd reports no official database)',
    registers: [registry], collect,
  });

  async function ask(): Promise<void> {
    try {
      const published = signatureDate(await clamdCommand(clamd, 'VERSION', PROBE_TIMEOUT_MS));
      up.set(1);
      if (published) age.set(Math.max(0, (Date.now() - published.getTime()) / 1000));
      else age.reset();
    } catch {
      up.set(0);
    }
  }
}
