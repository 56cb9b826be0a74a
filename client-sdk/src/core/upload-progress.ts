import { ProgressTracker, type UploadProgress } from './progress.js';

/** Progress callbacks at most this often (a trailing call always reports the last numbers). */
const PROGRESS_INTERVAL_MS = 100;

/**
 * One upload's progress: bytes sent (tus-js-client's `onProgress`), bytes the server
 * acknowledged per upload URL (`Upload-Offset` of PATCH and HEAD answers; a parallel upload has
 * one per part), what an earlier run had already stored (`resumedFrom`), and the throttled
 * `onProgress` callback.
 */
export class UploadProgressReporter {
  private readonly tracker = new ProgressTracker();
  private readonly acknowledged = new Map<string, number>();
  /** Offsets of the earlier run's upload URLs, from their first HEAD. */
  private readonly resumed = new Map<string, number>();
  private previousUrls: readonly string[] = [];
  private continuing = false;
  private lastEmit = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly callback: ((progress: UploadProgress) => void) | undefined) {}

  get snapshot(): UploadProgress {
    return this.tracker.snapshot();
  }

  /** Bytes the server already had when this upload continued an earlier one; null if it did not (yet). */
  get resumedFrom(): number | null {
    if (!this.continuing || this.resumed.size === 0) return null;
    let sum = 0;
    for (const offset of this.resumed.values()) sum += offset;
    return sum;
  }

  setTotal(total: number | null): void {
    this.tracker.setTotal(total);
  }

  /** This upload continues the one stored at `urls` (their first HEAD tells how far it got). */
  continues(urls: readonly string[]): void {
    this.continuing = true;
    this.previousUrls = urls;
  }

  /** An earlier run's final upload turned out complete: everything was there already. */
  continuedComplete(url: string, size: number): void {
    this.continuing = true;
    this.resumed.set(url, size);
    this.tracker.acknowledgedBytes(size);
  }

  sent(bytes: number, total: number | null): void {
    this.tracker.sentBytes(bytes, total);
    this.emit();
  }

  /** The server's `Upload-Offset` for `url` (null: the upload is gone, e.g. HEAD 404 before starting over). */
  offset(url: string, offset: number | null, fromHead: boolean): void {
    if (offset === null) this.acknowledged.delete(url);
    else {
      if (fromHead && !this.resumed.has(url) && this.previousUrls.includes(url)) this.resumed.set(url, offset);
      this.acknowledged.set(url, offset);
    }
    let sum = 0;
    for (const value of this.acknowledged.values()) sum += value;
    this.tracker.acknowledgedBytes(sum);
    this.emit();
  }

  /** Every byte is stored. */
  complete(total: number | null): void {
    if (total !== null) {
      this.tracker.sentBytes(total, total);
      this.tracker.acknowledgedBytes(total);
    }
    this.emit(true);
  }

  /** Paused, offline, retrying: the next samples measure the speed afresh. */
  resetSpeed(): void {
    this.tracker.resetSpeed();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private emit(force = false): void {
    const callback = this.callback;
    if (!callback) return;
    const now = Date.now();
    if (force || now - this.lastEmit >= PROGRESS_INTERVAL_MS) {
      this.dispose();
      this.lastEmit = now;
      callback(this.tracker.snapshot());
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.emit(true);
      }, PROGRESS_INTERVAL_MS - (now - this.lastEmit));
    }
  }
}
