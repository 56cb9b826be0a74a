import { describe, expect, it } from 'vitest';
import type { UploadProgress } from './progress.js';
import { UploadProgressReporter } from './upload-progress.js';

describe('UploadProgressReporter', () => {
  it('sums the acknowledged offsets of every part; a part gone (HEAD 404) no longer counts', () => {
    const reporter = new UploadProgressReporter(undefined);
    reporter.setTotal(300);
    reporter.offset('http://h/files/p1', 100, false);
    reporter.offset('http://h/files/p2', 50, false);
    expect(reporter.snapshot).toMatchObject({ bytesAcknowledged: 150, bytesTotal: 300 });
    reporter.offset('http://h/files/p2', null, true);
    expect(reporter.snapshot.bytesAcknowledged).toBe(100);
    expect(reporter.resumedFrom).toBeNull();
  });

  it('resumedFrom: what the earlier run had, from the first HEAD of each stored URL', () => {
    const reporter = new UploadProgressReporter(undefined);
    reporter.continues(['http://h/files/p1', 'http://h/files/p2']);
    expect(reporter.resumedFrom).toBeNull();
    reporter.offset('http://h/files/p1', 40, true);
    reporter.offset('http://h/files/p1', 90, false);
    reporter.offset('http://h/files/p2', 10, true);
    reporter.offset('http://h/files/p3', 70, true); // created in this run
    expect(reporter.resumedFrom).toBe(50);
  });

  it('calls back at most every 100 ms, and always with the last numbers', async () => {
    const seen: UploadProgress[] = [];
    const reporter = new UploadProgressReporter((p) => seen.push(p));
    reporter.setTotal(1000);
    for (let i = 1; i <= 10; i++) reporter.sent(i * 10, 1000);
    expect(seen.map((p) => p.bytesSent)).toEqual([10]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen.map((p) => p.bytesSent)).toEqual([10, 100]);
    reporter.complete(1000);
    expect(seen.at(-1)).toMatchObject({ bytesSent: 1000, bytesAcknowledged: 1000 });
    reporter.dispose();
  });
});
