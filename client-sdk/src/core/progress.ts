/**
 * Where an upload stands. `bytesSent` counts what left this machine in the current attempt
 * (it can fall back after a retry); `bytesAcknowledged` what the server confirmed it stored
 * (`Upload-Offset`), which is what a resume continues from.
 *
 * @example
 * ```ts
 * client.upload(file, {
 *   metadata: { filename: file.name },
 *   onProgress: (p: UploadProgress) => {
 *     bar.value = p.bytesAcknowledged / (p.bytesTotal ?? 1);
 *     label.textContent = `${(p.speed / 1e6).toFixed(1)} MB/s, ${p.etaSeconds ?? '?'} s left`;
 *   },
 * });
 * ```
 */
export interface UploadProgress {
  bytesSent: number;
  bytesAcknowledged: number;
  /** null while unknown (a stream of unknown length). */
  bytesTotal: number | null;
  /** Bytes per second over the last few seconds (0 while paused or stalled). */
  speed: number;
  /** Seconds left at the current speed; null while unknown. */
  etaSeconds: number | null;
}

const WINDOW_MS = 5_000;

/** Speed over a sliding window of (time, bytes) samples; a drop in bytes (a retry) starts over. */
export class ProgressTracker {
  private samples: Array<{ at: number; bytes: number }> = [];
  private sent = 0;
  private acknowledged = 0;
  private total: number | null = null;

  constructor(private readonly now: () => number = () => Date.now()) {}

  sentBytes(bytes: number, total: number | null): void {
    const at = this.now();
    if (bytes < this.sent) this.samples = [];
    this.sent = bytes;
    if (total !== null) this.total = total;
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
  }

  acknowledgedBytes(bytes: number): void {
    this.acknowledged = this.total === null ? bytes : Math.min(bytes, this.total);
    if (this.acknowledged > this.sent) this.sent = this.acknowledged;
  }

  setTotal(total: number | null): void {
    this.total = total;
  }

  /** Forget the speed (paused, offline, retrying): the next samples measure afresh. */
  resetSpeed(): void {
    this.samples = [];
  }

  snapshot(): UploadProgress {
    const at = this.now();
    const first = this.samples[0];
    const last = this.samples.at(-1);
    let speed = 0;
    if (first && last && last.at > first.at && at - last.at < WINDOW_MS) {
      speed = ((last.bytes - first.bytes) * 1000) / (Math.max(last.at, at) - first.at);
    }
    const remaining = this.total === null ? null : Math.max(0, this.total - Math.max(this.sent, this.acknowledged));
    const etaSeconds = remaining === null ? null : remaining === 0 ? 0 : speed > 0 ? Math.ceil(remaining / speed) : null;
    return { bytesSent: this.sent, bytesAcknowledged: this.acknowledged, bytesTotal: this.total, speed: Math.round(speed), etaSeconds };
  }
}
