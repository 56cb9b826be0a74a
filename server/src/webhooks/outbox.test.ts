import { describe, expect, it } from 'vitest';
import { UPLOAD_STATUSES, WEBHOOK_EVENT_TYPES } from '@haul/api';
import { retryDelayMs } from './delivery.js';
import { eventTypeOf } from './outbox.js';

const file = { concatRole: null, deletedAt: null };

describe('eventTypeOf', () => {
  it('maps the statuses a file reaches to the event types of the contract', () => {
    const mapped = Object.fromEntries(UPLOAD_STATUSES.map((status) => [status, eventTypeOf(status, file) ?? null]));
    expect(mapped).toEqual({
      uploading: null, part_received: null, assembling: null, processing: null, concatenated: null,
      received: 'upload.received', ready: 'upload.ready', rejected: 'upload.rejected', infected: 'upload.infected',
      failed: 'upload.failed', expired: 'upload.expired', terminated: 'upload.deleted',
    });
    for (const type of Object.values(mapped)) if (type) expect(WEBHOOK_EVENT_TYPES).toContain(type);
  });

  it('partial uploads are never events; a termination after a files-API delete was reported by the delete', () => {
    for (const status of UPLOAD_STATUSES) expect(eventTypeOf(status, { concatRole: 'partial', deletedAt: null })).toBeUndefined();
    expect(eventTypeOf('terminated', { concatRole: null, deletedAt: new Date() })).toBeUndefined();
    expect(eventTypeOf('received', { concatRole: 'final', deletedAt: null })).toBe('upload.received');
  });
});

describe('retryDelayMs', () => {
  it('doubles from about a second, with ±25 % jitter, capped', () => {
    expect(retryDelayMs(1, 600_000, () => 0.5)).toBe(1000);
    expect(retryDelayMs(4, 600_000, () => 0.5)).toBe(8000);
    expect(retryDelayMs(4, 600_000, () => 0)).toBe(6000);
    expect(retryDelayMs(4, 600_000, () => 1)).toBe(10_000);
    expect(retryDelayMs(40, 600_000, () => 1)).toBe(600_000);
    expect(retryDelayMs(1_000_000, 5000, () => 0.5)).toBe(5000);
  });
});
