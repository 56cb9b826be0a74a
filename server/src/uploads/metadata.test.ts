import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { metadataForStorage, parseUploadMetadata, validateUploadMetadata } from './metadata.js';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');
const parse = (header: string) => validateUploadMetadata(parseUploadMetadata(header));
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof HaulError ? error.code : 'not a HaulError';
  }
  return 'no error';
};

describe('Upload-Metadata', () => {
  it('decodes filename and filetype, including non-ASCII names', () => {
    expect(parse(`filename ${b64('résumé 2026.pdf')},filetype ${b64('application/pdf')}`)).toEqual({
      filename: 'résumé 2026.pdf',
      filetype: 'application/pdf',
    });
  });

  it('accepts Uppy\'s name/type aliases and keys without values', () => {
    expect(parse(`name ${b64('a.png')},type ${b64('image/png')},relativePath,flag`)).toEqual({ filename: 'a.png', filetype: 'image/png' });
  });

  it('keeps binary values losslessly for storage', () => {
    const binary = Buffer.from([0xff, 0x00, 0xfe]);
    const raw = parseUploadMetadata(`blob ${binary.toString('base64')},note ${b64('hi')},empty`);
    expect(metadataForStorage(raw)).toEqual({ blob: { base64: binary.toString('base64') }, note: 'hi', empty: null });
  });

  it.each([
    ['bad base64', `filename ab$c`],
    ['base64 without padding', `filename YWJj=`],
    ['duplicate keys', `a ${b64('1')},a ${b64('2')}`],
    ['empty key', ` ${b64('1')}`],
    ['three parts', `a ${b64('1')} x`],
    ['key with odd characters', `ké ${b64('1')}`],
    ['huge value', `a ${b64('x'.repeat(2000))}`],
    ['huge header', Array.from({ length: 20 }, (_, i) => `k${i} ${b64('x'.repeat(600))}`).join(',')],
    ['too many keys', Array.from({ length: 40 }, (_, i) => `k${i}`).join(',')],
    ['invalid UTF-8 filename', `filename ${Buffer.from([0xc3, 0x28]).toString('base64')}`],
    ['bad MIME type', `filetype ${b64('not a type')}`],
    ['disagreeing aliases', `filename ${b64('a.png')},name ${b64('b.png')}`],
  ])('rejects %s', (_, header) => {
    expect(codeOf(() => parse(header))).toBe('INVALID_METADATA');
  });

  it.each([
    ['a path', '../../etc/passwd'],
    ['a Windows path', 'C:\\Windows\\evil.exe'],
    ['a control character', 'a\nb.txt'],
    ['a NUL', 'a\u0000.txt'],
    ['a bidi override', 'invoice\u202Efdp.exe'],
    ['a zero-width space', 'a\u200b.txt'],
    ['an overlong name', `${'é'.repeat(200)}.txt`],
    ['only dots', '..'],
    ['only spaces', '   '],
  ])('rejects a filename with %s', (_, name) => {
    expect(codeOf(() => parse(`filename ${b64(name)}`))).toBe('INVALID_FILENAME');
  });

  it('normalises names to NFC and trims them', () => {
    expect(parse(`filename ${b64('  Cafe\u0301.txt ')}`).filename).toBe('Café.txt');
  });
});
