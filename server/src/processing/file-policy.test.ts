import { describe, expect, it } from 'vitest';
import { acceptedTypes, categoryOf, judgeFile } from './file-policy.js';

const policy = { allowedTypes: ['image', 'pdf', 'text'], maxImageSize: 1000, maxFileSize: 5000 };
const judge = (file: { detected: string | undefined; declared?: string | null; filename?: string | null; size?: number }, given = policy) =>
  judgeFile({ declared: null, filename: null, size: 10, ...file }, given);

describe('judgeFile', () => {
  it('accepts an allowed type whose name and declared type agree with the content', () => {
    expect(judge({ detected: 'image/png', declared: 'image/png', filename: 'cat.png' })).toEqual({ ok: true });
    expect(judge({ detected: 'application/pdf', declared: 'application/pdf', filename: 'Report.PDF' })).toEqual({ ok: true });
  });

  it('refuses content it cannot recognise', () => {
    expect(judge({ detected: undefined })).toEqual({ ok: false, reason: 'the file type could not be recognised from its content' });
  });

  it('refuses executables and active content even when the allowlist names them', () => {
    for (const detected of ['application/x-elf', 'text/html', 'image/svg+xml', 'text/x-shellscript']) {
      expect(judge({ detected }, { ...policy, allowedTypes: [...policy.allowedTypes, detected] })).toEqual({
        ok: false, reason: `executable or active content (${detected}) is not accepted`,
      });
    }
  });

  it('accepts categories and exact MIME types from ALLOWED_TYPES, nothing else', () => {
    expect(judge({ detected: 'application/zip' })).toEqual({ ok: false, reason: 'files of type application/zip are not accepted' });
    expect(judge({ detected: 'application/zip' }, { ...policy, allowedTypes: ['application/zip'] })).toEqual({ ok: true });
    expect(judge({ detected: 'image/png' }, { ...policy, allowedTypes: ['application/pdf'] }).ok).toBe(false);
  });

  it('refuses a declared type that disagrees with the content, but takes aliases, parameters and octet-stream', () => {
    expect(judge({ detected: 'image/jpeg', declared: 'image/png' })).toEqual({ ok: false, reason: 'declared as image/png but the content is image/jpeg' });
    for (const declared of ['image/jpg', 'IMAGE/JPEG; foo=bar', 'application/octet-stream', '']) {
      expect(judge({ detected: 'image/jpeg', declared }), declared).toEqual({ ok: true });
    }
  });

  it('refuses an extension that disagrees with the content; no extension is fine', () => {
    expect(judge({ detected: 'image/jpeg', filename: 'invoice.pdf' })).toEqual({ ok: false, reason: 'named .pdf but the content is image/jpeg' });
    expect(judge({ detected: 'text/plain', filename: 'notes.exe' })).toMatchObject({ ok: false });
    expect(judge({ detected: 'text/plain', filename: 'README' })).toEqual({ ok: true });
    expect(judge({ detected: 'image/jpeg', filename: 'photo.JPEG' })).toEqual({ ok: true });
  });

  it('limits sizes per category: images to MAX_IMAGE_SIZE, the rest to MAX_FILE_SIZE', () => {
    expect(judge({ detected: 'image/png', size: 1000 })).toEqual({ ok: true });
    expect(judge({ detected: 'image/png', size: 1001 })).toEqual({ ok: false, reason: 'image files may be at most 1000 bytes; this one has 1001' });
    expect(judge({ detected: 'application/pdf', size: 5000 })).toEqual({ ok: true });
    expect(judge({ detected: 'application/pdf', size: 5001 })).toMatchObject({ ok: false, reason: expect.stringContaining('pdf files may be at most 5000') });
  });
});

describe('ALLOWED_TYPES=*', () => {
  const any = { ...policy, allowedTypes: ['*'] };
  it('takes anything, recognisable or not, within the size limits', () => {
    expect(judge({ detected: undefined, filename: 'set.parquet', declared: 'application/x-parquet' }, any)).toEqual({ ok: true });
    expect(judge({ detected: 'application/zip', filename: 'backup.bin' }, any)).toEqual({ ok: true });
    expect(judge({ detected: undefined, size: 5001 }, any)).toMatchObject({ ok: false, reason: expect.stringContaining('at most 5000') });
  });
  it('still refuses executables, and a name or declared type it knows that disagrees with the content', () => {
    expect(judge({ detected: 'application/x-elf' }, any)).toMatchObject({ ok: false, reason: expect.stringContaining('executable') });
    expect(judge({ detected: 'application/pdf', filename: 'cat.png' }, any)).toEqual({ ok: false, reason: 'named .png but the content is application/pdf' });
    expect(judge({ detected: 'application/pdf', declared: 'image/png' }, any)).toMatchObject({ ok: false });
  });
  it('lists no types to clients (none to check against)', () => {
    expect(acceptedTypes(['*'])).toEqual({ mimeTypes: [], extensions: [] });
  });
});

describe('acceptedTypes', () => {
  it('spells the allowlist the way browsers describe files: MIME types with aliases, and extensions', () => {
    const { mimeTypes, extensions } = acceptedTypes(['image', 'application/zip']);
    expect(mimeTypes).toEqual(expect.arrayContaining(['image/png', 'image/jpeg', 'image/jpg', 'application/zip', 'application/x-zip-compressed']));
    expect(extensions).toEqual(expect.arrayContaining(['.png', '.jpg', '.jpeg', '.zip']));
    expect(mimeTypes).not.toContain('application/pdf');
    expect(mimeTypes).toEqual([...mimeTypes].sort());
  });

  it('never lists active content, even when named in ALLOWED_TYPES', () => {
    expect(acceptedTypes(['text/html', 'image/svg+xml'])).toEqual({ mimeTypes: [], extensions: [] });
  });

  it('puts a MIME type in at most one category', () => {
    expect(categoryOf('image/heic')).toBe('image');
    expect(categoryOf('text/csv')).toBe('text');
    expect(categoryOf('application/x-elf')).toBeUndefined();
  });
});
