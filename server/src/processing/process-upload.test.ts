import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { Inspection } from './inspect-file.js';
import { ENCRYPTED_REASON } from '../uploads/encryption.js';
import { decide, decideEncrypted, NOT_SCANNED } from './process-upload.js';

const policy = loadConfig({ ALLOWED_TYPES: 'image,text', MAX_IMAGE_SIZE: '1MiB' }).processing;
const photo = { filename: 'cat.png', filetype: 'image/png' };
const inspected = (overrides: Partial<Inspection> = {}): Inspection => ({
  size: 1000, sha256: 'f00d', detectedType: 'image/png', scan: { kind: 'clean' }, thumbnails: { kind: 'done', thumbnails: [], width: 1, height: 1, placeholder: 'AAAA' }, pdf: undefined, timings: { hash: 0, type: 0 }, ...overrides,
});

describe('decide (the processing verdict)', () => {
  it('a clean, allowed file with previews is ready, with its type, hash and scan recorded', () => {
    expect(decide(photo, inspected(), policy, true)).toEqual({ status: 'ready', reason: null, detectedType: 'image/png', sha256: 'f00d', scanned: true, activeContent: null });
  });

  it('infected wins over everything, names the signature and keeps no hash', () => {
    const verdict = decide({ filename: 'x.exe', filetype: null }, inspected({ detectedType: 'application/x-elf', scan: { kind: 'infected', signature: 'Eicar-Test-Signature' } }), policy, true);
    expect(verdict).toEqual({ status: 'infected', reason: 'Eicar-Test-Signature', detectedType: 'application/x-elf', sha256: null, scanned: true, activeContent: null });
  });

  it('a PDF with active content is ready, flagged, and says it is served only as an attachment', () => {
    const pdfPolicy = loadConfig({ ALLOWED_TYPES: 'pdf' }).processing;
    const doc = { filename: 'form.pdf', filetype: 'application/pdf' };
    const active = { active: true, names: ['JS', 'JavaScript', 'OpenAction'], encrypted: false, incomplete: null };
    expect(decide(doc, inspected({ detectedType: 'application/pdf', thumbnails: undefined, pdf: active }), pdfPolicy, true)).toMatchObject({
      status: 'ready', activeContent: true, reason: 'active PDF, served only as an attachment (it contains JS, JavaScript, OpenAction)',
    });
    const inert = { active: false, names: [], encrypted: false, incomplete: null };
    expect(decide(doc, inspected({ detectedType: 'application/pdf', thumbnails: undefined, pdf: inert }), pdfPolicy, true)).toMatchObject({
      status: 'ready', activeContent: false, reason: null,
    });
  });

  it('a file the scanner could not read to the end, or not within its time limit, is never called clean', () => {
    expect(decide(photo, inspected({ scan: { kind: 'too-large', signature: 'Heuristics.Limits.Exceeded' } }), policy, true)).toMatchObject({
      status: 'rejected', reason: 'too large for the virus scanner to check completely (Heuristics.Limits.Exceeded)',
    });
    expect(decide(photo, inspected({ scan: { kind: 'too-large', signature: 'Heuristics.Limits.Exceeded.MaxScanTime' } }), policy, true)).toMatchObject({
      status: 'rejected', reason: 'too costly for the virus scanner to check within its time limit (Heuristics.Limits.Exceeded.MaxScanTime)',
    });
  });

  it('the file policy rejects with its reason', () => {
    expect(decide({ filename: 'cat.pdf', filetype: null }, inspected(), policy, true)).toMatchObject({ status: 'rejected', reason: 'named .pdf but the content is image/png' });
    expect(decide(photo, inspected({ size: 2 * 2 ** 20 }), policy, true)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('at most 1048576') });
  });

  it('a broken or hostile image is rejected; one that cannot be previewed here is ready, saying why', () => {
    expect(decide(photo, inspected({ thumbnails: { kind: 'invalid', reason: 'corrupt or truncated image' } }), policy, true)).toMatchObject({
      status: 'rejected', reason: 'corrupt or truncated image',
    });
    expect(decide(photo, inspected({ thumbnails: { kind: 'unsupported', reason: 'no preview: HEIC' } }), policy, true)).toMatchObject({
      status: 'ready', reason: 'no preview: HEIC',
    });
  });

  it('an unscanned file (SCAN_MODE=off) is ready but says so, with any other note', () => {
    expect(decide(photo, inspected({ scan: undefined }), policy, false)).toMatchObject({ status: 'ready', reason: NOT_SCANNED, scanned: false });
    expect(decide(photo, inspected({ scan: undefined, thumbnails: { kind: 'unsupported', reason: 'no preview: HEIC' } }), policy, false)).toMatchObject({
      status: 'ready', reason: `${NOT_SCANNED}; no preview: HEIC`,
    });
  });
});

describe('decideEncrypted (end-to-end encrypted uploads)', () => {
  it('ready unscanned with the reason; rejected when too large or when ENCRYPTED_UPLOADS became refuse', () => {
    expect(decideEncrypted(1000, policy)).toEqual({ status: 'ready', reason: ENCRYPTED_REASON, detectedType: null, sha256: null, scanned: false });
    const small = loadConfig({ MAX_FILE_SIZE_DEFAULT: '1KiB' }).processing;
    expect(decideEncrypted(2048, small)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('limit 1024') });
    const refusing = loadConfig({ ENCRYPTED_UPLOADS: 'refuse' }).processing;
    expect(decideEncrypted(10, refusing)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('ENCRYPTED_UPLOADS=refuse') });
    expect(() => loadConfig({ ENCRYPTED_UPLOADS: 'maybe' })).toThrow(/ENCRYPTED_UPLOADS/);
  });
});
