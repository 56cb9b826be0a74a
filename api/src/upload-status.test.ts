import { describe, expect, it } from 'vitest';
import {
  canTransition, INITIAL_STATUSES, PROCESSING_OUTCOMES, statusesLeadingTo, TERMINAL_STATUSES, UPLOAD_STATUSES, UPLOAD_TRANSITIONS,
} from './upload-status.js';

describe('upload status machine', () => {
  it('every status is reachable from an initial status', () => {
    const reached = new Set<string>(INITIAL_STATUSES);
    for (let changed = true; changed; ) {
      changed = false;
      for (const from of reached) {
        for (const to of UPLOAD_TRANSITIONS[from as keyof typeof UPLOAD_TRANSITIONS]) {
          if (!reached.has(to)) changed = reached.add(to).size > 0;
        }
      }
    }
    expect([...reached].sort()).toEqual([...UPLOAD_STATUSES].sort());
  });

  it('terminal statuses change only when the owner terminates the upload, retention expires it, or an operator requeues a failed one', () => {
    for (const status of TERMINAL_STATUSES) {
      const allowed = status === 'failed' ? ['terminated', 'expired', 'processing'] : ['terminated', 'expired'];
      expect(UPLOAD_TRANSITIONS[status].filter((to) => !allowed.includes(to))).toEqual([]);
    }
    expect(canTransition('failed', 'processing')).toBe(true);
    for (const outcome of PROCESSING_OUTCOMES) expect(canTransition(outcome, 'expired'), outcome).toBe(true);
  });

  it('every upload a client can address can be terminated (tus DELETE), a final upload waiting for its partials too', () => {
    // `assembling` → terminated is allowed by the table, but the repository only takes it while the
    // final upload still waits for unfinished partials (terminateWaitingFinal), never mid-assembly.
    for (const status of ['uploading', 'part_received', 'assembling', 'received', 'processing', ...PROCESSING_OUTCOMES] as const) {
      expect(canTransition(status, 'terminated'), status).toBe(true);
    }
    expect(canTransition('expired', 'terminated')).toBe(false);
  });

  it('processing ends in one of its outcomes (unless terminated), and only processing sets them…', () => {
    expect([...UPLOAD_TRANSITIONS.processing].sort()).toEqual([...PROCESSING_OUTCOMES, 'terminated'].sort());
    // …but a file its first bytes show to be forbidden is rejected while still uploading (tus/content-check.ts).
    for (const outcome of PROCESSING_OUTCOMES) expect(statusesLeadingTo(outcome)).toEqual(outcome === 'rejected' ? ['uploading', 'processing'] : ['processing']);
  });

  it('no status changes to itself', () => {
    for (const status of UPLOAD_STATUSES) expect(canTransition(status, status)).toBe(false);
  });

  it('finished uploads cannot go back to uploading', () => {
    expect(statusesLeadingTo('uploading')).toEqual([]);
    expect(canTransition('received', 'uploading')).toBe(false);
    expect(canTransition('uploading', 'received')).toBe(true);
  });
});
