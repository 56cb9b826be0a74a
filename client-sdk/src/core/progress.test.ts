import { describe, expect, it } from 'vitest';
import { ProgressTracker } from './progress.js';

describe('ProgressTracker', () => {
  it('computes speed over the last seconds and the ETA', () => {
    let now = 0;
    const tracker = new ProgressTracker(() => now);
    tracker.sentBytes(0, 10_000_000);
    for (let t = 1; t <= 10; t++) {
      now = t * 1000;
      tracker.sentBytes(t * 500_000, 10_000_000);
    }
    const p = tracker.snapshot();
    expect(p.speed).toBe(500_000);
    expect(p.etaSeconds).toBe(10);
    expect(p.bytesSent).toBe(5_000_000);
    expect(p.bytesTotal).toBe(10_000_000);
  });

  it('a retry (bytes going back) starts the measurement over; acknowledged bytes never exceed the total', () => {
    let now = 0;
    const tracker = new ProgressTracker(() => now);
    tracker.sentBytes(4_000, 10_000);
    now = 1000;
    tracker.sentBytes(2_000, 10_000);
    expect(tracker.snapshot().speed).toBe(0);
    expect(tracker.snapshot().etaSeconds).toBeNull();
    tracker.acknowledgedBytes(20_000);
    expect(tracker.snapshot()).toMatchObject({ bytesAcknowledged: 10_000, bytesSent: 10_000, etaSeconds: 0 });
  });

  it('speed decays to 0 when nothing moves for the window', () => {
    let now = 0;
    const tracker = new ProgressTracker(() => now);
    tracker.sentBytes(0, 100);
    now = 1000;
    tracker.sentBytes(50, 100);
    expect(tracker.snapshot().speed).toBe(50);
    now = 10_000;
    expect(tracker.snapshot().speed).toBe(0);
  });
});
