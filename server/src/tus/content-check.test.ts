import { describe, expect, it } from 'vitest';
import { SNIFF_BYTES } from '../processing/detect-type.js';
import { createContentCheckStage, judgeHead } from './content-check.js';

const policy = { allowedTypes: ['image', 'pdf', 'text'], maxImageSize: 1000, maxFileSize: 5000 };
const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(8), Buffer.from([2, 0, 0x3e, 0, 1, 0, 0, 0]), Buffer.alloc(4000, 1)]);
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n');
const upload = (filename: string | null, filetype: string | null = null) => ({ filename, filetype, partial: false, encrypted: false });

describe('judgeHead', () => {
  it('refuses an executable from however few bytes', async () => {
    expect(await judgeHead(elf, upload('photo.png'), false, policy)).toMatchObject({ code: 'FILE_NOT_ACCEPTED', detectedType: 'application/x-elf' });
  });

  it('judges a spoofed or forbidden type once the whole file, or SNIFF_BYTES of it, is there', async () => {
    expect(await judgeHead(pdf, upload('cat.png'), true, policy)).toMatchObject({ reason: 'named .png but the content is application/pdf' });
    expect(await judgeHead(pdf, upload('doc.pdf', 'application/pdf'), true, policy)).toBeUndefined();
    const zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(SNIFF_BYTES, 0)]);
    expect(await judgeHead(zip, upload('a.zip'), false, policy)).toMatchObject({ reason: 'files of type application/zip are not accepted' });
  });

  it('leaves what a short head cannot settle, and names that claim no known type, to processing', async () => {
    expect(await judgeHead(Buffer.from('abcd'), upload('gone.bin'), true, policy)).toBeUndefined();
    expect(await judgeHead(Buffer.from('abcd'), upload('gone.png'), true, policy)).toMatchObject({ code: 'FILE_NOT_ACCEPTED' });
    expect(await judgeHead(pdf, upload('cat.png'), false, policy)).toBeUndefined();
    expect(await judgeHead(Buffer.from([1, 2, 3, 0, 5]), upload(null), false, policy)).toBeUndefined();
    // Unrecognisable content, however long: neither forbidden nor spoofed; processing decides.
    expect(await judgeHead(Buffer.alloc(SNIFF_BYTES, 0), upload('x.png', 'image/png'), true, policy)).toBeUndefined();
  });

  it('is not run on ciphertext (end-to-end encrypted uploads) or on a parallel upload\'s partials', () => {
    const stage = createContentCheckStage(policy);
    const context = (over: Partial<ReturnType<typeof upload>>) => ({
      uploadId: 'u', offset: 0, size: 10, upload: { ...upload('photo.png'), ...over },
      header: () => undefined, trailer: () => undefined, stop: () => {}, stopReason: () => undefined,
    });
    expect(stage(context({}))).toBeDefined();
    expect(stage(context({ encrypted: true }))).toBeUndefined();
    expect(stage(context({ partial: true }))).toBeUndefined();
  });
});
