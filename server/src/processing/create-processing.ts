import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { ProcessingMetrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/storage.js';
import type { StoredContents } from '../uploads/stored-contents.js';
import type { UploadRepository } from '../uploads/upload-repository.js';
import { createJobQueue } from './job-queue.js';
import { createUploadProcessor } from './process-upload.js';
import { createProcessingRepository } from './processing-repository.js';
import { guardStorageStalls, storageStallMs } from './storage-stalls.js';
import type { StatusEvents } from './status-events.js';
import { createVirusScanner, type VirusScanner } from './virus-scanner.js';
import { createWorker } from './worker.js';

/**
 * SCAN_MODE decides whether files are scanned. `required` fails closed: with clamd down files
 * wait in `processing`. `off` must be asked for. `auto` (the development default) scans when
 * clamd answers at start-up (CLAMD_HOST/CLAMD_SOCKET, else 127.0.0.1:3310), and otherwise says
 * loudly — in the log and on every upload — that files are not scanned.
 */
export async function chooseScanner(config: Config, logger: Logger): Promise<VirusScanner | undefined> {
  const { scanMode, clamd } = config.processing;
  if (scanMode === 'off') {
    logger.warn('SCAN_MODE=off: uploads are NOT scanned for malware');
    return undefined;
  }
  const scanner = createVirusScanner({ ...clamd, host: clamd.host ?? (clamd.socket ? undefined : '127.0.0.1') });
  if (scanMode === 'required') return scanner;
  try {
    await scanner.ping();
    logger.info('clamd answers: uploads are scanned for malware');
    return scanner;
  } catch (err) {
    logger.warn('NO MALWARE SCANNING: clamd is not reachable and SCAN_MODE is not set; uploads become ready unscanned. Set CLAMD_HOST or SCAN_MODE=required for production.', { err });
    return undefined;
  }
}

/** The processing pipeline's parts, for the server (embedded worker) and `npm run worker`. */
export async function createProcessing({ config, db, storage, uploads, contents, events, logger, metrics }: {
  config: Config;
  db: Database;
  storage: Storage;
  uploads: UploadRepository;
  contents: Pick<StoredContents, 'adopt' | 'runRemovals'>;
  events: StatusEvents;
  logger: Logger;
  metrics: ProcessingMetrics;
}) {
  const jobs = createJobQueue(db);
  const processing = createProcessingRepository(db, uploads);
  const policy = config.processing;
  return {
    jobs,
    processing,
    async createWorker() {
      const scanner = await chooseScanner(config, logger);
      // Storage that hangs is an outage too, not a file that never finishes (storage-stalls.ts).
      const guarded = guardStorageStalls(storage, storageStallMs(policy.clamd.timeoutMs));
      const processUpload = createUploadProcessor({ db, storage: guarded, uploads, contents, processing, jobs, scanner, policy, events, logger, metrics });
      return createWorker({
        db, jobs, processing, processUpload, events, logger, metrics,
        concurrency: policy.concurrency, expressMaxSize: policy.expressMaxSize, leaseMs: policy.leaseMs, maxAttempts: policy.maxAttempts,
      });
    },
  };
}
