import { describe, expect, it } from 'vitest';
import { HaulError } from '../../errors.js';
import { lengthOf } from './ietf-length.js';
import { dispositionFilename } from './representation-metadata.js';
import { parseInteropVersion, sfBoolean, sfNonNegativeInteger, uploadLimit } from './interop.js';

const inconsistent = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof HaulError && error.code === 'INCONSISTENT_UPLOAD_LENGTH';
  }
  return false;
};

describe('IETF resumable uploads: length indicators', () => {
  it('takes the length from Upload-Length, or from Upload-Complete: ?1 plus Content-Length', () => {
    expect(lengthOf({ offset: 0, complete: false, contentLength: 10, uploadLength: 100 })).toBe(100);
    expect(lengthOf({ offset: 40, complete: true, contentLength: 60, uploadLength: undefined })).toBe(100);
    expect(lengthOf({ offset: 0, complete: false, contentLength: 10, uploadLength: undefined })).toBeUndefined();
    expect(lengthOf({ offset: 5, complete: false, contentLength: undefined, uploadLength: undefined, known: 9 })).toBe(9);
  });

  it('answers inconsistent-upload-length when indicators disagree, with each other or with earlier requests', () => {
    expect(inconsistent(() => lengthOf({ offset: 0, complete: true, contentLength: 10, uploadLength: 11 }))).toBe(true);
    expect(inconsistent(() => lengthOf({ offset: 0, complete: false, contentLength: 10, uploadLength: 11, known: 12 }))).toBe(true);
    expect(inconsistent(() => lengthOf({ offset: 20, complete: false, contentLength: undefined, uploadLength: 10 }))).toBe(true);
    expect(inconsistent(() => lengthOf({ offset: 0, complete: true, contentLength: 10, uploadLength: 10, known: 10 }))).toBe(false);
  });
});

describe('IETF resumable uploads: header syntax', () => {
  it('reads Structured Field integers and booleans, ignoring other values as the draft requires', () => {
    expect(sfNonNegativeInteger('42')).toBe(42);
    expect(sfNonNegativeInteger('-1')).toBeUndefined();
    expect(sfNonNegativeInteger('4x')).toBeUndefined();
    expect(sfNonNegativeInteger('1234567890123456')).toBeUndefined();
    expect(sfBoolean('?1')).toBe(true);
    expect(sfBoolean('?0')).toBe(false);
    expect(sfBoolean('true')).toBeUndefined();
  });

  it('speaks interop versions 6 and 8 only', () => {
    expect(parseInteropVersion('6')).toBe(6);
    expect(parseInteropVersion('8')).toBe(8);
    for (const other of ['5', '7', '9', 'x']) expect(() => parseInteropVersion(other)).toThrow(/not supported/);
  });

  it('names the lifetime limit as each interop version does', () => {
    expect(uploadLimit(8, { maxSize: 100, lifetimeSeconds: 60.5 })).toBe('max-size=100, min-size=0, max-age=60');
    expect(uploadLimit(6, { maxSize: 100, lifetimeSeconds: 60 })).toBe('max-size=100, min-size=0, expires=60');
    expect(uploadLimit(8, { maxSize: 100 })).toBe('max-size=100, min-size=0');
  });

  it('reads the filename of a Content-Disposition, filename* first', () => {
    expect(dispositionFilename(`inline; filename="file name.jpg"; filename*=UTF-8''f%C3%BCr%20dich.jpg`)).toBe('für dich.jpg');
    expect(dispositionFilename('inline; filename="a \\"b\\".txt"')).toBe('a "b".txt');
    expect(dispositionFilename('attachment; filename=plain.txt')).toBe('plain.txt');
    expect(dispositionFilename('inline')).toBeUndefined();
  });
});
